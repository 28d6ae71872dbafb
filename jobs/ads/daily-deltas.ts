/**
 * What the first level of a daily aggregation (runtime/measures-stage.ts) sends the second: per group and
 * day, the change of each field since its last flush, as integer text (amounts unscaled, in cents). The
 * second level sums them in calendar-day windows; a day whose figures are all zero counts as no row.
 */
import { field, sumDecimal, type FieldAggregate } from '../runtime/core/index.js';

export type Deltas = Readonly<Record<string, string>>;

export function parseDeltas(v: unknown): Deltas {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not daily deltas {field: integer text}');
  for (const [name, delta] of Object.entries(v)) {
    if (typeof delta !== 'string' || !/^-?\d+$/.test(delta)) throw new Error(`daily delta ${name} must be integer text, got ${JSON.stringify(delta)}`);
  }
  return v as Deltas;
}

/** The sum of a field's deltas, at `scale` (2 for amounts in cents). */
export function deltaSum(name: string, scale = 0): FieldAggregate<Deltas, string | null> {
  return field(sumDecimal(scale), (d: Deltas) => BigInt(d[name] ?? '0'));
}

/** No figure differs from zero (null: no delta at all). */
export function allZero(figures: Readonly<Record<string, string | null>>): boolean {
  return Object.values(figures).every((v) => v === null || /^-?0(\.0+)?$/.test(v));
}
