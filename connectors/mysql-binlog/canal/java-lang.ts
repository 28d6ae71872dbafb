/**
 * The few java.lang behaviours Canal's output depends on, reproduced exactly:
 * String.hashCode and Math.abs(int) (partition numbers, MQMessageUtils) and
 * Float.toString / Double.toString (FLOAT/DOUBLE values, LogEventConvert).
 */

/** java.lang.String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, in 32-bit int arithmetic. */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** java.lang.Math.abs(int): Integer.MIN_VALUE stays negative (two's complement overflow). */
export function javaIntAbs(value: number): number {
  return value === -2147483648 ? value : Math.abs(value);
}

/** A positive finite number as significant digits (no leading/trailing zeros) and the exponent of the first digit. */
interface Decimal {
  digits: string;
  exponent: number;
}

function parseDecimal(text: string): Decimal {
  const match = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(text);
  if (match === null) throw new Error(`not a decimal number: ${text}`);
  const integerPart = match[1] ?? '';
  const allDigits = integerPart + (match[2] ?? '');
  const leadingZeros = /^0*/.exec(allDigits)?.[0].length ?? 0;
  const digits = allDigits.slice(leadingZeros).replace(/0+$/, '') || '0';
  return { digits, exponent: integerPart.length - 1 - leadingZeros + Number(match[3] ?? '0') };
}

/** Whether `magnitude` lies exactly halfway between (units - 1) and units times 10^scale; compared exactly with BigInt. */
function isHalfwayBelow(magnitude: number, units: number, scale: number): boolean {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, magnitude);
  const bits = view.getBigUint64(0);
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  // magnitude = mantissa * 2^binaryExponent; halfway point = (2 * units - 1) * 10^scale / 2
  const mantissa = biasedExponent === 0 ? fraction : fraction | (1n << 52n);
  const binaryExponent = (biasedExponent === 0 ? 1 : biasedExponent) - 1075 + 1;
  const twoShift = Math.max(0, -binaryExponent);
  const tenShift = Math.max(0, -scale);
  const left = mantissa * 2n ** BigInt(binaryExponent + twoShift) * 10n ** BigInt(tenShift);
  const right = BigInt(2 * units - 1) * 10n ** BigInt(scale + tenShift) * 2n ** BigInt(twoShift);
  return left === right;
}

/**
 * The `precision`-digit decimals nearest to `magnitude` that read back as it, best first: the nearest
 * (on an exact tie the one with an even last digit, where toPrecision would take the larger), then its neighbours.
 */
function candidatesAt(magnitude: number, precision: number, readsBack: (candidate: number) => boolean): Decimal[] {
  const nearest = parseDecimal(magnitude.toPrecision(precision));
  const units = Number(nearest.digits.padEnd(precision, '0'));
  const scale = nearest.exponent - precision + 1;
  const order = units % 2 === 1 && isHalfwayBelow(magnitude, units, scale) ? [units - 1, units, units + 1] : [units, units - 1, units + 1];
  return order
    .filter((u) => u > 0)
    .map((u) => parseDecimal(`${u}e${scale}`))
    .filter((d) => readsBack(Number(`0.${d.digits}e${d.exponent + 1}`)));
}

/**
 * Java's choice of digits since JDK 19 (Double/Float.toString javadoc): among the decimals that read back
 * as the value, the shortest length m; if m is 1, length 2 is allowed too; then the closest one. The nearest
 * decimal of a length is the closest; a neighbour only wins at a power of two, where the interval is lopsided.
 */
function shortestDecimal(magnitude: number, readsBack: (candidate: number) => boolean, maxDigits: number): Decimal {
  for (let precision = 1; precision <= maxDigits; precision++) {
    if (candidatesAt(magnitude, precision, readsBack).length === 0) continue;
    const chosen = candidatesAt(magnitude, Math.max(precision, 2), readsBack)[0];
    if (chosen !== undefined) return chosen;
  }
  throw new Error(`no decimal of up to ${maxDigits} digits reads back as ${magnitude}`);
}

/** Java's layout: plain for 10^-3 <= |v| < 10^7 ("100.0", "0.001"), otherwise computerized scientific ("1.0E7", "9.0E-4"). */
function formatJava(negative: boolean, decimal: Decimal): string {
  const sign = negative ? '-' : '';
  const { digits, exponent } = decimal;
  if (exponent >= -3 && exponent < 7) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const integerDigits = exponent + 1;
    if (digits.length <= integerDigits) return `${sign}${digits.padEnd(integerDigits, '0')}.0`;
    return `${sign}${digits.slice(0, integerDigits)}.${digits.slice(integerDigits)}`;
  }
  return `${sign}${digits.slice(0, 1)}.${digits.slice(1) || '0'}E${exponent}`;
}

function formatSpecial(value: number): string | undefined {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  return undefined;
}

/** java.lang.Double.toString(double) as specified since JDK 19 (shortest uniquely-identifying digits). */
export function javaDoubleToString(value: number): string {
  const special = formatSpecial(value);
  if (special !== undefined) return special;
  const magnitude = Math.abs(value);
  // JS Number::toString already picks the fewest digits and then the closest; only the one-digit case differs.
  const jsShortest = parseDecimal(String(magnitude));
  const decimal = jsShortest.digits.length >= 2 ? jsShortest : shortestDecimal(magnitude, (c) => c === magnitude, 17);
  return formatJava(value < 0, decimal);
}

/** java.lang.Float.toString(float) as specified since JDK 19; `value` is rounded to float32 first. */
export function javaFloatToString(value: number): string {
  const float = Math.fround(value);
  const special = formatSpecial(float);
  if (special !== undefined) return special;
  const magnitude = Math.abs(float);
  return formatJava(float < 0, shortestDecimal(magnitude, (c) => Math.fround(c) === magnitude, 9));
}
