/** Counts of what a run generated or wrote: rows per table and operation, events per type and delivery, abuse. */
import { EVENT_TYPES, SOURCE_TABLES, type EventType, type SourceTable } from '../../schemas/events.js';
import type { AbuseEpisode, Action, Delivery } from './actions.js';

export interface RowCounts {
  insert: number;
  update: number;
  delete: number;
}

export interface TallyReport {
  rows: Record<SourceTable, RowCounts>;
  /** distinct events per type (first deliveries) */
  events: Record<EventType, number>;
  /** deliveries to the event log, duplicates counted separately */
  deliveries: Record<Delivery | 'duplicate', number>;
  abuse: AbuseEpisode[];
  /** model time of the first and last action, epoch ms (null for an empty run) */
  from: number | null;
  to: number | null;
}

export class ActionTally {
  private readonly report: TallyReport = {
    rows: Object.fromEntries(SOURCE_TABLES.map((t) => [t, { insert: 0, update: 0, delete: 0 }])) as Record<SourceTable, RowCounts>,
    events: Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<EventType, number>,
    deliveries: { on_time: 0, out_of_order: 0, late: 0, duplicate: 0 },
    abuse: [],
    from: null,
    to: null,
  };
  private rowTotal = 0;
  private deliveryTotal = 0;

  add(action: Action): void {
    const r = this.report;
    r.from ??= action.at;
    r.to = action.at;
    switch (action.kind) {
      case 'row':
        r.rows[action.table][action.op] += 1;
        this.rowTotal += 1;
        break;
      case 'event':
        this.deliveryTotal += 1;
        if (action.duplicate) {
          r.deliveries.duplicate += 1;
        } else {
          r.deliveries[action.delivery] += 1;
          r.events[action.event.type] += 1;
        }
        break;
      case 'abuse':
        r.abuse.push(action.abuse);
        break;
    }
  }

  /** source row writes: inserts, updates and deletes */
  get rows(): number {
    return this.rowTotal;
  }

  /** messages to the event log, duplicates included */
  get deliveries(): number {
    return this.deliveryTotal;
  }

  snapshot(): TallyReport {
    return structuredClone(this.report);
  }
}
