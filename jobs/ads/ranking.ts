/** Rankings of the ADS tables: ranks 1..n without gaps, ties broken as the issue states, so results are deterministic. */

/** Strings by Unicode code point (JavaScript's `<` compares UTF-16 code units, which order differently above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const x = a[Symbol.iterator]();
  const y = b[Symbol.iterator]();
  for (;;) {
    const p = x.next();
    const q = y.next();
    if (p.done === true) return q.done === true ? 0 : -1;
    if (q.done === true) return 1;
    const diff = (p.value.codePointAt(0) as number) - (q.value.codePointAt(0) as number);
    if (diff !== 0) return diff;
  }
}

/** bigint comparison for sort callbacks. */
export const compareBigInt = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** The first `n` items in `compare` order, numbered 1..n. */
export function topN<T>(items: Iterable<T>, n: number, compare: (a: T, b: T) => number): Array<T & { rank: number }> {
  return [...items]
    .sort(compare)
    .slice(0, n)
    .map((item, i) => ({ ...item, rank: i + 1 }));
}

/**
 * The rank rows a ranking change writes: for each rank 1..n, the new entry where it differs from the
 * old one, or a deletion (entry undefined) where the ranking got shorter.
 */
export function rankChanges<T>(before: readonly T[], after: readonly T[], n: number): Array<{ rank: number; entry: T | undefined }> {
  const changes: Array<{ rank: number; entry: T | undefined }> = [];
  for (let i = 0; i < n; i++) {
    const was = before[i];
    const now = after[i];
    if (now !== undefined && JSON.stringify(now) !== JSON.stringify(was)) changes.push({ rank: i + 1, entry: now });
    else if (now === undefined && was !== undefined) changes.push({ rank: i + 1, entry: undefined });
  }
  return changes;
}
