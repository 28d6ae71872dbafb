/**
 * DSPOT (Siffer et al., KDD 2017, drift): SPOT on the deviation of each value from the mean of the last `depth`
 * non-alarm values, so the threshold follows a slow drift while a burst stands out. The alert threshold of a value is
 * z_q + mean(W), W the window before it; an alarm does not enter W.
 *
 * As in the authors' Python dSPOT, calibration covers `calibrationSize` values: the first `depth` fill W, each later one
 * gives a deviation x − mean(W) for the SPOT calibration batch (calibrationSize − depth of them) and then enters W.
 * Unlike it, `level` is honoured (the Python code fixes 0.98 in dSPOT.initialize).
 */
import { Spot, type SpotModel, type SpotOptions, type SpotSnapshot } from './spot.js';

export interface DspotOptions extends SpotOptions {
  /** Values in the moving average (d). Default 10. */
  readonly depth?: number;
}

export type DspotVerdict =
  | { readonly kind: 'calibrating' }
  /** `threshold` = z_q + mean(W) for the value's W; for `calibrated`, the first z_q over that W. */
  | { readonly kind: 'calibrated' | 'alarm' | 'peak' | 'normal'; readonly threshold: number; readonly movingAverage: number };

export interface DspotModel {
  /** mean(W) now: the next value is compared with `threshold` = deviation.threshold + movingAverage. */
  readonly movingAverage: number;
  readonly threshold: number;
  /** The SPOT model of the deviations. */
  readonly deviation: SpotModel;
}

export interface DspotSnapshot {
  readonly depth: number;
  /** W, oldest first. */
  readonly window: readonly number[];
  readonly spot: SpotSnapshot;
}

export class Dspot {
  static restore(snapshot: DspotSnapshot): Dspot {
    const { settings } = snapshot.spot;
    const dspot = new Dspot({ ...settings, calibrationSize: settings.calibrationSize + snapshot.depth, depth: snapshot.depth });
    if (snapshot.window.length > snapshot.depth || (snapshot.window.length < snapshot.depth && snapshot.spot.calibration?.length !== 0)) {
      throw new RangeError(`a DSPOT snapshot holds ${snapshot.window.length} values in a window of ${snapshot.depth} with deviations learned`);
    }
    dspot.window = [...snapshot.window];
    dspot.spot = Spot.restore(snapshot.spot);
    return dspot;
  }

  readonly depth: number;
  private spot: Spot;
  private window: number[] = [];

  constructor(options: DspotOptions = {}) {
    const { depth = 10, calibrationSize = 1000, ...spot } = options;
    if (!Number.isSafeInteger(depth) || depth < 1) throw new RangeError(`depth must be a positive integer, got ${depth}`);
    if (!Number.isSafeInteger(calibrationSize) || calibrationSize <= depth) throw new RangeError(`calibration size ${calibrationSize} must exceed the depth ${depth}`);
    this.depth = depth;
    this.spot = new Spot({ ...spot, calibrationSize: calibrationSize - depth });
  }

  get current(): DspotModel | undefined {
    const deviation = this.spot.current;
    if (deviation === undefined) return undefined;
    const movingAverage = this.movingAverage();
    return { movingAverage, threshold: deviation.threshold + movingAverage, deviation };
  }

  step(x: number): DspotVerdict {
    if (!Number.isFinite(x)) throw new RangeError(`DSPOT values must be finite numbers, got ${x}`);
    if (this.window.length < this.depth) {
      this.window.push(x);
      return { kind: 'calibrating' };
    }
    const movingAverage = this.movingAverage();
    const verdict = this.spot.step(x - movingAverage);
    if (verdict.kind !== 'alarm') {
      this.window.shift();
      this.window.push(x);
    }
    if (verdict.kind === 'calibrating') return verdict;
    return { kind: verdict.kind, threshold: verdict.threshold + movingAverage, movingAverage };
  }

  snapshot(): DspotSnapshot {
    return { depth: this.depth, window: [...this.window], spot: this.spot.snapshot() };
  }

  /** Summed oldest first, so that a restored window gives the same bits. */
  private movingAverage(): number {
    let sum = 0;
    for (const value of this.window) sum += value;
    return sum / this.window.length;
  }
}
