/**
 * SPOT (Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017): an alert threshold z_q
 * exceeded with probability q, learned from the data. A calibration batch fixes an initial threshold t at a high
 * quantile; the excesses over t (peaks) are fitted by a GPD (gpd.ts) and give z_q; the stream keeps refitting on new
 * peaks. Pure: values in, verdicts out, the state a JSON snapshot.
 *
 * Choices against the references (the authors' Python spot.py and libspot v2), where they differ:
 * - t is the exact empirical quantile sorted[floor(level·n)] (Python; libspot estimates it with P²).
 * - A peak is a value > t (paper, Python; libspot takes ≥ t). An alarm (> z_q) is neither a peak nor counted in n.
 * - The γ = 0 candidate is scored with its true log-likelihood −N(1 + log Ȳ) (the Python code scores +N(1 + log Ȳ)),
 *   and the variance of the moments candidate is the peaks' true variance (libspot's refresh after an eviction keeps
 *   only the last square).
 * - Peaks are bounded (libspot's max_excess): the oldest is dropped beyond `maxPeaks`; n and the excess count Nt keep
 *   counting everything, so Nt/n stays the observed excess rate while the GPD follows the recent peaks.
 * - Ties (discrete data such as counts): if no calibration value exceeds the quantile, t is the largest value below it;
 *   a batch of equal values has no tail, so calibration waits, on the last n values, for a second distinct value.
 * - z_q ≥ t: when the excess rate Nt/n falls to q or below, the GPD quantile would be below t; t is the threshold then.
 *
 * What that costs, measured (spot.test.ts): keeping alarms out of the peaks cuts the fitted tail near z_q − t, so the
 * fit comes out lighter than the truth and z_q drifts low: 2–5 × q false alarms on Exp(1) and Gaussian streams (6–9 ×
 * with libspot's 200 peaks). And the calibration batch must be normal: anomalies in it are learned as the tail.
 */
import { type GpdFit, fitGpd, gpdTailQuantile } from './gpd.js';

export interface SpotOptions {
  /** Risk: the probability of a normal value exceeding the alert threshold. Default 1e-4. */
  readonly q?: number;
  /** Quantile of the calibration batch taken as the initial threshold t. Default 0.98. */
  readonly level?: number;
  /** Values in the calibration batch (n_init). Default 1000. */
  readonly calibrationSize?: number;
  /** Peaks kept for the fit, newest first (libspot's max_excess). Default 1000. */
  readonly maxPeaks?: number;
}

export interface SpotSettings {
  readonly q: number;
  readonly level: number;
  readonly calibrationSize: number;
  readonly maxPeaks: number;
}

/** What a value was found to be, and the threshold it was compared with. */
export type SpotVerdict =
  | { readonly kind: 'calibrating' }
  /** The value completed the calibration batch: thresholds exist from the next value on. */
  | { readonly kind: 'calibrated'; readonly initialThreshold: number; readonly threshold: number }
  /** Above the alert threshold: not learned from. */
  | { readonly kind: 'alarm'; readonly threshold: number }
  /** Above t only: a new peak, the threshold refitted. */
  | { readonly kind: 'peak'; readonly threshold: number }
  | { readonly kind: 'normal'; readonly threshold: number };

export interface SpotModel {
  /** t */
  readonly initialThreshold: number;
  /** z_q */
  readonly threshold: number;
  readonly fit: GpdFit;
  /** Values learned from (calibration included, alarms not). */
  readonly n: number;
  /** Of which above t (Nt). */
  readonly excesses: number;
}

export interface SpotSnapshot {
  readonly settings: SpotSettings;
  /** Values of the batch while calibrating, in arrival order; null once calibrated. */
  readonly calibration: readonly number[] | null;
  readonly initialThreshold: number | null;
  /** z_q as last computed: on a peak (as in the references), not on every value, though n changes. */
  readonly threshold: number | null;
  readonly n: number;
  readonly excesses: number;
  /** Excesses over t kept for the fit, oldest first. */
  readonly peaks: readonly number[];
}

export function spotSettings(options: SpotOptions = {}): SpotSettings {
  const { q = 1e-4, level = 0.98, calibrationSize = 1000, maxPeaks = 1000 } = options;
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  // libspot spot_init: q must lie in (0, 1 − level), else z_q would fall below t
  if (!(q > 0 && q < 1 - level)) throw new RangeError(`q must be in (0, 1 − level) = (0, ${1 - level}), got ${q}`);
  if (!Number.isSafeInteger(calibrationSize) || calibrationSize * (1 - level) < 1) {
    throw new RangeError(`calibration size must be an integer with at least one value above the ${level} quantile, got ${calibrationSize}`);
  }
  if (!Number.isSafeInteger(maxPeaks) || maxPeaks < 1) throw new RangeError(`max peaks must be a positive integer, got ${maxPeaks}`);
  return { q, level, calibrationSize, maxPeaks };
}

export class Spot {
  static restore(snapshot: SpotSnapshot): Spot {
    const spot = new Spot(snapshot.settings);
    if (snapshot.calibration !== null) {
      spot.calibration = [...snapshot.calibration];
      return spot;
    }
    const { initialThreshold, threshold, n, excesses, peaks } = snapshot;
    if (initialThreshold === null || threshold === null || !(threshold >= initialThreshold) || peaks.length === 0 || peaks.length > spot.settings.maxPeaks || !Number.isSafeInteger(n) || !Number.isSafeInteger(excesses) || excesses < peaks.length || excesses > n) {
      throw new RangeError('not a calibrated SPOT snapshot: t, z_q ≥ t, 1..maxPeaks peaks, and Nt ≤ n counting them are required');
    }
    spot.calibration = null;
    spot.t = initialThreshold;
    spot.n = n;
    spot.nt = excesses;
    spot.peaks = [...peaks];
    spot.fit = fitGpd(spot.peaks);
    spot.threshold = threshold;
    return spot;
  }

  readonly settings: SpotSettings;
  private calibration: number[] | null = [];
  private t = 0;
  private n = 0;
  private nt = 0;
  /** Oldest first, so that fits (and their rounding) are the same after a restore. */
  private peaks: number[] = [];
  private fit: GpdFit | undefined;
  private threshold = 0;

  constructor(options: SpotOptions = {}) {
    this.settings = spotSettings(options);
  }

  /** The learned model, once calibrated. */
  get current(): SpotModel | undefined {
    if (this.fit === undefined) return undefined;
    return { initialThreshold: this.t, threshold: this.threshold, fit: this.fit, n: this.n, excesses: this.nt };
  }

  step(x: number): SpotVerdict {
    if (!Number.isFinite(x)) throw new RangeError(`SPOT values must be finite numbers, got ${x}`);
    if (this.calibration !== null) return this.calibrate(x, this.calibration);
    const threshold = this.threshold;
    if (x > threshold) return { kind: 'alarm', threshold };
    this.n += 1;
    if (x <= this.t) return { kind: 'normal', threshold };
    this.nt += 1;
    this.peaks.push(x - this.t);
    if (this.peaks.length > this.settings.maxPeaks) this.peaks.shift();
    this.refit();
    return { kind: 'peak', threshold };
  }

  snapshot(): SpotSnapshot {
    return {
      settings: this.settings,
      calibration: this.calibration === null ? null : [...this.calibration],
      initialThreshold: this.calibration === null ? this.t : null,
      threshold: this.calibration === null ? this.threshold : null,
      n: this.n,
      excesses: this.nt,
      peaks: [...this.peaks],
    };
  }

  private calibrate(x: number, batch: number[]): SpotVerdict {
    batch.push(x);
    const { calibrationSize, level, maxPeaks } = this.settings;
    if (batch.length < calibrationSize) return { kind: 'calibrating' };
    if (batch.length > calibrationSize) batch.shift();
    const sorted = Float64Array.from(batch).sort();
    // Python spot.py: S[int(level * n_init)]
    let t = sorted[Math.floor(level * calibrationSize)] as number;
    if (t === sorted[sorted.length - 1]) {
      const below = lastBelow(sorted, t);
      if (below === undefined) return { kind: 'calibrating' };
      t = below;
    }
    const peaks: number[] = [];
    for (const value of batch) if (value > t) peaks.push(value - t);
    this.calibration = null;
    this.t = t;
    this.n = calibrationSize;
    this.nt = peaks.length;
    this.peaks = peaks.length > maxPeaks ? peaks.slice(peaks.length - maxPeaks) : peaks;
    this.refit();
    return { kind: 'calibrated', initialThreshold: t, threshold: this.threshold };
  }

  private refit(): void {
    this.fit = fitGpd(this.peaks);
    this.threshold = Math.max(this.t, this.t + gpdTailQuantile(this.fit, this.settings.q, this.nt / this.n));
  }
}

/** The largest value of `sorted` (ascending) below `value`. */
function lastBelow(sorted: Float64Array, value: number): number | undefined {
  for (let i = sorted.length - 1; i >= 0; i--) if ((sorted[i] as number) < value) return sorted[i];
  return undefined;
}
