/** What each local-stack service (MariaDB, Kafka, Redis, ClickHouse) offers to `rtdw stack`. */
export type ServiceOwner =
  /** started by this stack, pid file under the data dir */
  | 'stack'
  /** something else already answered on the port and passed the checks */
  | 'reused'
  /** configured to a non-local endpoint: never started here */
  | 'external'
  | 'down';

export interface ServiceStatus {
  name: string;
  endpoint: string;
  owner: ServiceOwner;
  healthy: boolean;
  version?: string;
  detail?: string;
}

export interface StackService {
  readonly name: string;
  readonly endpoint: string;
  /** Idempotent: starts the service unless it already answers, then waits for real readiness. */
  up(): Promise<ServiceStatus>;
  /** Stops the service if this stack started it; returns what it did. */
  down(): Promise<string>;
  status(): Promise<ServiceStatus>;
  /** Removes the service's data (the service must be down). */
  reset(): Promise<void>;
}

/** The stack manages only endpoints on this machine; anything else is the user's service. */
export function isLocalHost(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
}
