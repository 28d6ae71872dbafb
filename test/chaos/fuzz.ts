/**
 * Fuzzed input for the chaos run: messages every consumer of the input topics must refuse (dead
 * letter with a reason) and none may die of. Each carries a marker `<tag>-<i>` in its bytes, so its
 * dead letters (which keep the original bytes) can be matched to it.
 *
 * They are invalid by construction, never plausible data: a valid-looking row would change the
 * warehouse and make reconcile disagree for a reason that is not a bug. Canal messages of tables
 * the pipeline does not mirror carry an `es` behind the stream's, so they cannot move a watermark.
 */
export type FuzzKind =
  | 'truncated-json'
  | 'wrong-types'
  | 'unknown-table'
  | 'unknown-column'
  | 'huge-value'
  | 'wrong-encoding'
  | 'dropped-table'
  | 'unknown-event-type'
  | 'not-an-object';

export interface FuzzMessage {
  kind: FuzzKind;
  /** 'binlog': the Canal topic; 'events': the ad event log */
  input: 'binlog' | 'events';
  marker: string;
  key: string;
  value: Buffer;
}

const BINLOG_KINDS: FuzzKind[] = ['truncated-json', 'wrong-types', 'unknown-table', 'unknown-column', 'huge-value', 'wrong-encoding', 'dropped-table', 'not-an-object'];
const EVENT_KINDS: FuzzKind[] = ['truncated-json', 'wrong-types', 'unknown-event-type', 'huge-value', 'wrong-encoding', 'not-an-object'];

/** Deterministic randomness (a run can be replayed from its seed). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Cut somewhere after the marker and before the end: never a whole document. */
function truncated(whole: string, marker: string, random: () => number): Buffer {
  const from = whole.indexOf(marker) + marker.length + 1;
  return Buffer.from(whole.slice(0, from + Math.floor(random() * (whole.length - 1 - from))));
}

function canal(database: string, table: string, es: number, data: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { data, database, es, id: 1, isDdl: false, mysqlType: { id: 'int' }, old: null, pkNames: ['id'], sql: '', sqlType: { id: 4 }, table, ts: es, type: 'INSERT', ...extra };
}

function binlogMessage(kind: FuzzKind, marker: string, database: string, es: number, random: () => number): Buffer {
  switch (kind) {
    case 'truncated-json':
      return truncated(JSON.stringify({ m: marker, ...canal(database, 'orders', es, [{ id: '1', amount: '1.00' }]) }), marker, random);
    case 'wrong-types':
      // data must be an array of rows of strings; here it is a number, rows of numbers or nested objects.
      return Buffer.from(JSON.stringify(canal(database, 'orders', es, [42, { id: { nested: marker } }, marker][Math.floor(random() * 3)], { marker })));
    case 'unknown-table':
      return Buffer.from(JSON.stringify(canal(database, `no_such_table_${marker.replace(/\W/g, '_')}`, es, [{ id: '1', note: marker }])));
    case 'unknown-column':
      // On a table no job reads and the mirror does not know: refused by the mirror, ignored by the jobs.
      return Buffer.from(JSON.stringify(canal(database, 'chaos_unmirrored', es, [{ id: '1', colour: marker }])));
    case 'huge-value':
      return Buffer.from(JSON.stringify(canal(database, 'chaos_unmirrored', es, [{ id: '1', note: `${marker}${'x'.repeat(200_000 + Math.floor(random() * 300_000))}` }])));
    case 'wrong-encoding': {
      // Latin-1 bytes and a lone continuation byte where UTF-8 JSON is expected, and the JSON cut short.
      const head = Buffer.from(`{"m":"${marker}","database":"${database}","table":"orders","data":[{"id":"`);
      return Buffer.concat([head, Buffer.from([0xe9, 0x80, 0xff, 0xfe, 0xc3])]);
    }
    case 'dropped-table':
      return Buffer.from(JSON.stringify(canal(database, 'chaos_dropped_table', es, [{ id: '7', name: marker }])));
    case 'not-an-object':
      return Buffer.from(JSON.stringify([marker, 1, null]));
    default:
      throw new Error(`no binlog fuzz of kind ${kind}`);
  }
}

function eventMessage(kind: FuzzKind, marker: string, random: () => number): Buffer {
  const base = { event_id: marker, type: 'click', ts: Date.now(), user_id: 1, ad_id: 1, device_id: 'd', session_id: 's', ip: '127.0.0.1', area_id: 1, channel: 'search' };
  switch (kind) {
    case 'truncated-json':
      return truncated(JSON.stringify(base), marker, random);
    case 'wrong-types':
      return Buffer.from(JSON.stringify({ ...base, ts: ['yesterday', -5, 1.5, null][Math.floor(random() * 4)] }));
    case 'unknown-event-type':
      return Buffer.from(JSON.stringify({ ...base, type: ['hover', 'CLICK', '', 7][Math.floor(random() * 4)] }));
    case 'huge-value':
      return Buffer.from(JSON.stringify({ ...base, ts: 'x'.repeat(200_000 + Math.floor(random() * 300_000)) }));
    case 'wrong-encoding':
      return Buffer.concat([Buffer.from(`{"event_id":"${marker}","type":"`), Buffer.from([0xff, 0xfe, 0xe9]), Buffer.from('","ts":1}')]);
    case 'not-an-object':
      return Buffer.from(JSON.stringify([marker]));
    default:
      throw new Error(`no event fuzz of kind ${kind}`);
  }
}

/**
 * `count` messages, alternating between the two inputs, kinds drawn at random (huge values rare:
 * a few hundred kilobytes each).
 */
export function fuzzMessages(count: number, opts: { tag: string; database: string; seed: number; streamTime: number }): FuzzMessage[] {
  const random = rng(opts.seed);
  const out: FuzzMessage[] = [];
  for (let i = 0; i < count; i++) {
    const input = i % 2 === 0 ? 'binlog' : 'events';
    const kinds = input === 'binlog' ? BINLOG_KINDS : EVENT_KINDS;
    let kind = kinds[Math.floor(random() * kinds.length)] as FuzzKind;
    if (kind === 'huge-value' && random() > 0.005) kind = 'truncated-json';
    const marker = `${opts.tag}-${i}`;
    // Behind the stream: a Canal timestamp cannot be what moves a watermark.
    const es = opts.streamTime - 600_000;
    const value = input === 'binlog' ? binlogMessage(kind, marker, opts.database, es, random) : eventMessage(kind, marker, random);
    out.push({ kind, input, marker, key: marker, value });
  }
  return out;
}

/** The markers found in a dead letter's value (its original bytes, base64, under `value`). */
export function markersIn(deadLetter: Buffer | null, tag: string): string[] {
  if (deadLetter === null) return [];
  let original = '';
  try {
    const parsed = JSON.parse(deadLetter.toString()) as { value?: unknown };
    if (typeof parsed.value === 'string') original = Buffer.from(parsed.value, 'base64').toString('latin1');
  } catch {
    return [];
  }
  return [...original.matchAll(new RegExp(`${tag}-\\d+`, 'g'))].map((m) => m[0]);
}
