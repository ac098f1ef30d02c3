// Small streaming sketches for column profiles: each takes one value at a time in bounded memory, and each can write its
// state out and take it back (a big file is profiled in segments, one queue message each: see Profiler.snapshot).
import { float64sFromBase64, float64sToBase64, fromBase64, fromNum, type Num, num, toBase64 } from "./snapshot.ts";

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

/** Ertl's σ(x) = x + Σ x^(2^k)·2^(k−1): the share of empty registers' term. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z !== previous);
  return z;
}

/** Ertl's τ(x) = (1 − x − Σ (1 − x^(2^−k))²·2^−k) / 3: the share of saturated registers' term. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (z !== previous);
  return z / 3;
}

/**
 * HyperLogLog (Flajolet et al.) with 2^bits registers, read with Ertl's improved estimator ("New
 * cardinality estimation algorithms for HyperLogLog sketches", 2017), which has no bias to correct
 * between the small and the large range (the classic raw estimate with linear counting is off by
 * about 1 % there, on top of its spread). Standard error 1.04 / √(2^bits): ±0.8 % at 14 bits (16 KB).
 */
export class DistinctCounter {
  private readonly registers: Uint8Array;

  constructor(private readonly bits = 14) {
    this.registers = new Uint8Array(1 << bits);
  }

  /** Adds a value by a 32-bit hash of it (hashBytes, hashWords), mixed again here so that every bit counts. */
  addHash(hash: number) {
    hash = fmix32(hash);
    const index = hash >>> (32 - this.bits);
    const rest = (hash << this.bits) | (1 << (this.bits - 1));
    const rank = Math.clz32(rest) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }

  snapshot(): string {
    return toBase64(this.registers);
  }

  restore(registers: string) {
    this.registers.set(fromBase64(registers));
  }

  estimate(): number {
    const m = this.registers.length;
    const q = 32 - this.bits;
    // Registers by value: 0 (empty) to q + 1 (saturated).
    const counts = new Array<number>(q + 2).fill(0);
    for (const register of this.registers) counts[register]!++;
    let z = m * tau(1 - counts[q + 1]! / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + counts[k]!);
    z += m * sigma(counts[0]! / m);
    return Math.round((m * m) / (2 * Math.LN2 * z));
  }
}

const RESERVOIR_SEED = 0x2545f491;

export interface ReservoirSnapshot {
  values: string;
  skip: Num;
  w: Num;
  seen: number;
  state: number;
}

/**
 * A uniform random sample of fixed size: quantiles of any stream, from `size` values (exact while the
 * stream has no more). Li's Algorithm L: once full, it draws how many values to skip rather than a
 * random number per value.
 */
export class Reservoir {
  private values: number[] = [];
  private skip = 0;
  private w = 1;
  /** How many values were added in all. */
  private seen = 0;
  /** mulberry32's state: seeded, so a file's quantiles are the same on every reading, and in segments as in one pass. */
  private state = RESERVOIR_SEED;
  constructor(private readonly size = 2_048) {}

  /** A uniform draw in [0, 1), as Math.random gives. */
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  snapshot(): ReservoirSnapshot {
    return { values: float64sToBase64(this.values), skip: num(this.skip), w: num(this.w), seen: this.seen, state: this.state };
  }

  restore(snapshot: ReservoirSnapshot) {
    this.values = float64sFromBase64(snapshot.values);
    this.skip = fromNum(snapshot.skip);
    this.w = fromNum(snapshot.w);
    this.seen = snapshot.seen;
    this.state = snapshot.state;
  }

  /** Whether the quantiles come from a sample (more values were added than it holds), so are estimates. */
  get sampled(): boolean {
    return this.seen > this.size;
  }

  /** Adds `value`, `times` times over (as that many values in a row). */
  add(value: number, times = 1) {
    this.seen += times;
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
        this.values[Math.floor(this.random() * this.size)] = value;
        this.draw();
      }
    }
  }

  private draw() {
    this.w *= Math.exp(Math.log(this.random()) / this.size);
    this.skip = Math.floor(Math.log(this.random()) / Math.log(1 - this.w));
  }

  /** `p…` for each point, by linear interpolation between the held values' order statistics (as DuckDB's quantile_cont). */
  quantiles(points: readonly number[]): Record<string, number> | null {
    if (this.values.length === 0) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    return Object.fromEntries(points.map((p) => [`p${Math.round(p * 100)}`, interpolatedQuantile(sorted, p)]));
  }
}

/** The p-quantile of ascending `sorted`: lo + f·(hi − lo) between the order statistics around (n − 1)·p (R's type 7). */
export function interpolatedQuantile(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const f = h - lo;
  const low = sorted[lo]!;
  if (f === 0) return low;
  const high = sorted[lo + 1]!;
  const spread = high - low;
  // The weighted sum where the difference of huge values of opposite sign would overflow.
  return Number.isFinite(spread) ? low + f * spread : low * (1 - f) + high * f;
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

  /** Every entry in the order held (which breaks ties in the sorts), with what else it takes to go on alike. */
  snapshot<T>(encode: (key: Key, entry: Entry) => T): { entries: T[]; evictions: number; unique: boolean } {
    return { entries: [...this.entries].map(([key, entry]) => encode(key, entry)), evictions: this.evictions, unique: this.unique };
  }

  restore(entries: Iterable<[Key, Entry]>, evictions: number, unique: boolean) {
    this.entries = new Map(entries);
    this.evictions = evictions;
    this.unique = unique;
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

  snapshot(): [number, Num, Num] {
    return [this.count, num(this.mean), num(this.m2)];
  }

  restore([count, mean, m2]: [number, Num, Num]) {
    this.count = count;
    this.mean = fromNum(mean);
    this.m2 = fromNum(m2);
  }

  result(): { mean: number; stddev: number } | null {
    if (this.count === 0) return null;
    return { mean: this.mean, stddev: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0 };
  }
}
