import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countBy, fixedKeys } from '../../../test/platform/hashing-fixtures.js';
import { HashRing } from './hash-ring.js';
import { murmur3_32String } from './murmur3.js';

const keys = fixedKeys();
const names = (n: number, prefix = 'shard-') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const owners = (ring: HashRing, list: readonly string[] = keys) => list.map((k) => ring.lookup(k));

describe('HashRing: movement', () => {
  it.each([3, 5, 10])('adding node N+1 to %d nodes moves 1/(N+1) of 100,000 keys ±20%, all to the new node', (n) => {
    const ring = new HashRing(names(n));
    const before = owners(ring);
    ring.add(`shard-${n}`);
    const after = owners(ring);
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] !== after[i]) {
        moved++;
        expect(after[i]).toBe(`shard-${n}`);
      }
    }
    const expected = keys.length / (n + 1);
    // Measured: 1.040, 0.993, 1.067 × 1/(N+1) for N = 3, 5, 10.
    expect(Math.abs(moved - expected) / expected).toBeLessThanOrEqual(0.2);
  });

  it.each([
    [4, 'shard-2'],
    [10, 'shard-0'],
    [10, 'shard-9'],
  ])('removing a node from %d moves only the keys it owned (%s)', (n, removed) => {
    const ring = new HashRing(names(n));
    const before = owners(ring);
    expect(ring.remove(removed)).toBe(true);
    const after = owners(ring);
    let othersMoved = 0;
    let ownMoved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === removed) ownMoved++;
      else if (before[i] !== after[i]) othersMoved++;
    }
    expect(othersMoved).toBe(0);
    expect(ownMoved).toBeGreaterThan(0);
    expect(after).not.toContain(removed);
  });

  it('raising a weight moves keys only to that node; lowering it moves keys only away from it', () => {
    const ring = new HashRing(names(6));
    const base = owners(ring);
    ring.setWeight('shard-3', 2);
    const raised = owners(ring);
    for (let i = 0; i < keys.length; i++) if (raised[i] !== base[i]) expect(raised[i]).toBe('shard-3');
    const share = (list: string[]) => list.filter((o) => o === 'shard-3').length;
    // One node at weight 2 among five at 1 should hold 2/7 instead of 1/6.
    expect(share(raised) / keys.length).toBeGreaterThan(0.24);
    ring.setWeight('shard-3', 1);
    expect(owners(ring)).toEqual(base);
    ring.setWeight('shard-3', 0.5);
    const lowered = owners(ring);
    for (let i = 0; i < keys.length; i++) if (lowered[i] !== base[i]) expect(base[i]).toBe('shard-3');
  });
});

describe('HashRing: balance', () => {
  it('spreads 100,000 keys over 10 nodes at 150 vnodes with max/mean ≤ 1.2 and min/mean ≥ 0.85 (measured 1.09 / 0.95)', () => {
    const counts = countBy(owners(new HashRing(names(10))));
    const mean = keys.length / 10;
    expect(counts.size).toBe(10);
    expect(Math.max(...counts.values()) / mean).toBeLessThanOrEqual(1.2);
    expect(Math.min(...counts.values()) / mean).toBeGreaterThanOrEqual(0.85);
  });

  it('spreads better with more vnodes (10 nodes: 50 → 500 vnodes)', () => {
    const maxOverMean = (vnodes: number) =>
      Math.max(...countBy(owners(new HashRing(names(10), { vnodes }))).values()) / (keys.length / 10);
    expect(maxOverMean(500)).toBeLessThan(maxOverMean(50));
  });

  it('gives weights 1:2:3:4 shares of 10/20/30/40% ±12% relative, matching shares()', () => {
    const ring = new HashRing([
      { id: 'a', weight: 1 },
      { id: 'b', weight: 2 },
      { id: 'c', weight: 3 },
      { id: 'd', weight: 4 },
    ]);
    expect(ring.pointCount).toBe(1500);
    expect(ring.totalWeight).toBe(10);
    const counts = countBy(owners(ring));
    const shares = ring.shares();
    expect([...shares.values()].reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    for (const [id, weight] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) {
      const keyShare = (counts.get(id) ?? 0) / keys.length;
      expect(Math.abs(keyShare / (weight / 10) - 1)).toBeLessThanOrEqual(0.12);
      // The hash-space share predicts the key share (100,000 keys: within a point).
      expect(Math.abs(keyShare - shares.get(id)!)).toBeLessThanOrEqual(0.01);
    }
  });
});

describe('HashRing: determinism', () => {
  const pool = names(12, 'db-');
  const sample = keys.slice(0, 2_000);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), id: fc.constantFrom(...pool), weight: fc.constantFrom(0.5, 1, 2) }),
    fc.record({ kind: fc.constant('remove' as const), id: fc.constantFrom(...pool) }),
    fc.record({ kind: fc.constant('weight' as const), id: fc.constantFrom(...pool), weight: fc.constantFrom(0.5, 1, 2, 3) }),
  );

  it('places keys by the final membership only, whatever the order and history of changes', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const ring = new HashRing([], { vnodes: 40 });
        const final = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'add' && !ring.has(o.id)) {
            ring.add(o.id, o.weight);
            final.set(o.id, o.weight);
          } else if (o.kind === 'remove') {
            ring.remove(o.id);
            final.delete(o.id);
          } else if (o.kind === 'weight' && ring.has(o.id)) {
            ring.setWeight(o.id, o.weight);
            final.set(o.id, o.weight);
          }
          // Interleaved lookups force rebuilds in the middle of the history.
          if (ring.size > 0) ring.lookup(o.id);
        }
        fc.pre(final.size > 0);
        const fresh = new HashRing(
          [...final].reverse().map(([id, weight]) => ({ id, weight })),
          { vnodes: 40 },
        );
        expect(owners(ring, sample)).toEqual(owners(fresh, sample));
      }),
      { numRuns: 60 },
    );
  });

  it('answers the first lookup after construction or a change from the new membership', () => {
    expect(new HashRing(['only']).lookup('anything')).toBe('only');
    const ring = new HashRing(['a']);
    ring.remove('a');
    ring.add('b');
    expect(ring.lookup('anything')).toBe('b');
    expect(ring.lookupN('anything', 3)).toEqual(['b']);
  });

  it('lookupHash(murmur3(key)) agrees with lookup(key); another seed places keys differently', () => {
    const ring = new HashRing(names(5));
    for (const key of keys.slice(0, 1_000)) expect(ring.lookupHash(murmur3_32String(key))).toBe(ring.lookup(key));
    const seeded = new HashRing(names(5), { seed: 42 });
    const differ = keys.slice(0, 1_000).filter((k) => seeded.lookup(k) !== ring.lookup(k)).length;
    expect(differ).toBeGreaterThan(500);
  });

  it('bumps version on every change and not on a no-op', () => {
    const ring = new HashRing(['a', 'b']);
    const v = ring.version;
    ring.setWeight('a', 1);
    expect(ring.version).toBe(v);
    ring.setWeight('a', 2);
    ring.remove('missing');
    expect(ring.version).toBe(v + 1);
    ring.remove('b');
    expect(ring.version).toBe(v + 2);
  });
});

/**
 * The ring's definition, computed the slow way: every point murmur3(`${id}#${i}`), the owner of
 * a hash is the node of the first point ≥ it in (point, id) order, wrapping to the smallest.
 */
function oracleOwner(nodes: ReadonlyArray<{ id: string; weight: number }>, vnodes: number, hash: number): string {
  let best: { point: number; id: string } | undefined;
  let lowest: { point: number; id: string } | undefined;
  const before = (a: { point: number; id: string }, b: { point: number; id: string } | undefined) =>
    b === undefined || a.point < b.point || (a.point === b.point && a.id < b.id);
  for (const { id, weight } of nodes) {
    const count = Math.max(1, Math.round(weight * vnodes));
    for (let i = 0; i < count; i++) {
      const candidate = { point: murmur3_32String(`${id}#${i}`), id };
      if (before(candidate, lowest)) lowest = candidate;
      if (candidate.point >= hash && before(candidate, best)) best = candidate;
    }
  }
  return (best ?? lowest)!.id;
}

describe('HashRing: agrees with the definition', () => {
  it('finds the same owner as a linear scan, for any small ring and any hash', () => {
    const node = fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), weight: fc.constantFrom(0.01, 0.5, 1, 2.5) });
    fc.assert(
      fc.property(
        fc.uniqueArray(node, { minLength: 1, maxLength: 8, selector: (n) => n.id }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }),
        (nodes, vnodes, hashes) => {
          const ring = new HashRing(nodes, { vnodes });
          // Edges: the ends of the hash space and every point itself, ±1.
          const points = nodes.flatMap(({ id, weight }) =>
            Array.from({ length: Math.max(1, Math.round(weight * vnodes)) }, (_, i) => murmur3_32String(`${id}#${i}`)),
          );
          const probes = [0, 0xffffffff, ...hashes, ...points.slice(0, 30).flatMap((p) => [p - 1, p, p + 1])].filter(
            (h) => h >= 0 && h <= 0xffffffff,
          );
          for (const h of probes) expect(ring.lookupHash(h)).toBe(oracleOwner(nodes, vnodes, h));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('agrees with the linear scan on 2,000 keys for 10 nodes × 150 points', () => {
    const nodes = names(10).map((id) => ({ id, weight: 1 }));
    const ring = new HashRing(nodes);
    for (const key of keys.slice(0, 2_000)) expect(ring.lookup(key)).toBe(oracleOwner(nodes, 150, murmur3_32String(key)));
  });
});

describe('HashRing: colliding points', () => {
  // A real 32-bit collision, found by searching `node-<i>#0` for i < 400,000.
  const [low, high] = ['node-11764', 'node-319880'];
  const point = murmur3_32String(`${low}#0`);

  it('orders points that collide by node id, whatever the insertion order', () => {
    expect(murmur3_32String(`${high}#0`)).toBe(point);
    const nodes = [{ id: high, weight: 1 }, { id: 'other', weight: 1 }, { id: low, weight: 1 }];
    const a = new HashRing(nodes, { vnodes: 1 });
    const b = new HashRing([...nodes].reverse(), { vnodes: 1 });
    for (const h of [point - 1, point, point + 1, 0, 0xffffffff]) {
      expect(a.lookupHash(h)).toBe(b.lookupHash(h));
      expect(a.lookupHash(h)).toBe(oracleOwner(nodes, 1, h));
    }
    expect(a.lookupHash(point)).toBe(low);
    a.remove(low);
    expect(a.lookupHash(point)).toBe(high);
  });

  it('breaks ties by UTF-16 code units, not by locale (which would differ between machines)', () => {
    // Another real collision; localeCompare puts 'shard-2356' first, code units 'Shard-84459'.
    const [upper, lower] = ['Shard-84459', 'shard-2356'];
    const shared = murmur3_32String(`${upper}#0`);
    expect(murmur3_32String(`${lower}#0`)).toBe(shared);
    expect(lower.localeCompare(upper)).toBeLessThan(0);
    const ring = new HashRing([lower, upper], { vnodes: 1 });
    expect(ring.lookupHash(shared)).toBe(upper);
    expect(ring.nodes).toEqual([upper, lower]);
  });
});

describe('HashRing: replicas and walks', () => {
  const ring = new HashRing(names(8));

  it('lookupN returns distinct nodes, the owner first, capped at the ring size', () => {
    for (const key of keys.slice(0, 2_000)) {
      const three = ring.lookupN(key, 3);
      expect(three).toHaveLength(3);
      expect(new Set(three).size).toBe(3);
      expect(three[0]).toBe(ring.lookup(key));
      const all = ring.lookupN(key, 20);
      expect([...all].sort()).toEqual(ring.nodes);
      expect(all.slice(0, 3)).toEqual(three);
    }
    expect(ring.lookupN('k', 0)).toEqual([]);
  });

  it('removing a node drops it from replica lists and keeps the others in order', () => {
    const smaller = new HashRing(names(8));
    smaller.remove('shard-5');
    for (const key of keys.slice(0, 2_000)) {
      const expected = ring.lookupN(key, 8).filter((id) => id !== 'shard-5');
      expect(smaller.lookupN(key, 7)).toEqual(expected);
    }
  });

  it('find offers each node once, in lookupN order, and returns the first accepted', () => {
    for (const key of keys.slice(0, 500)) {
      const offered: string[] = [];
      const none = ring.find(key, (id) => {
        offered.push(id);
        return false;
      });
      expect(none).toBeUndefined();
      expect(offered).toEqual(ring.lookupN(key, 8));
      expect(ring.find(key, (id) => id === offered[4])).toBe(offered[4]);
    }
  });
});

describe('HashRing: bad input', () => {
  it.each([
    ['an empty ring', () => new HashRing().lookup('k')],
    ['a duplicate node', () => new HashRing(['a', 'a'])],
    ['an empty id', () => new HashRing([''])],
    ['weight 0', () => new HashRing([{ id: 'a', weight: 0 }])],
    ['a negative weight', () => new HashRing([{ id: 'a', weight: -1 }])],
    ['weight NaN', () => new HashRing([{ id: 'a', weight: Number.NaN }])],
    ['weight Infinity', () => new HashRing([{ id: 'a', weight: Number.POSITIVE_INFINITY }])],
    ['a weight giving over 1,000,000 points', () => new HashRing([{ id: 'a', weight: 10_000 }])],
    ['vnodes 0', () => new HashRing([], { vnodes: 0 })],
    ['fractional vnodes', () => new HashRing([], { vnodes: 1.5 })],
    ['a negative seed', () => new HashRing([], { seed: -1 })],
    ['a seed ≥ 2^32', () => new HashRing([], { seed: 2 ** 32 })],
    ['setWeight on an unknown node', () => new HashRing(['a']).setWeight('b', 1)],
    ['setWeight to 0', () => new HashRing(['a']).setWeight('a', 0)],
    ['lookupN with n < 0', () => new HashRing(['a']).lookupN('k', -1)],
  ])('rejects %s with a RangeError', (_name, act) => {
    expect(act).toThrow(RangeError);
  });
});
