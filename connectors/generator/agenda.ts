/**
 * The model's clock: a binary min-heap of what happens next, by time and then by insertion order,
 * so that equal times come out in the order they were planned (an order's row before its items').
 * Entries are either actions to yield or steps of a process (a session, an order) to run then.
 */
import type { Action } from './actions.js';

export type Step = (now: number) => void;

interface Entry {
  at: number;
  seq: number;
  action: Action | null;
  step: Step | null;
}

export class Agenda {
  private readonly heap: Entry[] = [];
  private seq = 0;

  /** Entries at or after `end` are never due: they are not kept. */
  constructor(private readonly end: number) {}

  get size(): number {
    return this.heap.length;
  }

  emit(action: Action): void {
    if (action.at < this.end) this.push({ at: action.at, seq: this.seq++, action, step: null });
  }

  at(time: number, step: Step): void {
    if (time < this.end) this.push({ at: time, seq: this.seq++, action: null, step });
  }

  /** The earliest entry, removed; undefined when nothing is planned. */
  take(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry;
      if (!before(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  private down(index: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[index] as Entry;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right] as Entry, heap[left] as Entry) ? right : left;
      const c = heap[child] as Entry;
      if (!before(c, entry)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = entry;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
