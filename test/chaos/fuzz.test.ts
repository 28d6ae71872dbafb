import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../jobs/dwd/event-log.js';
import { fuzzMessages, markersIn } from './fuzz.js';

describe('chaos fuzz', () => {
  const messages = fuzzMessages(2000, { tag: 'fz', database: 'shop', seed: 7, streamTime: Date.UTC(2026, 0, 1) });

  it('makes every kind on both inputs, each message marked', () => {
    expect(new Set(messages.filter((m) => m.input === 'binlog').map((m) => m.kind)).size).toBe(8);
    expect(new Set(messages.filter((m) => m.input === 'events').map((m) => m.kind)).size).toBe(6);
    for (const m of messages) expect(m.value.toString('latin1')).toContain(m.marker);
  });

  it('never makes an event the event log would accept', () => {
    for (const m of messages.filter((x) => x.input === 'events')) expect(() => parseEvent(m.value), m.kind).toThrow();
  });

  it('never makes a Canal message of a mirrored table that parses as JSON with rows', () => {
    for (const m of messages.filter((x) => x.input === 'binlog')) {
      let doc: { table?: unknown; data?: unknown } | undefined;
      try {
        doc = JSON.parse(m.value.toString()) as { table?: unknown; data?: unknown };
      } catch {
        continue;
      }
      const rowsOfStrings = Array.isArray(doc.data) && doc.data.every((r) => typeof r === 'object' && r !== null && Object.values(r).every((v) => typeof v === 'string' || v === null));
      if (rowsOfStrings) expect(String(doc.table), m.kind).toMatch(/^(no_such_table_|chaos_)/);
    }
  });

  it('finds the marker in a dead letter holding the original bytes', () => {
    const m = messages[1]!;
    expect(markersIn(Buffer.from(JSON.stringify({ reason: 'x', value: m.value.toString('base64') })), 'fz')).toEqual([m.marker]);
    expect(markersIn(Buffer.from('not json'), 'fz')).toEqual([]);
  });
});
