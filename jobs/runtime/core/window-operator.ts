/** One entry point for keyed window aggregation: aligned windows run on shared panes, session windows merge. */
import type { AggregateSpec } from './aggregates.js';
import { SessionWindowOperator, type SessionWindowSnapshot } from './session-window.js';
import { SlicedWindowOperator, type SlicedWindowSnapshot } from './sliced-window.js';
import type { WindowAssigner, WindowOperator } from './windows.js';

export interface WindowOperatorOptions<In, Acc, Out, Saved> {
  readonly assigner: WindowAssigner;
  readonly aggregate: AggregateSpec<In, Acc, Out, Saved>;
  /** Flink allowedLateness in ms; 0 by default. */
  readonly allowedLateness?: number;
}

export type WindowOperatorSnapshot<Saved> = SlicedWindowSnapshot<Saved> | SessionWindowSnapshot<Saved>;

export function createWindowOperator<In, Acc, Out, Saved>(
  options: WindowOperatorOptions<In, Acc, Out, Saved>,
): WindowOperator<In, Out, WindowOperatorSnapshot<Saved>> {
  const { assigner } = options;
  return assigner.kind === 'session'
    ? new SessionWindowOperator({ ...options, assigner })
    : new SlicedWindowOperator({ ...options, assigner });
}

export function restoreWindowOperator<In, Acc, Out, Saved>(
  options: WindowOperatorOptions<In, Acc, Out, Saved>,
  snapshot: WindowOperatorSnapshot<Saved>,
): WindowOperator<In, Out, WindowOperatorSnapshot<Saved>> {
  const { assigner } = options;
  if (assigner.kind === 'session') {
    if (snapshot.kind !== 'session') throw new RangeError('a session window operator cannot restore a sliced-window snapshot');
    return SessionWindowOperator.restore({ ...options, assigner }, snapshot);
  }
  if (snapshot.kind !== 'sliced') throw new RangeError('an aligned window operator cannot restore a session-window snapshot');
  return SlicedWindowOperator.restore({ ...options, assigner }, snapshot);
}
