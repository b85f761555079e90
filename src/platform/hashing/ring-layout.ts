/**
 * The hash ring's lookup structure, rebuilt whole on every membership change and never mutated:
 * sorted points in a Uint32Array, their owners in a parallel Uint32Array, and a radix index on
 * the top bits of the hash. Kept apart from HashRing so the layout (and its invariants) can be
 * read in one place.
 */

export interface LayoutMember {
  weight: number;
  points: Uint32Array;
}

export interface RingLayout {
  /** Every node's points, ascending; ties ordered by owner index (= node id order). */
  readonly points: Uint32Array;
  /** owners[i] indexes ownerIds: the node of points[i]. */
  readonly owners: Uint32Array;
  /** Node ids sorted by UTF-16 code units (never the locale, which differs between machines). */
  readonly ownerIds: readonly string[];
  readonly totalWeight: number;
  /**
   * Radix index: the points whose top (32 - indexShift) bits equal b are
   * points[index[b]] … points[index[b + 1] - 1]; about one per bucket.
   */
  readonly index: Uint32Array;
  readonly indexShift: number;
}

/** Owner indices are packed under the point in one float64 sort key: point · 2^21 + owner < 2^53. */
export const MAX_NODES = 0x20_0000;
const TWO_32 = 0x1_0000_0000;

export const EMPTY_LAYOUT: RingLayout = {
  points: new Uint32Array(0),
  owners: new Uint32Array(0),
  ownerIds: [],
  totalWeight: 0,
  index: new Uint32Array(2),
  indexShift: 32,
};

/** O(P log P) for P points: one native sort of packed (point, owner) keys, then the index. */
export function buildLayout(members: ReadonlyMap<string, LayoutMember>): RingLayout {
  const ownerIds = [...members.keys()].sort();
  let total = 0;
  let totalWeight = 0;
  for (const id of ownerIds) {
    const member = members.get(id)!;
    total += member.points.length;
    totalWeight += member.weight;
  }
  const packed = new Float64Array(total);
  let o = 0;
  for (let owner = 0; owner < ownerIds.length; owner++) {
    const points = members.get(ownerIds[owner]!)!.points;
    for (let i = 0; i < points.length; i++) packed[o++] = points[i]! * MAX_NODES + owner;
  }
  packed.sort();
  const points = new Uint32Array(total);
  const owners = new Uint32Array(total);
  for (let i = 0; i < total; i++) {
    const v = packed[i]!;
    const owner = v % MAX_NODES;
    points[i] = (v - owner) / MAX_NODES;
    owners[i] = owner;
  }
  const { index, indexShift } = radixIndex(points);
  // Same fields in the same order as EMPTY_LAYOUT: one hidden class keeps lookups monomorphic.
  return { points, owners, ownerIds, totalWeight, index, indexShift };
}

/** A power of two ≥ P buckets (at most 2^20): 4–8 bytes per point. */
function radixIndex(points: Uint32Array): { index: Uint32Array; indexShift: number } {
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
  return { index, indexShift: shift };
}

/** Index of the first point ≥ hash, wrapping to 0 past the last. Throws on an empty layout. */
export function successorIndex(layout: RingLayout, hash: number): number {
  const { points, index, indexShift } = layout;
  const n = points.length;
  if (n === 0) throw new RangeError('the hash ring is empty');
  // Every point in [index[b], index[b + 1]) shares the hash's top bits and the point at
  // index[b + 1] is above the hash, so the first point ≥ hash lies in that closed range.
  // (`>>> 32` would shift by 0, hence the one-bucket case.)
  const bucket = indexShift === 32 ? 0 : hash >>> indexShift;
  let lo = index[bucket]!;
  let hi = index[bucket + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === n ? 0 : lo;
}

/** Each node's fraction of the 32-bit hash space: the arc ending at each of its points. */
export function arcShares(layout: RingLayout): Map<string, number> {
  const { points, owners, ownerIds } = layout;
  const out = new Map<string, number>(ownerIds.map((id) => [id, 0]));
  for (let i = 0; i < points.length; i++) {
    const arc = i === 0 ? points[0]! + TWO_32 - points[points.length - 1]! : points[i]! - points[i - 1]!;
    const id = ownerIds[owners[i]!]!;
    out.set(id, out.get(id)! + arc / TWO_32);
  }
  return out;
}
