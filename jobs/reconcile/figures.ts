/**
 * Figures as exact decimal text. MySQL prints SUM(DECIMAL(12,2)) as "12.30" and SUM(INT) as
 * "12"; ClickHouse prints the same sums as "12.3" and "12": both are compared and subtracted
 * exactly, never through floating point.
 */
import { formatDecimal, parseDecimal } from '../runtime/core/decimal.js';

const DECIMAL = /^[+-]?(\d+)(?:\.(\d*))?$/;

function scaleOf(text: string): number {
  const m = DECIMAL.exec(text);
  if (m === null) throw new SyntaxError(`not a decimal figure: ${JSON.stringify(text)}`);
  return (m[2] ?? '').length;
}

/** `text` without trailing fractional zeros and with one spelling of zero: "12.30" → "12.3", "-0.00" → "0". */
export function canonicalDecimal(text: string): string {
  const scale = scaleOf(text);
  let unscaled = parseDecimal(text, scale);
  let s = scale;
  while (s > 0 && unscaled % 10n === 0n) {
    unscaled /= 10n;
    s -= 1;
  }
  return formatDecimal(unscaled, s);
}

/** `sink - source`, signed ("+0.01", "-1", "0"). */
export function decimalDifference(source: string, sink: string): string {
  const scale = Math.max(scaleOf(source), scaleOf(sink));
  const diff = parseDecimal(sink, scale) - parseDecimal(source, scale);
  const text = canonicalDecimal(formatDecimal(diff, scale));
  return diff > 0n ? `+${text}` : text;
}
