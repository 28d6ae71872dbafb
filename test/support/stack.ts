/** Shared by integration tests: the validated config of the running stack and unique names per run. */
import { randomBytes } from 'node:crypto';
import { loadConfig, type RtdwConfig } from '../../schemas/config.js';

export const config: RtdwConfig = loadConfig();

/** A name no earlier run used, so tests never see each other's topics, tables or keys. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
