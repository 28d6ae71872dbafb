/**
 * Tests' own replay of row actions: what the source tables hold after them, kept apart from the
 * writers so a test can compare MySQL with it. Refuses what a database would refuse (a second
 * insert of an id, an update or delete of a missing row), so replaying also checks the actions.
 */
import { SOURCE_TABLES, type SourceTable } from '../../schemas/events.js';
import type { Action } from '../../connectors/generator/actions.js';

export type Row = Record<string, string | number | null>;

export class SourceState {
  readonly tables = new Map<SourceTable, Map<number, Row>>(SOURCE_TABLES.map((t) => [t, new Map()]));

  table(name: SourceTable): Map<number, Row> {
    return this.tables.get(name) as Map<number, Row>;
  }

  /** `upsertDimensions`: dimension inserts of an existing id replace it, as the writer's upsert does. */
  apply(action: Action, upsertDimensions = true): void {
    if (action.kind !== 'row') return;
    const rows = this.table(action.table);
    if (action.op === 'insert') {
      const row = { ...(action.row as unknown as Row) };
      const id = row.id as number;
      const dimension = action.table === 'areas' || action.table === 'users' || action.table === 'products';
      if (rows.has(id) && !(dimension && upsertDimensions)) throw new Error(`${action.table} ${id} inserted twice`);
      rows.set(id, row);
    } else if (action.op === 'update') {
      const row = rows.get(action.id);
      if (row === undefined) throw new Error(`update of missing ${action.table} ${action.id}`);
      Object.assign(row, action.set);
    } else {
      if (!rows.delete(action.id)) throw new Error(`delete of missing ${action.table} ${action.id}`);
    }
  }
}
