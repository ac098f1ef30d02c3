// Small streaming sketches for column profiles: each takes one value at a time in bounded memory.

/** 32-bit FNV-1a: a fast, well-spread hash for the distinct-count sketch (not for security). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // A final avalanche, so that similar strings land in unrelated registers.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}

/** HyperLogLog (Flajolet et al.) with 2^12 registers: distinct counts to about ±1.6 %, in 4 KB. */
export class DistinctCounter {
  private static readonly bits = 12;
  private readonly registers = new Uint8Array(1 << DistinctCounter.bits);

  add(value: string) {
    const hash = fnv1a(value);
    const index = hash >>> (32 - DistinctCounter.bits);
    const rest = (hash << DistinctCounter.bits) | (1 << (DistinctCounter.bits - 1));
    const rank = Math.clz32(rest) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }

  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (const register of this.registers) {
      sum += 2 ** -register;
      if (register === 0) zeros++;
    }
    const raw = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
    // Small cardinalities: linear counting is exact enough and far better than the raw estimate.
    return Math.round(raw <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : raw);
  }
}

/** A uniform random sample of fixed size (Vitter's algorithm R): quantiles of any stream, from `size` values. */
export class Reservoir {
  private readonly values: number[] = [];
  private seen = 0;
  constructor(private readonly size = 2_048) {}

  add(value: number) {
    this.seen++;
    if (this.values.length < this.size) this.values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.size) this.values[slot] = value;
    }
  }

  quantiles(points: number[]): Record<string, number> | null {
    if (this.values.length === 0) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    return Object.fromEntries(points.map((p) => [`p${Math.round(p * 100)}`, sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!]));
  }
}

/**
 * The most frequent values, with bounded memory: counts are exact until `capacity` distinct values,
 * then the least frequent half is dropped (amortized: one sort per `capacity / 2` new values).
 * Values that survive are counted exactly from when they were last admitted, so frequent values
 * (what a profile shows) keep counts within a small margin.
 */
export class TopValues {
  private counts = new Map<string, number>();
  private seen = 0;
  private evictions = 0;
  /** Set once values are nearly all distinct (an id, a timestamp): no value is frequent, so stop counting. */
  unique = false;
  /** Called once, with every value seen so far, when they stop fitting: until then the count is exact. */
  constructor(
    private readonly capacity = 2_048,
    private readonly onOverflow?: (values: Iterable<string>) => void,
  ) {}

  /** How many distinct values have been seen, while that is still known exactly. */
  get size() {
    return this.counts.size;
  }

  add(value: string) {
    if (this.unique) return;
    this.seen++;
    const current = this.counts.get(value);
    if (current !== undefined) {
      this.counts.set(value, current + 1);
      return;
    }
    if (this.counts.size >= this.capacity) {
      if (this.evictions === 0) this.onOverflow?.(this.counts.keys());
      const sorted = [...this.counts].sort((a, b) => b[1] - a[1]);
      // After a few rounds with no value seen twice in the kept half, the column is (nearly) all distinct.
      if (++this.evictions >= 4 && (sorted[0]?.[1] ?? 0) <= 2) {
        this.unique = true;
        this.counts = new Map(sorted.slice(0, 10));
        return;
      }
      this.counts = new Map(sorted.slice(0, this.capacity / 2));
    }
    this.counts.set(value, 1);
  }

  /** Hands every value still held to `sink` (for a sketch that starts late). */
  flushTo(sink: (value: string) => void) {
    for (const value of this.counts.keys()) sink(value);
  }

  top(n = 10): { value: string; count: number }[] {
    return [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([value, count]) => ({ value, count }));
  }
}

/** Mean and standard deviation in one pass (Welford), without the cancellation of sum-of-squares. */
export class Moments {
  count = 0;
  private mean = 0;
  private m2 = 0;

  add(value: number) {
    this.count++;
    const delta = value - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (value - this.mean);
  }

  result(): { mean: number; stddev: number } | null {
    if (this.count === 0) return null;
    return { mean: this.mean, stddev: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0 };
  }
}
