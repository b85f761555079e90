import { murmur3_32String } from './murmur3.js';
import { arcShares, buildLayout, EMPTY_LAYOUT, MAX_NODES, successorIndex, type RingLayout } from './ring-layout.js';

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
  private layout: RingLayout = EMPTY_LAYOUT;
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
    if (this.members.size >= MAX_NODES) throw new RangeError(`a ring holds at most ${MAX_NODES} nodes`);
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
    return this.built().totalWeight;
  }

  /** Node ids in the ring's canonical (code-unit) order. */
  get nodes(): string[] {
    return [...this.built().ownerIds];
  }

  /** Points on the ring (Σ round(weight × vnodes)). */
  get pointCount(): number {
    return this.built().points.length;
  }

  /** Increases on every membership or weight change; callers can key caches of routes on it. */
  get version(): number {
    return this.versionValue;
  }

  /** The node owning `key` (hashed as UTF-8 with murmur3_32). Throws on an empty ring. */
  lookup(key: string): string {
    const layout = this.built();
    return layout.ownerIds[layout.owners[successorIndex(layout, murmur3_32String(key, this.seed))]!]!;
  }

  /** The node owning a precomputed 32-bit hash (must come from the same seed to agree with lookup). */
  lookupHash(hash: number): string {
    const layout = this.built();
    return layout.ownerIds[layout.owners[successorIndex(layout, hash >>> 0)]!]!;
  }

  /**
   * Up to n distinct nodes clockwise from the key: the owner first, then the replicas. Fewer
   * than n when the ring has fewer nodes. Removing a node drops it from every list and shifts
   * the later ones up; the others keep their order.
   */
  lookupN(key: string, n: number): string[] {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
    if (n === 0) return [];
    const layout = this.built();
    const start = successorIndex(layout, murmur3_32String(key, this.seed));
    const { points, owners, ownerIds } = layout;
    const stamps = this.stamps;
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
    const layout = this.built();
    const start = successorIndex(layout, murmur3_32String(key, this.seed));
    const { points, owners, ownerIds } = layout;
    const stamps = this.stamps;
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
    return arcShares(this.built());
  }

  /** The current layout, rebuilt first if membership changed since the last one. */
  private built(): RingLayout {
    if (this.dirty) {
      this.layout = buildLayout(this.members);
      this.stamps = new Uint32Array(this.layout.ownerIds.length);
      this.epoch = 0;
      this.dirty = false;
    }
    return this.layout;
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
