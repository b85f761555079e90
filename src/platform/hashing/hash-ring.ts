import { murmur3_32String } from './murmur3.js';

export interface RingNode {
  id: string;
  /** Relative capacity; the node gets round(weight × vnodes) points (at least 1). Default 1. */
  weight?: number;
}

export interface HashRingOptions {
  /** Virtual nodes (points on the ring) per unit of weight. Default 150, as in the chapter. */
  vnodes?: number;
  /** murmur3 seed for keys and points. Every process routing the same keys must use the same one. */
  seed?: number;
}

interface Member {
  weight: number;
  /** Its points, point i = murmur3(`${id}#${i}`): a weight change keeps the common prefix. */
  points: Uint32Array;
}

/** Owner indices are packed under the point in one float64 sort key: point · 2^21 + owner < 2^53. */
const OWNER_SPACE = 0x20_0000;
const TWO_32 = 0x1_0000_0000;
/** A guard against a weight typo allocating gigabytes; 1,000,000 points is far past useful. */
const MAX_POINTS_PER_NODE = 1_000_000;

/**
 * A consistent-hash ring with virtual nodes and weights (chapter §3.2, §5.2): a key belongs to
 * the first point clockwise from its hash, so adding a node takes over only the arcs in front
 * of its own points (about 1/(N+1) of the keys) and removing one hands its arcs to the next
 * points; no other key moves.
 *
 * Unlike the chapter's sketch (defect 4 in DESIGN.md), points live in a Uint32Array with a
 * parallel owner-index array and a lookup is one murmur3 hash plus a binary search: no MD5, no
 * objects per point, no list insertion; a radix index on the top bits of the hash narrows the
 * binary search to about one point. Membership changes are lazy: add/remove/setWeight only
 * mark the ring dirty and the next lookup rebuilds it in O(P log P) for P = Σ points (a sort of
 * packed float64 keys), so a batch of changes costs one rebuild.
 *
 * Placement depends only on the set of (id, weight) pairs and the seed, never on insertion
 * order: two points that collide are ordered by node id. That is what lets every api process
 * (and the resharding tool) compute the same shard for a key without talking to each other.
 */
export class HashRing {
  private readonly members = new Map<string, Member>();
  private readonly vnodes: number;
  private readonly seed: number;
  private dirty = false;
  private points = new Uint32Array(0);
  private owners = new Uint32Array(0);
  /**
   * Radix index over the points: bucket b (the top `indexBits` bits of a hash) starts at
   * points[index[b]], so a lookup binary-searches about one point instead of log2(P) of them.
   */
  private index = new Uint32Array(1);
  private indexShift = 32;
  private ownerIds: string[] = [];
  private totalWeightValue = 0;
  /** Per-owner marks for walks that visit distinct nodes (lookupN, find). */
  private stamps = new Uint32Array(0);
  private epoch = 0;
  private versionValue = 0;

  constructor(nodes: Iterable<string | RingNode> = [], options: HashRingOptions = {}) {
    const { vnodes = 150, seed = 0 } = options;
    if (!Number.isSafeInteger(vnodes) || vnodes < 1) throw new RangeError(`vnodes must be a positive integer, got ${vnodes}`);
    if (!Number.isInteger(seed) || seed < 0 || seed >= TWO_32) throw new RangeError(`seed must be a 32-bit unsigned integer, got ${seed}`);
    this.vnodes = vnodes;
    this.seed = seed;
    for (const node of nodes) {
      if (typeof node === 'string') this.add(node);
      else this.add(node.id, node.weight);
    }
  }

  /** Adds a node; throws if it is already there (use setWeight to change it). */
  add(id: string, weight = 1): void {
    if (typeof id !== 'string' || id === '') throw new RangeError('node id must be a non-empty string');
    if (this.members.has(id)) throw new RangeError(`node ${JSON.stringify(id)} is already on the ring`);
    if (this.members.size >= OWNER_SPACE) throw new RangeError(`a ring holds at most ${OWNER_SPACE} nodes`);
    this.members.set(id, { weight: checkWeight(weight), points: this.pointsFor(id, weight) });
    this.changed();
  }

  /** Removes a node; false if it was not there. Only its keys move. */
  remove(id: string): boolean {
    if (!this.members.delete(id)) return false;
    this.changed();
    return true;
  }

  /** Changes a node's weight: raising it adds points (keys move only to it), lowering removes some. */
  setWeight(id: string, weight: number): void {
    const member = this.members.get(id);
    if (member === undefined) throw new RangeError(`node ${JSON.stringify(id)} is not on the ring`);
    checkWeight(weight);
    if (weight === member.weight) return;
    this.members.set(id, { weight, points: this.pointsFor(id, weight) });
    this.changed();
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  /** The node's weight, or undefined when it is not on the ring. */
  weightOf(id: string): number | undefined {
    return this.members.get(id)?.weight;
  }

  get size(): number {
    return this.members.size;
  }

  get totalWeight(): number {
    this.ensureBuilt();
    return this.totalWeightValue;
  }

  /** Node ids in the ring's canonical (code-unit) order. */
  get nodes(): string[] {
    this.ensureBuilt();
    return [...this.ownerIds];
  }

  /** Points on the ring (Σ round(weight × vnodes)). */
  get pointCount(): number {
    this.ensureBuilt();
    return this.points.length;
  }

  /** Increases on every membership or weight change; callers can key caches of routes on it. */
  get version(): number {
    return this.versionValue;
  }

  /** The node owning `key` (hashed as UTF-8 with murmur3_32). Throws on an empty ring. */
  lookup(key: string): string {
    // successor() first: it may rebuild, replacing the arrays read below.
    const i = this.successor(murmur3_32String(key, this.seed));
    return this.ownerIds[this.owners[i]!]!;
  }

  /** The node owning a precomputed 32-bit hash (must come from the same seed to agree with lookup). */
  lookupHash(hash: number): string {
    const i = this.successor(hash >>> 0);
    return this.ownerIds[this.owners[i]!]!;
  }

  /**
   * Up to n distinct nodes clockwise from the key: the owner first, then the replicas. Fewer
   * than n when the ring has fewer nodes. Removing a node drops it from every list and shifts
   * the later ones up; the others keep their order.
   */
  lookupN(key: string, n: number): string[] {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
    if (n === 0) return [];
    const start = this.successor(murmur3_32String(key, this.seed));
    const { points, owners, ownerIds, stamps } = this;
    const want = Math.min(n, ownerIds.length);
    const out: string[] = [];
    const epoch = this.nextEpoch();
    for (let i = start, steps = 0; out.length < want && steps < points.length; steps++) {
      const owner = owners[i]!;
      if (stamps[owner] !== epoch) {
        stamps[owner] = epoch;
        out.push(ownerIds[owner]!);
      }
      i = i + 1 === points.length ? 0 : i + 1;
    }
    return out;
  }

  /**
   * The first node clockwise from the key, each node considered once, for which `accept` is true;
   * undefined if none is. The bounded-load ring is built on this. `accept` should not walk the
   * ring itself (a nested walk can make this one offer a node twice).
   */
  find(key: string, accept: (id: string) => boolean): string | undefined {
    const start = this.successor(murmur3_32String(key, this.seed));
    const { points, owners, ownerIds, stamps } = this;
    const epoch = this.nextEpoch();
    let seen = 0;
    for (let i = start, steps = 0; seen < ownerIds.length && steps < points.length; steps++) {
      const owner = owners[i]!;
      if (stamps[owner] !== epoch) {
        stamps[owner] = epoch;
        seen++;
        const id = ownerIds[owner]!;
        if (accept(id)) return id;
      }
      i = i + 1 === points.length ? 0 : i + 1;
    }
    return undefined;
  }

  /** Each node's fraction of the 32-bit hash space (sums to 1): the expected share of keys. */
  shares(): Map<string, number> {
    this.ensureBuilt();
    const { points, owners, ownerIds } = this;
    const out = new Map<string, number>(ownerIds.map((id) => [id, 0]));
    for (let i = 0; i < points.length; i++) {
      const arc = i === 0 ? points[0]! + TWO_32 - points[points.length - 1]! : points[i]! - points[i - 1]!;
      const id = ownerIds[owners[i]!]!;
      out.set(id, out.get(id)! + arc / TWO_32);
    }
    return out;
  }

  /** Index of the first point ≥ hash, wrapping to 0 past the last. */
  private successor(hash: number): number {
    if (this.dirty) this.rebuild();
    const points = this.points;
    const n = points.length;
    if (n === 0) throw new RangeError('the hash ring is empty');
    // Every point in [index[b], index[b + 1]) shares the hash's top bits and the point at
    // index[b + 1] is above the hash, so the first point ≥ hash lies in that closed range.
    const bucket = this.indexShift === 32 ? 0 : hash >>> this.indexShift;
    let lo = this.index[bucket]!;
    let hi = this.index[bucket + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === n ? 0 : lo;
  }

  private ensureBuilt(): void {
    if (this.dirty) this.rebuild();
  }

  private rebuild(): void {
    const ids = [...this.members.keys()].sort();
    let total = 0;
    let weight = 0;
    for (const id of ids) {
      const member = this.members.get(id)!;
      total += member.points.length;
      weight += member.weight;
    }
    const packed = new Float64Array(total);
    let o = 0;
    for (let owner = 0; owner < ids.length; owner++) {
      const points = this.members.get(ids[owner]!)!.points;
      for (let i = 0; i < points.length; i++) packed[o++] = points[i]! * OWNER_SPACE + owner;
    }
    packed.sort();
    const points = new Uint32Array(total);
    const owners = new Uint32Array(total);
    for (let i = 0; i < total; i++) {
      const v = packed[i]!;
      const owner = v % OWNER_SPACE;
      points[i] = (v - owner) / OWNER_SPACE;
      owners[i] = owner;
    }
    this.points = points;
    this.owners = owners;
    this.buildIndex(points);
    this.ownerIds = ids;
    this.totalWeightValue = weight;
    this.stamps = new Uint32Array(ids.length);
    this.epoch = 0;
    this.dirty = false;
  }

  /** About one bucket per point (a power of two ≥ P, at most 2^20): 8 bytes per point in all. */
  private buildIndex(points: Uint32Array): void {
    let bits = 0;
    while (bits < 20 && 2 ** bits < points.length) bits++;
    const buckets = 2 ** bits;
    const shift = 32 - bits;
    const index = new Uint32Array(buckets + 1);
    let p = 0;
    for (let b = 0; b < buckets; b++) {
      // First point whose top bits are ≥ b.
      while (p < points.length && points[p]! >>> shift < b) p++;
      index[b] = p;
    }
    index[buckets] = points.length;
    this.index = index;
    this.indexShift = shift;
  }

  private nextEpoch(): number {
    this.epoch = (this.epoch + 1) >>> 0;
    if (this.epoch === 0) {
      this.stamps.fill(0);
      this.epoch = 1;
    }
    return this.epoch;
  }

  private pointsFor(id: string, weight: number): Uint32Array {
    const count = Math.max(1, Math.round(weight * this.vnodes));
    if (count > MAX_POINTS_PER_NODE) throw new RangeError(`weight × vnodes must be at most ${MAX_POINTS_PER_NODE}, got ${count}`);
    const points = new Uint32Array(count);
    for (let i = 0; i < count; i++) points[i] = murmur3_32String(`${id}#${i}`, this.seed);
    return points;
  }

  private changed(): void {
    this.dirty = true;
    this.versionValue++;
  }
}

function checkWeight(weight: number): number {
  if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight must be a finite number > 0, got ${weight}`);
  return weight;
}
