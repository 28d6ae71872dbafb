import { describe, expect, it } from 'vitest';
import { draw, exponential, gpd, uniforms } from './evt-test-support.js';
import { brent, fitGpd, gpdLogLikelihood, gpdTailQuantile } from './gpd.js';

/** The test's own GPD log-likelihood (location 0), −∞ outside the support. */
function logLikelihood(y: readonly number[], gamma: number, sigma: number): number {
  if (sigma <= 0) return -Infinity;
  let total = -y.length * Math.log(sigma);
  for (const v of y) {
    if (gamma === 0) total -= v / sigma;
    else {
      const s = 1 + (gamma * v) / sigma;
      if (s <= 0) return -Infinity;
      total -= (1 + 1 / gamma) * Math.log(s);
    }
  }
  return total;
}

/**
 * An independent search for the likelihood's maxima: for x = γ/σ on a dense grid over (−1/max, 0) and (0, 10/mean), the
 * likelihood at the σ that maximises it for that x (γ = mean(log(1 + xY)), Grimshaw's profile); returns the best interior
 * local maximum, or the exponential's likelihood when higher. The edges are left out: as x → −1/max the likelihood
 * grows without bound (γ → −∞; Smith 1985: no maximum exists for γ ≤ −1), which no fit should follow.
 */
function bestInteriorMaximum(y: readonly number[]): number {
  const max = Math.max(...y);
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  let best = logLikelihood(y, 0, mean);
  const points = 20_000;
  for (const side of [(f: number) => (-1 / max) * (1 - f * f), (f: number) => (10 / mean) * f * f]) {
    const profile: number[] = [];
    for (let k = 1; k < points; k++) {
      const x = side(k / points);
      const gamma = y.reduce((a, v) => a + Math.log(1 + x * v), 0) / y.length;
      profile.push(logLikelihood(y, gamma, gamma / x));
    }
    for (let k = 1; k + 1 < profile.length; k++) {
      const l = profile[k] as number;
      if (l >= (profile[k - 1] as number) && l >= (profile[k + 1] as number)) best = Math.max(best, l);
    }
  }
  return best;
}

describe('fitGpd', () => {
  it('recovers the parameters of large GPD samples, from light to heavy tails', () => {
    const u = uniforms(11);
    for (const [gamma, sigma] of [[-0.4, 2], [-0.1, 1], [0, 1], [0.2, 0.5], [0.5, 3]] as const) {
      const fit = fitGpd(draw(gpd(u, gamma, sigma), 20_000));
      // the MLE's standard error is about (1 + γ)/√n ≈ 0.01 for γ; allow 4 of them
      expect(Math.abs(fit.gamma - gamma)).toBeLessThan(0.04);
      expect(Math.abs(fit.sigma / sigma - 1)).toBeLessThan(0.05);
    }
  });

  it('is at least as likely as the best maximum a dense independent search finds, and a stationary point', () => {
    const u = uniforms(12);
    for (const [gamma, n] of [[-0.8, 40], [-0.3, 100], [0, 60], [0.3, 200], [0.9, 80]] as const) {
      for (let trial = 0; trial < 3; trial++) {
        const y = draw(gpd(u, gamma, 1), n);
        const fit = fitGpd(y);
        expect(fit.logLikelihood).toBeCloseTo(logLikelihood(y, fit.gamma, fit.sigma), 8);
        // a 20,000-point grid may fall just short of a maximum, never beyond it
        expect(fit.logLikelihood).toBeGreaterThanOrEqual(bestInteriorMaximum(y) - 1e-9);
        if (fit.method === 'grimshaw') {
          // ∂L/∂σ = 0 at a Grimshaw root: Σ Y/(σ + γY) = n/(1 + γ)
          const score = y.reduce((a, v) => a + v / (fit.sigma + fit.gamma * v), 0);
          expect(score / (n / (1 + fit.gamma))).toBeCloseTo(1, 9);
        }
      }
    }
  }, 60_000);

  it('does not depend on the unit: σ scales, γ does not', () => {
    const y = draw(gpd(uniforms(13), 0.3, 1), 500);
    const fit = fitGpd(y);
    for (const scale of [1e-9, 1e-3, 1e3, 1e12]) {
      const scaled = fitGpd(y.map((v) => v * scale));
      expect(scaled.gamma).toBeCloseTo(fit.gamma, 10);
      expect(scaled.sigma / (fit.sigma * scale)).toBeCloseTo(1, 10);
      expect(scaled.method).toBe(fit.method);
    }
  });

  it('finds heavy-tail roots below 2(Ȳ − Ymin)/(Ȳ·Ymin), where the paper and the Python code start looking', () => {
    const y = draw(gpd(uniforms(14), 0.5, 1), 400);
    const fit = fitGpd(y);
    const min = Math.min(...y);
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    expect(fit.method).toBe('grimshaw');
    expect(fit.gamma).toBeGreaterThan(0.35);
    expect(fit.gamma / fit.sigma).toBeLessThan((2 * (mean - min)) / (mean * min) / 100);
    expect(fit.logLikelihood).toBeGreaterThan(logLikelihood(y, 0, mean) + 10);
  });

  it('without an interior maximum (a short, strongly bounded tail) keeps a candidate whose tail reaches past every peak', () => {
    // GPD(−0.8, 1), 40 peaks: w < 0 on all of (−1/max, 0), the likelihood only rises towards γ → −∞
    const y = draw(gpd(uniforms(12), -0.8, 1), 40);
    const fit = fitGpd(y);
    expect(fit.method).not.toBe('grimshaw');
    const max = Math.max(...y);
    expect(gpdTailQuantile(fit, 1e-4, 0.02)).toBeGreaterThan(max);
  });

  it('falls back to the exponential when the peaks have no spread', () => {
    expect(fitGpd([2.5])).toEqual({ gamma: 0, sigma: 2.5, logLikelihood: -Math.log(2.5) - 1, method: 'exponential' });
    const fit = fitGpd([1, 1, 1, 1]);
    expect([fit.gamma, fit.sigma, fit.method]).toEqual([0, 1, 'exponential']);
  });

  it('refuses no peaks and peaks that are not positive finite numbers', () => {
    expect(() => fitGpd([])).toThrow(RangeError);
    for (const bad of [0, -1, Number.NaN, Infinity]) expect(() => fitGpd([1, bad])).toThrow(RangeError);
  });

  it('is deterministic: the same peaks give the same bits', () => {
    const y = draw(exponential(uniforms(15)), 300);
    expect(fitGpd(y)).toEqual(fitGpd([...y]));
  });
});

describe('gpdLogLikelihood', () => {
  it('matches the test formula and is −∞ outside the support', () => {
    const y = [0.1, 0.5, 2];
    for (const [gamma, sigma] of [[0, 1], [0.4, 0.7], [-0.2, 1]] as const) expect(gpdLogLikelihood(y, gamma, sigma)).toBeCloseTo(logLikelihood(y, gamma, sigma), 12);
    expect(gpdLogLikelihood(y, -0.5, 0.9)).toBe(-Infinity);
    expect(gpdLogLikelihood(y, 0.1, 0)).toBe(-Infinity);
  });
});

describe('gpdTailQuantile', () => {
  it('is the excess whose overall exceedance probability is q', () => {
    const rate = 0.02;
    for (const [gamma, sigma] of [[-0.3, 1], [0, 2], [0.4, 0.5], [1e-12, 1]] as const) {
      for (const q of [1e-3, 1e-4, 1e-6]) {
        const y = gpdTailQuantile({ gamma, sigma }, q, rate);
        const survival = gamma === 0 ? Math.exp(-y / sigma) : Math.exp(-Math.log1p((gamma * y) / sigma) / gamma);
        expect((rate * survival) / q).toBeCloseTo(1, 9);
      }
    }
  });

  it('is continuous at γ = 0 and decreasing in q', () => {
    expect(gpdTailQuantile({ gamma: 1e-14, sigma: 1 }, 1e-4, 0.02)).toBeCloseTo(gpdTailQuantile({ gamma: 0, sigma: 1 }, 1e-4, 0.02), 10);
    let previous = Infinity;
    for (const q of [1e-7, 1e-5, 1e-3, 1e-2]) {
      const y = gpdTailQuantile({ gamma: 0.2, sigma: 1 }, q, 0.02);
      expect(y).toBeLessThan(previous);
      previous = y;
    }
  });
});

describe('brent', () => {
  it('finds roots to machine precision and refuses a bracket without a sign change', () => {
    expect(brent((x) => Math.cos(x) - x, 0, 1)).toBeCloseTo(0.7390851332151607, 14);
    expect(brent((x) => x * x * x - 2 * x - 5, 2, 3)).toBeCloseTo(2.0945514815423265, 14);
    expect(brent((x) => x - 1e-9, -1, 1)).toBeCloseTo(1e-9, 14);
    expect(() => brent((x) => x * x + 1, -1, 1)).toThrow(RangeError);
  });
});
