/**
 * A Canal consumer's materialization of a table by primary key, as Flink's canal-json into a keyed
 * table does it, checking each change against the row it holds: an UPDATE's `old` and a DELETE's image
 * must be that row (a retraction that does not match is what a consumer cannot apply), a binlog INSERT
 * must not find one, a snapshot row must come once per key and, for a key already held, be that row.
 * A change to a key not held yet is fine: the row's snapshot chunk comes later.
 */
import type { CanalFlatMessage, CanalRow } from '../../connectors/mysql-binlog/canal/flat-message.js';

const same = (a: CanalRow, b: CanalRow): boolean => Object.keys(b).every((k) => a[k] === b[k]) && Object.keys(a).length === Object.keys(b).length;

export class CanalFold {
  readonly rows = new Map<string, CanalRow>();
  snapshotRows = 0;
  /** how many changes did not apply to the row held */
  problemCount = 0;
  /** the first few of them */
  readonly problems: string[] = [];
  private readonly snapshotted = new Set<string>();

  constructor(private readonly keyOf: (row: CanalRow) => string = (row) => String(row.id)) {}

  apply(message: CanalFlatMessage): void {
    (message.data ?? []).forEach((row, i) => {
      const key = this.keyOf(row);
      const held = this.rows.get(key);
      if (message.type === 'INSERT' && message.isSnapshot === true) {
        this.snapshotRows += 1;
        if (this.snapshotted.has(key)) this.problem(`key ${key}: a second snapshot row`);
        this.snapshotted.add(key);
        if (held !== undefined && !same(held, row)) this.problem(`key ${key}: snapshot row ${JSON.stringify(row)} differs from the row held ${JSON.stringify(held)}`);
        this.rows.set(key, row);
      } else if (message.type === 'INSERT') {
        if (held !== undefined) this.problem(`key ${key}: INSERT of a row held`);
        this.rows.set(key, row);
      } else if (message.type === 'UPDATE') {
        const old = message.old?.[i] ?? {};
        const before = { ...row, ...old };
        const oldKey = this.keyOf(before);
        const heldBefore = this.rows.get(oldKey);
        if (heldBefore !== undefined && !same(heldBefore, before)) this.problem(`key ${oldKey}: UPDATE from ${JSON.stringify(before)} but the row held is ${JSON.stringify(heldBefore)}`);
        this.rows.delete(oldKey);
        this.rows.set(key, row);
      } else if (message.type === 'DELETE') {
        if (held !== undefined && !same(held, row)) this.problem(`key ${key}: DELETE of ${JSON.stringify(row)} but the row held is ${JSON.stringify(held)}`);
        this.rows.delete(key);
      }
    });
  }

  private problem(text: string): void {
    this.problemCount += 1;
    if (this.problems.length < 10) this.problems.push(text);
  }
}
