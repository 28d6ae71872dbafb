/**
 * An operator's state plus the version of the stage's last output row. Rows upserted into a
 * ReplacingMergeTree (or any store keeping the highest version per key) need versions that grow per
 * key; a key is always written by the task owning its partition, so one counter per task, checkpointed
 * with the state, orders them, and a replay from a checkpoint writes the same versions again.
 */
import type { KeyedSnapshots } from './core/index.js';

export type Versioned<S> = S & { readonly sequence: number };

export class VersionedState<S extends object> implements KeyedSnapshots<Versioned<S>> {
  /** Splits a snapshot into the operator's part and the sequence. */
  static split<S extends object>(snapshot: Versioned<S>): { operator: S; sequence: number } {
    const { sequence, ...operator } = snapshot;
    return { operator: operator as unknown as S, sequence };
  }

  constructor(
    readonly operator: KeyedSnapshots<S>,
    private sequence = 0,
  ) {}

  get keyedField(): string {
    return this.operator.keyedField;
  }

  /** The version of the next output row. */
  next(): number {
    this.sequence += 1;
    return this.sequence;
  }

  snapshot(only?: Iterable<string>): Versioned<S> {
    return { ...this.operator.snapshot(only), sequence: this.sequence };
  }

  takeChangedKeys(): string[] {
    return this.operator.takeChangedKeys();
  }
}
