import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BinlogPosition } from './binlog-reader.js';
import { compareBinlogPositions, IncrementalSnapshot, keyText, type ChunkRead, type ChunkRequest } from './incremental-snapshot.js';
import type { SnapshotProgress } from './position-store.js';

/**
 * A model of the source: a table of id → value whose history is a list of transactions at binlog
 * positions 1, 2, …; a chunk is read at a point between its watermarks. The stream and the chunk reads
 * interleave at random; a consumer folds the output (Canal semantics: INSERT/UPDATE set the row, a
 * primary-key change removes the old key, DELETE removes). The fold must equal the table at the end.
 */
type Op = { kind: 'set'; id: number; value: number } | { kind: 'delete'; id: number } | { kind: 'move'; from: number; to: number };
/** `at`: the binlog position of the version it shows (a snapshot row: the last change it reflects). */
type Output =
  | { kind: 'set'; id: number; value: number; at: number }
  | { kind: 'delete'; id: number; at: number }
  | { kind: 'move'; from: number; to: number; value: number; at: number }
  | { kind: 'snapshot'; id: number; value: number; at: number };

const FILE = 'mysql-bin.000001';
const at = (pos: number): BinlogPosition => ({ file: FILE, pos, gtid: '' });

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Source {
  readonly txns: Op[][] = [];
  private readonly initial = new Map<number, number>();
  constructor(rows: number) {
    for (let id = 1; id <= rows; id++) this.initial.set(id, 0);
  }

  get end(): number {
    return this.txns.length;
  }

  stateAt(pos: number): Map<number, number> {
    const state = new Map(this.initial);
    for (const txn of this.txns.slice(0, pos)) {
      for (const op of txn) {
        if (op.kind === 'set') state.set(op.id, op.value);
        else if (op.kind === 'delete') state.delete(op.id);
        else {
          const value = state.get(op.from);
          state.delete(op.from);
          if (value !== undefined) state.set(op.to, value);
        }
      }
    }
    return state;
  }

  write(random: () => number): void {
    const state = this.stateAt(this.end);
    const ids = [...state.keys()];
    const any = (): number => (ids.length === 0 ? 1 : (ids[Math.floor(random() * ids.length)] as number));
    const fresh = (): number => 1_000 + this.end * 10 + Math.floor(random() * 10);
    const txn: Op[] = [];
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
      const r = random();
      if (r < 0.45) txn.push({ kind: 'set', id: any(), value: this.end + 1 });
      else if (r < 0.7) txn.push({ kind: 'delete', id: any() });
      else if (r < 0.9) txn.push({ kind: 'set', id: fresh(), value: this.end + 1 });
      else txn.push({ kind: 'move', from: any(), to: fresh() });
    }
    this.txns.push(txn);
  }

  /** The chunk after `after` as a SELECT sees it at position `seen`, keys in order: [id, value, position of its last change]. */
  read(after: number | null, size: number, seen: number): Array<[number, number, number]> {
    const rows = [...this.stateAt(seen)].filter(([id]) => after === null || id > after).sort((a, b) => a[0] - b[0]).slice(0, size);
    return rows.map(([id, value]) => [id, value, this.lastChange(id, seen)]);
  }

  private lastChange(id: number, seen: number): number {
    for (let pos = seen; pos >= 1; pos--) {
      if ((this.txns[pos - 1] as Op[]).some((op) => (op.kind === 'set' && op.id === id) || (op.kind === 'move' && op.to === id))) return pos;
    }
    return 0;
  }
}

/**
 * Per key, the consumer sees versions in binlog order: nothing before a snapshot row is newer than it,
 * nothing after it is as old (so an UPDATE's `old` always matches the row held). Returns the violations.
 */
function outOfOrder(output: Output[]): string[] {
  const last = new Map<number, { at: number; snapshot: boolean }>();
  const problems: string[] = [];
  const see = (id: number, at: number, snapshot: boolean): void => {
    const before = last.get(id);
    if (before !== undefined && (at < before.at || (at === before.at && before.snapshot && !snapshot))) problems.push(`key ${id}: version ${at} after ${before.snapshot ? 'snapshot row' : 'event'} of version ${before.at}`);
    last.set(id, { at, snapshot });
  };
  for (const o of output) {
    if (o.kind === 'move') {
      see(o.from, o.at, false);
      see(o.to, o.at, false);
    } else see(o.id, o.at, o.kind === 'snapshot');
  }
  return problems;
}

/** Snapshot rows of ids the consumer already holds: what a consumer without a key would count twice. */
function doubled(output: Output[]): number[] {
  const held = new Set<number>();
  const ids: number[] = [];
  for (const o of output) {
    if (o.kind === 'snapshot' && held.has(o.id)) ids.push(o.id);
    if (o.kind === 'delete') held.delete(o.id);
    else if (o.kind === 'move') {
      held.delete(o.from);
      held.add(o.to);
    } else held.add(o.id);
  }
  return ids;
}

/** What the consumer folds out of the output. */
function fold(output: Output[]): Map<number, number> {
  const state = new Map<number, number>();
  for (const o of output) {
    if (o.kind === 'delete') state.delete(o.id);
    else if (o.kind === 'move') {
      state.delete(o.from);
      state.set(o.to, o.value);
    } else state.set(o.id, o.value);
  }
  return state;
}

interface Run {
  source: Source;
  output: Output[];
}

/**
 * The stream and the reader interleaved by `random`. `exactLow`: the low watermark is the SELECT's own
 * point (MariaDB's consistent snapshot), possibly behind what the stream has already encoded; otherwise
 * it is the binlog end before the SELECT, which sees a point between the watermarks (MySQL).
 * `crashEvery`: after that many committed steps the run restarts from the last commit (kill -9).
 */
function simulate(seed: number, opts: { rows: number; chunk: number; writes: number; exactLow: boolean; crashEvery?: number; keyless?: boolean }): Run & { snapshot: IncrementalSnapshot } {
  const random = mulberry32(seed);
  const source = new Source(opts.rows);
  const table = opts.keyless === true ? { database: 'shop', table: 't', keyless: true as const } : { database: 'shop', table: 't' };
  let committed: { streamed: number; progress: SnapshotProgress | undefined; signalOffset: string | undefined; outputs: number } = {
    streamed: 0,
    progress: { tables: [table], after: null, rows: 0 },
    signalOffset: '0',
    outputs: 0,
  };
  const output: Output[] = [];
  let snapshot!: IncrementalSnapshot;
  let streamed = 0;
  let reading: { request: ChunkRequest; low: number } | undefined;
  const restart = (): void => {
    output.length = committed.outputs;
    streamed = committed.streamed;
    reading = undefined;
    snapshot = new IncrementalSnapshot({ position: at(streamed), snapshot: committed.progress, signalOffset: committed.signalOffset }, 2, () => undefined);
  };
  restart();
  const releaseAll = (): void => {
    for (let chunk = snapshot.release(); chunk !== undefined; chunk = snapshot.release()) {
      for (const row of chunk.rows) output.push({ kind: 'snapshot', id: Number(row.id), value: Number(row.v), at: Number(row.at) });
    }
  };
  let steps = 0;
  for (let guard = 0; guard < 100_000; guard++) {
    const idle = source.end >= opts.writes && streamed === source.end && snapshot.progress().snapshot === undefined;
    if (idle) break;
    const r = random();
    if (r < 0.3 && source.end < opts.writes) {
      source.write(random);
    } else if (r < 0.6) {
      // The stream: chunks whose high watermark it reached go before the next transaction.
      releaseAll();
      if (streamed < source.end) {
        const pos = streamed + 1;
        // The transaction's row events, each image as of its own statement.
        const state = source.stateAt(pos - 1);
        const seen = (id: number): void => snapshot.observeRow('shop', 't', opts.keyless === true ? undefined : keyText([String(id)]), at(pos));
        for (const op of source.txns[pos - 1] as Op[]) {
          if (snapshot.holdsBack('shop', 't', at(pos))) continue;
          if (op.kind === 'set') {
            seen(op.id);
            state.set(op.id, op.value);
            output.push({ ...op, at: pos });
          } else if (op.kind === 'delete') {
            if (!state.delete(op.id)) continue;
            seen(op.id);
            output.push({ ...op, at: pos });
          } else {
            const value = state.get(op.from);
            if (value === undefined) continue;
            seen(op.from);
            seen(op.to);
            state.delete(op.from);
            state.set(op.to, value);
            output.push({ kind: 'move', from: op.from, to: op.to, value, at: pos });
          }
        }
        streamed = pos;
        snapshot.streamedTo(at(pos));
      }
      releaseAll();
      steps += 1;
      if (opts.crashEvery !== undefined && steps % opts.crashEvery === 0) {
        if (random() < 0.5) restart();
        else {
          // A Kafka transaction: the output so far with the position and progress after it.
          const p = snapshot.progress();
          committed = { streamed, progress: p.snapshot, signalOffset: p.signalOffset, outputs: output.length };
        }
      }
    } else if (reading === undefined) {
      const request = snapshot.openNext();
      if (request !== undefined) reading = { request, low: source.end };
    } else {
      // The chunk's SELECT sees a point between the watermarks (MySQL). MariaDB reports the point itself as
      // the low watermark, and it may lie behind the binlog end (written, not yet committed in the engine).
      const high = source.end;
      const from = opts.exactLow ? Math.max(0, reading.low - 2) : reading.low;
      const seen = from + Math.floor(random() * (high - from + 1));
      const after = reading.request.after === null ? null : Number(reading.request.after[0]);
      const keyless = opts.keyless === true;
      const rows = source.read(after, keyless ? Number.MAX_SAFE_INTEGER : opts.chunk, seen);
      const low = at(opts.exactLow ? seen : reading.low);
      const chunk: ChunkRead = {
        rows: rows.map(([id, v, change]) => ({ id: String(id), v: String(v), at: String(change) })),
        keys: keyless ? [] : rows.map(([id]) => keyText([String(id)])),
        keyless,
        low,
        // A table without key is released at MariaDB's exact point.
        high: keyless && opts.exactLow ? low : at(high),
        next: keyless || rows.length < opts.chunk ? null : [String(rows[rows.length - 1]?.[0])],
        missing: false,
      };
      snapshot.attach(reading.request.window, chunk);
      reading = undefined;
    }
  }
  return { source, output, snapshot };
}

describe('IncrementalSnapshot (DBLog windows)', () => {
  it('orders binlog coordinates by file number, then offset', () => {
    expect(compareBinlogPositions({ file: 'mysql-bin.999999', pos: 9 }, { file: 'mysql-bin.1000000', pos: 4 })).toBeLessThan(0);
    expect(compareBinlogPositions({ file: 'mysql-bin.000002', pos: 4 }, { file: 'mysql-bin.000001', pos: 900 })).toBeGreaterThan(0);
    expect(compareBinlogPositions({ file: 'mysql-bin.000002', pos: 4 }, { file: 'mysql-bin.000002', pos: 4 })).toBe(0);
  });

  for (const exactLow of [false, true]) {
    it(`folds to the table whatever the interleaving of stream, writes and chunk reads (${exactLow ? 'exact low watermark (MariaDB)' : 'SHOW MASTER STATUS watermarks (MySQL)'})`, () => {
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 1, max: 7 }), (seed, chunk) => {
          const { source, output, snapshot } = simulate(seed, { rows: 30, chunk, writes: 60, exactLow });
          expect(snapshot.progress().snapshot).toBeUndefined();
          expect(fold(output)).toEqual(source.stateAt(source.end));
          expect(outOfOrder(output)).toEqual([]);
        }),
        { numRuns: 300 },
      );
    });
  }

  for (const exactLow of [false, true]) {
    it(`gives a table without primary key its snapshot rows once, its binlog events only after them (${exactLow ? 'MariaDB' : 'MySQL'})`, () => {
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const { source, output, snapshot } = simulate(seed, { rows: 20, chunk: 1, writes: 40, exactLow, keyless: true, crashEvery: 7 });
          expect(snapshot.progress().snapshot).toBeUndefined();
          expect(fold(output)).toEqual(source.stateAt(source.end));
          expect(outOfOrder(output)).toEqual([]);
          expect(doubled(output)).toEqual([]);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('resumes after the last committed chunk when the run restarts from its last commit', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 9 }), (seed, chunk, crashEvery) => {
        const { source, output } = simulate(seed, { rows: 30, chunk, writes: 60, exactLow: true, crashEvery });
        expect(fold(output)).toEqual(source.stateAt(source.end));
        expect(outOfOrder(output)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('drops the chunk rows of keys the window saw change, and emits the rest only at the high watermark', () => {
    const snapshot = new IncrementalSnapshot({ position: at(10), snapshot: { tables: [{ database: 'shop', table: 't' }], after: null, rows: 0 }, signalOffset: '0' }, 2, () => undefined);
    const request = snapshot.openNext() as ChunkRequest;
    snapshot.observeRow('shop', 't', keyText(['2']), at(11));
    snapshot.observeRow('shop', 'other', keyText(['3']), at(11));
    snapshot.streamedTo(at(11));
    const rows = ['1', '2', '3'].map((id) => ({ id }));
    snapshot.attach(request.window, { rows, keys: rows.map((r) => keyText([r.id])), keyless: false, low: at(10), high: at(12), next: ['3'], missing: false });
    expect(snapshot.release()).toBeUndefined();
    snapshot.streamedTo(at(12));
    expect(snapshot.release()).toEqual({ table: { database: 'shop', table: 't' }, rows: [{ id: '1' }, { id: '3' }], superseded: 1 });
    expect(snapshot.progress()).toEqual({ snapshot: { tables: [{ database: 'shop', table: 't' }], after: ['3'], rows: 2 }, signalOffset: '0' });
  });

  it('reads a chunk again when its window opened after the stream had passed the low watermark, or a DDL came', () => {
    const snapshot = new IncrementalSnapshot({ position: at(12), snapshot: { tables: [{ database: 'shop', table: 't' }], after: null, rows: 0 }, signalOffset: '0' }, 2, () => undefined);
    const first = snapshot.openNext() as ChunkRequest;
    snapshot.attach(first.window, { rows: [{ id: '1' }], keys: [keyText(['1'])], keyless: false, low: at(11), high: at(12), next: null, missing: false });
    expect(snapshot.release()).toBeUndefined();
    const second = snapshot.openNext() as ChunkRequest;
    expect(second.after).toBeNull();
    snapshot.observeDdl('shop', 'other');
    snapshot.observeDdl('elsewhere', null);
    snapshot.observeDdl('shop', 't');
    snapshot.attach(second.window, { rows: [{ id: '1' }], keys: [keyText(['1'])], keyless: false, low: at(12), high: at(12), next: null, missing: false });
    expect(snapshot.release()).toBeUndefined();
    const third = snapshot.openNext() as ChunkRequest;
    snapshot.attach(third.window, { rows: [{ id: '1' }], keys: [keyText(['1'])], keyless: false, low: at(12), high: at(12), next: null, missing: false });
    expect(snapshot.release()?.rows).toEqual([{ id: '1' }]);
    expect(snapshot.progress().snapshot).toBeUndefined();
  });

  it('counts a window opened while a transaction is being encoded as opened after it', () => {
    const snapshot = new IncrementalSnapshot({ position: at(10), snapshot: { tables: [{ database: 'shop', table: 't' }], after: null, rows: 0 }, signalOffset: '0' }, 2, () => undefined);
    // The stream encodes the transaction ending at 11 (its first rows before the window opens) ...
    snapshot.encoding(at(11));
    const first = snapshot.openNext() as ChunkRequest;
    snapshot.streamedTo(at(11));
    // ... and the SELECT did not see it: the rows encoded before the window opened are unaccounted for.
    snapshot.attach(first.window, { rows: [{ id: '1' }], keys: [keyText(['1'])], keyless: false, low: at(10), high: at(11), next: null, missing: false });
    expect(snapshot.release()).toBeUndefined();
    const second = snapshot.openNext() as ChunkRequest;
    snapshot.attach(second.window, { rows: [{ id: '1' }], keys: [keyText(['1'])], keyless: false, low: at(11), high: at(11), next: null, missing: false });
    expect(snapshot.release()?.rows).toEqual([{ id: '1' }]);
  });

  it('reads a table without primary key again when it changed after the low watermark', () => {
    const snapshot = new IncrementalSnapshot({ position: at(5), snapshot: { tables: [{ database: 'shop', table: 'log', keyless: true }], after: null, rows: 0 }, signalOffset: '0' }, 2, () => undefined);
    // Its events wait for its chunk (and count as seen by its window).
    expect(snapshot.holdsBack('shop', 'other', at(5))).toBe(false);
    const first = snapshot.openNext() as ChunkRequest;
    expect(snapshot.holdsBack('shop', 'log', at(5))).toBe(true);
    expect(snapshot.holdsBack('shop', 'log', at(6))).toBe(true);
    snapshot.streamedTo(at(6));
    snapshot.attach(first.window, { rows: [{ a: 'x' }], keys: [], keyless: true, low: at(5), high: at(5), next: null, missing: false });
    expect(snapshot.release()).toBeUndefined();
    const second = snapshot.openNext() as ChunkRequest;
    snapshot.attach(second.window, { rows: [{ a: 'x' }, { a: 'y' }], keys: [], keyless: true, low: at(6), high: at(6), next: null, missing: false });
    expect(snapshot.release()?.rows).toHaveLength(2);
    expect(snapshot.holdsBack('shop', 'log', at(7))).toBe(false);
  });

  it('skips a table that is gone where the stream is', () => {
    const gone = { database: 'shop', table: 'gone' };
    const t = { database: 'shop', table: 't' };
    const snapshot = new IncrementalSnapshot({ position: at(7), snapshot: { tables: [gone, t], after: null, rows: 0 }, signalOffset: undefined }, 2, () => undefined);
    const request = snapshot.openNext() as ChunkRequest;
    const nowhere = { file: '', pos: 0, gtid: '' };
    snapshot.attach(request.window, { rows: [], keys: [], keyless: false, low: nowhere, high: nowhere, next: null, missing: true });
    expect(snapshot.release()).toMatchObject({ table: gone, rows: [] });
    expect(snapshot.progress().snapshot).toEqual({ tables: [t], after: null, rows: 0 });
  });

  it('queues requested tables once, and a table being read again after its current pass', () => {
    const t = { database: 'shop', table: 't' };
    const u = { database: 'shop', table: 'u' };
    const snapshot = new IncrementalSnapshot({ position: at(1), snapshot: undefined, signalOffset: '0' }, 2, () => undefined);
    expect(snapshot.request([t, u, t], '3')).toEqual([t, u]);
    expect(snapshot.progress()).toEqual({ snapshot: { tables: [t, u], after: null, rows: 0 }, signalOffset: '3' });
    const request = snapshot.openNext() as ChunkRequest;
    snapshot.attach(request.window, { rows: [{ id: '1' }], keys: [keyText(['1'])], keyless: false, low: at(1), high: at(1), next: ['1'], missing: false });
    snapshot.release();
    // t is being read (a chunk is out): read again after this pass; u is queued already.
    expect(snapshot.request([t, u], '5')).toEqual([t]);
    expect(snapshot.progress().snapshot?.tables).toEqual([t, u, t]);
  });

  it('queues each key range of a table once, and none a whole-table snapshot already queued covers', () => {
    const t = { database: 'shop', table: 't' };
    const r1 = { ...t, range: { after: ['9'], upTo: ['10'] } };
    const r2 = { ...t, range: { after: ['19'], upTo: ['25'] } };
    const u = { database: 'shop', table: 'u' };
    const snapshot = new IncrementalSnapshot({ position: at(1), snapshot: undefined, signalOffset: '0' }, 2, () => undefined);
    expect(snapshot.request([u, r1, r2, { ...r1, range: { after: ['9'], upTo: ['10'] } }], '4')).toEqual([u, r1, r2]);
    const v = { database: 'shop', table: 'v' };
    const vr = { ...v, range: { after: null, upTo: ['5'] } };
    expect(snapshot.request([v, vr], '6')).toEqual([v]);
    expect(snapshot.progress().snapshot?.tables).toEqual([u, r1, r2, v]);
  });
});
