/**
 * One user's clicks on one ad within one calendar day, counted toward a threshold: the click that exceeds
 * it is the (threshold + 1)-th in (time, id) order. Clicks are counted in that order, except late ones,
 * which are later than watermark - lateness: so only released clicks within the lateness (the tail) are
 * kept, which is all a late click needs: it can only move the crossing to itself or to a click after it.
 */

/** (time, id): the order clicks are taken in. */
export type Mark = readonly [time: number, id: string];

export function before(a: Mark, b: Mark): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** Index of the first mark in `sorted` not before `mark`. */
function firstNotBefore(sorted: readonly Mark[], mark: Mark): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (before(sorted[mid] as Mark, mark)) low = mid + 1;
    else high = mid;
  }
  return low;
}

export interface ClickCount {
  readonly adId: string;
  readonly day: string;
  /** first instant after the day */
  readonly end: number;
  /** clicks counted so far */
  n: number;
  /** counted clicks within the lateness, in order: a late click is inserted among them */
  readonly tail: Mark[];
  /** the click that exceeded the threshold */
  crossed: Mark | null;
}

/**
 * Counts a click that comes after every counted click, or within the lateness; returns the click that
 * now exceeds the threshold when that changed (it only ever moves earlier), else null.
 */
export function countClick(count: ClickCount, mark: Mark, threshold: number): Mark | null {
  count.n += 1;
  count.tail.splice(firstNotBefore(count.tail, mark), 0, mark);
  let crossed = count.crossed;
  // exactly threshold + 1 clicks: the last in order; more: a click before the crossing moves it one back
  if (count.n === threshold + 1) crossed = count.tail[count.tail.length - 1] as Mark;
  else if (count.crossed !== null && before(mark, count.crossed)) crossed = count.tail[firstNotBefore(count.tail, count.crossed) - 1] as Mark;
  if (crossed === null || crossed === count.crossed) return null;
  count.crossed = crossed;
  return crossed;
}

/** Drops tail clicks no late click from `time` on can precede; returns the time the next one expires, if any. */
export function trimTail(count: ClickCount, time: number, lateness: number): number | undefined {
  let expired = 0;
  while (expired < count.tail.length && (count.tail[expired] as Mark)[0] + lateness <= time) expired++;
  count.tail.splice(0, expired);
  const first = count.tail[0];
  return first === undefined ? undefined : first[0] + lateness;
}
