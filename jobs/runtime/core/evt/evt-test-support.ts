/** Deterministic samples for the EVT tests: mulberry32 uniforms and inverse-CDF draws. */

/** Uniform in (0, 1), never 0 or 1. */
export function uniforms(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

export function exponential(u: () => number, scale = 1): () => number {
  return () => -scale * Math.log(u());
}

/** GPD(γ, σ) by inversion: σ/γ·(U^(−γ) − 1). */
export function gpd(u: () => number, gamma: number, sigma: number): () => number {
  return () => (gamma === 0 ? -sigma * Math.log(u()) : (sigma / gamma) * (Math.pow(u(), -gamma) - 1));
}

/** Standard normal by Box–Muller (one of the pair). */
export function normal(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export function draw(sample: () => number, n: number): number[] {
  return Array.from({ length: n }, sample);
}
