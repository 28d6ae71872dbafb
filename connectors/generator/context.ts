/** What the model's processes (sessions, orders, abuse) share: the clock, the dimensions, ids, and ways to emit. */
import type { AdEvent, SourceTable } from '../../schemas/events.js';
import type { SourceRows } from './actions.js';
import type { Agenda } from './agenda.js';
import type { Catalog } from './catalog.js';
import type { GeneratorOptions } from './options.js';
import type { ZonedClock } from './zoned-time.js';

/** Tables whose rows the run creates, with ids idBase + 1, idBase + 2, … */
export type GrowingTable = 'users' | 'orders' | 'order_items' | 'payments' | 'refunds';

export interface ModelContext {
  readonly options: GeneratorOptions;
  readonly clock: ZonedClock;
  readonly catalog: Catalog;
  readonly agenda: Agenda;
  nextId(table: GrowingTable): number;
  insert<T extends SourceTable>(at: number, table: T, row: SourceRows[T]): void;
  update<T extends SourceTable>(at: number, table: T, id: number, set: Partial<Omit<SourceRows[T], 'id'>>): void;
  remove(at: number, table: SourceTable, id: number): void;
  /** An event that happens at `event.ts` (≥ now); the model assigns its id and how it is delivered. */
  event(event: Omit<AdEvent, 'event_id'>): void;
  /** Failure probability of a payment attempt at `now`: the drifting normal rate, or a burst's. */
  failureRate(now: number): number;
}
