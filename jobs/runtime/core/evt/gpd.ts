/**
 * Fitting a generalized Pareto distribution (GPD, location 0) to peaks over a threshold, by maximum likelihood with
 * Grimshaw's trick (Grimshaw 1993, as used by SPOT, Siffer et al. KDD 2017), and the tail quantile it gives.
 *
 * GPD(γ, σ): P(Y > y) = (1 + γy/σ)^(−1/γ), or exp(−y/σ) for γ = 0. Grimshaw reduces the two-parameter likelihood to one
 * variable x = γ/σ: the stationary points are the roots of w(x) = u(x)·v(x) − 1 with u(x) = 1 + mean(log(1 + xY)) and
 * v(x) = mean(1 / (1 + xY)), and a root gives γ = u(x) − 1, σ = γ/x. Deterministic: a fixed grid, Brent's method.
 */

export type GpdMethod = 'exponential' | 'grimshaw' | 'moments';

export interface GpdFit {
  readonly gamma: number;
  readonly sigma: number;
  /** Log-likelihood of the peaks under this fit. */
  readonly logLikelihood: number;
  /** The candidate kept: γ = 0 with σ = mean; a root of Grimshaw's w; or the method-of-moments estimate. */
  readonly method: GpdMethod;
}

/** Grid points end this close (relative to the bracket, after scaling the peaks to max 1) to 0 and to −1/Ymax. */
const BRACKET_EPSILON = 1e-8;
/** Grid points per decade of distance from a bracket end: a sign change of w between neighbours brackets a root. */
const POINTS_PER_DECADE = 3;
const BRENT_TOLERANCE = 1e-14;
const BRENT_MAX_ITERATIONS = 200;

/**
 * The most likely GPD fit to `peaks` (all > 0, at least one) among: γ = 0 (exponential, σ = mean), every root of w found
 * on (−1/Ymax, 0) and (0, 2(Ȳ − Ymin)/Ymin²), and the method-of-moments estimate (as libspot also tries). Ties keep the
 * earlier candidate in that order. The peaks are scaled by their maximum first, so that the result does not depend on
 * their unit (σ scales back, γ and the choice are unchanged).
 */
export function fitGpd(peaks: ArrayLike<number>): GpdFit {
  const n = peaks.length;
  if (n === 0) throw new RangeError('a GPD fit needs at least one peak');
  let max = 0;
  let min = Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const y = peaks[i] as number;
    if (!(y > 0) || !Number.isFinite(y)) throw new RangeError(`peaks must be finite and > 0, got ${y}`);
    if (y > max) max = y;
    if (y < min) min = y;
    sum += y;
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = (peaks[i] as number) / max;
  const zMean = sum / max / n;
  const zMin = min / max;

  // In the scaled peaks' units; the log-likelihoods differ from the unscaled ones by the same −n·log(max)
  let best = candidate(0, zMean, n * -(Math.log(zMean) + 1), 'exponential');
  const consider = (fit: GpdFit | undefined): void => {
    if (fit !== undefined && fit.logLikelihood > best.logLikelihood) best = fit;
  };
  for (const root of grimshawRoots(z, zMean, zMin)) consider(grimshawCandidate(z, root));
  consider(momentsCandidate(z, zMean));
  return { gamma: best.gamma, sigma: best.sigma * max, logLikelihood: best.logLikelihood - n * Math.log(max), method: best.method };
}

/**
 * The excess over the initial threshold exceeded with probability `q` overall, when a share `excessRate` of all values
 * exceeds the threshold and excesses follow GPD(γ, σ): σ/γ·((q/excessRate)^(−γ) − 1), or −σ·log(q/excessRate) for γ = 0.
 * Written with expm1 so that it is exact as γ → 0.
 */
export function gpdTailQuantile(fit: Pick<GpdFit, 'gamma' | 'sigma'>, q: number, excessRate: number): number {
  const logRatio = Math.log(q / excessRate);
  return fit.gamma === 0 ? -fit.sigma * logRatio : (fit.sigma * Math.expm1(-fit.gamma * logRatio)) / fit.gamma;
}

/** Log-likelihood of `peaks` under GPD(γ, σ); −∞ when a peak lies outside the support (γ < 0: y ≥ −σ/γ). */
export function gpdLogLikelihood(peaks: ArrayLike<number>, gamma: number, sigma: number): number {
  const n = peaks.length;
  if (!(sigma > 0)) return -Infinity;
  if (gamma === 0) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += peaks[i] as number;
    return -n * Math.log(sigma) - sum / sigma;
  }
  const tau = gamma / sigma;
  let logSum = 0;
  for (let i = 0; i < n; i++) {
    const s = tau * (peaks[i] as number);
    if (!(s > -1)) return -Infinity;
    logSum += Math.log1p(s);
  }
  return -n * Math.log(sigma) - (1 + 1 / gamma) * logSum;
}

function candidate(gamma: number, sigma: number, logLikelihood: number, method: GpdMethod): GpdFit {
  return { gamma, sigma, logLikelihood, method };
}

/** A root x of w: γ = mean(log(1 + xZ)), σ = γ/x, and then L = −n·(log σ + γ + 1) since Σ log(1 + γZ/σ) = nγ. */
function grimshawCandidate(z: Float64Array, x: number): GpdFit | undefined {
  let logSum = 0;
  for (let i = 0; i < z.length; i++) logSum += Math.log1p(x * (z[i] as number));
  const gamma = logSum / z.length;
  const sigma = gamma / x;
  if (!(sigma > 0) || !Number.isFinite(sigma)) return undefined;
  return candidate(gamma, sigma, -z.length * (Math.log(sigma) + gamma + 1), 'grimshaw');
}

/** γ = ½(1 − E²/V), σ = ½E(1 + E²/V); none when the peaks have no spread. */
function momentsCandidate(z: Float64Array, mean: number): GpdFit | undefined {
  let squares = 0;
  for (let i = 0; i < z.length; i++) {
    const d = (z[i] as number) - mean;
    squares += d * d;
  }
  const variance = squares / z.length;
  if (!(variance > 0)) return undefined;
  const ratio = (mean * mean) / variance;
  const gamma = 0.5 * (1 - ratio);
  const sigma = 0.5 * mean * (1 + ratio);
  const logLikelihood = gpdLogLikelihood(z, gamma, sigma);
  return logLikelihood > -Infinity ? candidate(gamma, sigma, logLikelihood, 'moments') : undefined;
}

/**
 * w(x) = u·v − 1 computed as A + B + A·B with A = u − 1 = mean(log(1 + xz)) and B = v − 1 = −mean(xz/(1 + xz)): both
 * are O(x) and accurate, so w (O(x²) near 0) does not drown in the rounding of u·v ≈ 1.
 */
function grimshawW(z: Float64Array, x: number): number {
  let a = 0;
  let b = 0;
  for (let i = 0; i < z.length; i++) {
    const s = x * (z[i] as number);
    a += Math.log1p(s);
    b += s / (1 + s);
  }
  a /= z.length;
  b = -b / z.length;
  return a + b + a * b;
}

/**
 * Roots of w on the two brackets where Grimshaw's stationary points lie, z scaled to max 1: (−1, 0), where 1 + xz > 0
 * for every peak, and (0, 2(z̄ − zmin)/zmin²). The paper and the authors' Python code search the right side from
 * 2(z̄ − zmin)/(z̄·zmin) only; the roots of heavy tails lie below that bound (Pareto samples with γ = 0.2–0.5 put them
 * 10–1000× below it), so this searches from near 0 as libspot does. Each bracket is sampled geometrically towards its
 * ends, and Brent's method refines every sign change between neighbours.
 */
function grimshawRoots(z: Float64Array, zMean: number, zMin: number): number[] {
  const w = (x: number): number => grimshawW(z, x);
  const roots: number[] = [];
  const halfDecades = Math.log10(0.5 / BRACKET_EPSILON);
  // Left: distances to 0 and to −1 from ε to ½, geometric
  const left: number[] = [];
  const steps = Math.ceil(halfDecades * POINTS_PER_DECADE);
  for (let k = 0; k <= steps; k++) {
    const d = BRACKET_EPSILON * Math.pow(0.5 / BRACKET_EPSILON, k / steps);
    left.push(-1 + d, -d);
  }
  left.sort((a, b) => a - b);
  findSignChanges(w, dedupe(left), roots);
  const upper = (2 * (zMean - zMin)) / (zMin * zMin);
  if (upper > BRACKET_EPSILON) {
    const right: number[] = [];
    const decades = Math.log10(upper / BRACKET_EPSILON);
    const count = Math.max(1, Math.ceil(decades * POINTS_PER_DECADE));
    for (let k = 0; k <= count; k++) right.push(BRACKET_EPSILON * Math.pow(upper / BRACKET_EPSILON, k / count));
    findSignChanges(w, right, roots);
  }
  return roots;
}

function dedupe(sorted: number[]): number[] {
  return sorted.filter((x, i) => i === 0 || x !== sorted[i - 1]);
}

function findSignChanges(f: (x: number) => number, grid: readonly number[], roots: number[]): void {
  let a = grid[0] as number;
  let fa = f(a);
  if (fa === 0) roots.push(a);
  for (let i = 1; i < grid.length; i++) {
    const b = grid[i] as number;
    const fb = f(b);
    if (fb === 0) roots.push(b);
    else if (fa !== 0 && fa < 0 !== fb < 0 && Number.isFinite(fa) && Number.isFinite(fb)) roots.push(brent(f, a, b, fa, fb));
    a = b;
    fa = fb;
  }
}

/** Brent–Dekker root search on [a, b] with f(a), f(b) of opposite signs: inverse quadratic, secant, else bisection. */
export function brent(f: (x: number) => number, a: number, b: number, fa = f(a), fb = f(b)): number {
  if (fa === 0) return a;
  if (fb === 0) return b;
  if (fa < 0 === fb < 0) throw new RangeError(`no sign change on [${a}, ${b}]`);
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let iteration = 0; iteration < BRENT_MAX_ITERATIONS; iteration++) {
    if (fb < 0 === fc < 0) {
      // keep the root between b and c
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      // b is the best estimate so far
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tolerance = 2 * Number.EPSILON * Math.abs(b) + 0.5 * BRENT_TOLERANCE;
    const half = 0.5 * (c - b);
    if (Math.abs(half) <= tolerance || fb === 0) return b;
    if (Math.abs(e) >= tolerance && Math.abs(fa) > Math.abs(fb)) {
      const s = fb / fa;
      let p: number;
      let q: number;
      if (a === c) {
        p = 2 * half * s;
        q = 1 - s;
      } else {
        const qa = fa / fc;
        const r = fb / fc;
        p = s * (2 * half * qa * (qa - r) - (b - a) * (r - 1));
        q = (qa - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * half * q - Math.abs(tolerance * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = half;
        e = d;
      }
    } else {
      d = half;
      e = d;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tolerance ? d : half > 0 ? tolerance : -tolerance;
    fb = f(b);
  }
  return b;
}
