/**
 * Seeded randomness for the traffic model: sfc32 (Chris Doty-Humphrey's small fast counting
 * generator, 128-bit state, passes PractRand and BigCrush) seeded through splitmix32. Every
 * subsystem draws from its own named stream, so a change in one (say, more bots) does not reshuffle
 * the others. Nothing here reads a clock or Math.random.
 */

/** 32-bit hash of a 32-bit value (murmur3's finaliser). */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over a string's UTF-16 units, finalised with mix32: stable across processes and versions. */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** A hash of several non-negative integers (ids, seeds): deterministic device ids, IPs, tags. */
export function hashInts(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    // Values above 2^32 (ids, epoch ms) contribute both halves.
    h = mix32(h ^ (v >>> 0)) ^ mix32(Math.floor(v / 0x1_0000_0000) + 0x632be5ab);
  }
  return mix32(h);
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream named `name` of the model seeded with `seed`. */
  static stream(seed: number, name: string): Random {
    return new Random(hashInts(seed, hashString(name)));
  }

  constructor(seed: number) {
    // splitmix32 spreads one 32-bit seed over the 128-bit state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [min, max], both included. */
  intBetween(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** Uniform real in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Exponential with the given mean (gaps of a Poisson process). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Standard normal (Box–Muller, one value per call). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Log-normal with the given median and log-space standard deviation. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Number of failures before the first success of probability p: 0, 1, 2, … (mean (1 − p) / p). */
  geometric(p: number): number {
    return Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
  }

  /** Index i drawn with probability dist[i] (a short distribution that sums to 1). */
  index(dist: readonly number[]): number {
    let r = this.next();
    for (let i = 0; i < dist.length; i++) {
      r -= dist[i] as number;
      if (r < 0) return i;
    }
    return dist.length - 1;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }
}

/**
 * Draws index i with probability weights[i] / Σ weights in O(1) (Vose's alias method), for the
 * skewed choices the model makes millions of times: areas, ads, products, users.
 */
export class WeightedChoice {
  private readonly probability: Float64Array;
  private readonly alias: Uint32Array;
  readonly size: number;

  constructor(weights: readonly number[]) {
    const n = weights.length;
    if (n === 0) throw new Error('weighted choice over no items');
    const total = weights.reduce((s, w) => s + w, 0);
    if (!(total > 0) || weights.some((w) => !(w >= 0) || !Number.isFinite(w))) throw new Error('weights must be finite, non-negative and not all zero');
    this.size = n;
    this.probability = new Float64Array(n);
    this.alias = new Uint32Array(n);
    const scaled = weights.map((w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop() as number;
      const l = large.pop() as number;
      this.probability[s] = scaled[s] as number;
      this.alias[s] = l;
      scaled[l] = (scaled[l] as number) + (scaled[s] as number) - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    // Left-overs are 1 up to rounding.
    for (const i of [...small, ...large]) this.probability[i] = 1;
  }

  sample(random: Random): number {
    const i = random.int(this.size);
    return random.next() < (this.probability[i] as number) ? i : (this.alias[i] as number);
  }
}

/** Zipf weights 1/k^s for ranks k = 1..n: a few ads, products and cities take most of the traffic. */
export function zipfWeights(n: number, s: number): number[] {
  return Array.from({ length: n }, (_, k) => 1 / (k + 1) ** s);
}
