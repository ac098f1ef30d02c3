// Small streaming sketches for column profiles: each takes one value at a time in bounded memory.

/** murmur3's finalizer: every input bit reaches every output bit. */
function fmix32(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/**
 * A short value held as three int32 words and its length (see the profiler), hashed for tables: a
 * multiply per word (odd constants, so a word alone never collides), their high bits folded down.
 * Cheap, as it runs for every cell; the distinct counter mixes it further.
 */
export function hashWords(w0: number, w1: number, w2: number, length: number): number {
  const hash = Math.imul(w0, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca77) ^ Math.imul(w2, 0xc2b2ae3d) ^ length;
  return hash ^ (hash >>> 15);
}

/** 32-bit FNV-1a over bytes `start`…`end` of `bytes`: a fast, well-spread hash (not for security). */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return fmix32(hash);
}

/** HyperLogLog (Flajolet et al.) with 2^12 registers: distinct counts to about ±1.6 %, in 4 KB. */
export class DistinctCounter {
  private static readonly bits = 12;
  private readonly registers = new Uint8Array(1 << DistinctCounter.bits);

  /** Adds a value by a 32-bit hash of it (hashBytes, hashWords), mixed again here so that every bit counts. */
  addHash(hash: number) {
    hash = fmix32(hash);
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

/**
 * A uniform random sample of fixed size: quantiles of any stream, from `size` values. Li's
 * Algorithm L: once full, it draws how many values to skip rather than a random number per value.
 */
export class Reservoir {
  private readonly values: number[] = [];
  private skip = 0;
  private w = 1;
  constructor(private readonly size = 2_048) {}

  /** Adds `value`, `times` times over (as that many values in a row). */
  add(value: number, times = 1) {
    while (times > 0) {
      if (this.values.length < this.size) {
        this.values.push(value);
        times--;
        if (this.values.length === this.size) this.draw();
      } else if (this.skip >= times) {
        this.skip -= times;
        return;
      } else {
        // The value after the skipped ones takes a random place.
        times -= this.skip + 1;
        this.values[Math.floor(Math.random() * this.size)] = value;
        this.draw();
      }
    }
  }

  private draw() {
    this.w *= Math.exp(Math.log(Math.random()) / this.size);
    this.skip = Math.floor(Math.log(Math.random()) / Math.log(1 - this.w));
  }

  quantiles(points: number[]): Record<string, number> | null {
    if (this.values.length === 0) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    return Object.fromEntries(points.map((p) => [`p${Math.round(p * 100)}`, sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!]));
  }
}

/** What TopValues keeps per value: its count, and whatever else its user wants to remember of it. */
export interface Counted {
  count: number;
}

/**
 * The most frequent values, with bounded memory: counts are exact until `capacity` distinct values,
 * then the least frequent half is dropped (amortized: one sort per `capacity / 2` new values).
 * Values that survive are counted exactly from when they were last admitted, so frequent values
 * (what a profile shows) keep counts within a small margin. Values are held under a key (the value
 * itself, or its hash), and each entry can carry more: the profiler keeps what it learned of the
 * value, so a value seen again costs one lookup.
 */
export class TopValues<Key = string, Entry extends Counted = Counted> {
  private entries = new Map<Key, Entry>();
  private evictions = 0;
  /** Set once values are nearly all distinct (an id, a timestamp): no value is frequent, so stop counting. */
  unique = false;
  /**
   * `onOverflow` is called once, with every entry held so far, when they stop fitting (until then
   * the count is exact); `onDrop` just before entries are dropped, all still held (a cache of entries is stale after).
   */
  constructor(
    private readonly capacity = 2_048,
    private readonly onOverflow?: (entries: Iterable<[Key, Entry]>) => void,
    private readonly onDrop?: () => void,
  ) {}

  /** How many distinct values have been seen, while that is still known exactly. */
  get size() {
    return this.entries.size;
  }

  /** The entry held under `key` (not counted: the caller counts it once it knows the value is the same). */
  get(key: Key): Entry | undefined {
    return this.entries.get(key);
  }

  /** Holds a value not held yet, with `entry.count` 1, dropping the least frequent half to make room. */
  admit(key: Key, entry: Entry) {
    if (this.unique) return;
    if (this.entries.size >= this.capacity) {
      if (this.evictions === 0) this.onOverflow?.(this.entries);
      const sorted = [...this.entries].sort((a, b) => b[1].count - a[1].count);
      this.onDrop?.();
      // After a few rounds with no value seen twice in the kept half, the column is (nearly) all distinct.
      if (++this.evictions >= 4 && (sorted[0]?.[1].count ?? 0) <= 2) {
        this.unique = true;
        this.entries = new Map(sorted.slice(0, 10));
        return;
      }
      this.entries = new Map(sorted.slice(0, this.capacity / 2));
    }
    this.entries.set(key, entry);
  }

  /** Every entry held. */
  all(): Iterable<[Key, Entry]> {
    return this.entries;
  }

  /** Counts a value whose key is the value itself. */
  add(key: Key) {
    if (this.unique) return;
    const entry = this.entries.get(key);
    if (entry !== undefined) entry.count++;
    else this.admit(key, { count: 1 } as Entry);
  }

  /** The `n` most frequent values held, with their entries. */
  top(n = 10): { key: Key; entry: Entry }[] {
    return [...this.entries]
      .sort((a, b) => b[1].count - a[1].count)
      .slice(0, n)
      .map(([key, entry]) => ({ key, entry }));
  }
}

/** Mean and standard deviation in one pass (Welford), without the cancellation of sum-of-squares. */
export class Moments {
  count = 0;
  private mean = 0;
  private m2 = 0;

  /** Adds `value`, `times` times over: Chan et al.'s merge of a group of equal values (Welford's step when once). */
  add(value: number, times = 1) {
    const count = this.count + times;
    const delta = value - this.mean;
    const share = times / count;
    this.mean += delta * share;
    this.m2 += delta * delta * this.count * share;
    this.count = count;
  }

  result(): { mean: number; stddev: number } | null {
    if (this.count === 0) return null;
    return { mean: this.mean, stddev: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0 };
  }
}
