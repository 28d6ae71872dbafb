/** Exact decimals as bigint unscaled values at a fixed scale: "12.30" at scale 2 is 1230n. */

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?$/;

export function assertDecimalScale(scale: number): void {
  if (!Number.isSafeInteger(scale) || scale < 0) throw new RangeError(`decimal scale must be a non-negative integer, got ${scale}`);
}

/**
 * Parses a decimal string ("-0.01", "12345678901234.56") into its unscaled value at `scale`.
 * More fractional digits than `scale` are accepted only when the extra ones are zeros: never round silently.
 */
export function parseDecimal(text: string, scale: number): bigint {
  assertDecimalScale(scale);
  const match = DECIMAL_TEXT.exec(text);
  const sign = match?.[1] ?? '';
  const whole = match?.[2] ?? '';
  const fraction = match?.[3] ?? '';
  if (match === null || (whole === '' && fraction === '')) throw new SyntaxError(`not a decimal: ${JSON.stringify(text)}`);
  if (/[^0]/.test(fraction.slice(scale))) {
    throw new RangeError(`${JSON.stringify(text)} has more than ${scale} fractional digits`);
  }
  const magnitude = BigInt(whole + fraction.slice(0, scale).padEnd(scale, '0') || '0');
  return sign === '-' ? -magnitude : magnitude;
}

/** Formats an unscaled value with exactly `scale` fractional digits. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  assertDecimalScale(scale);
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const sign = negative ? '-' : '';
  return scale === 0 ? sign + whole : `${sign}${whole}.${digits.slice(digits.length - scale)}`;
}
