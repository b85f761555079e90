import type { HashRing } from './hash-ring.js';

export interface BoundedLoadOptions {
  /**
   * c in "a node takes a new assignment only while its load is below ceil(c · average)".
   * Must be ≥ 1; 1 forces perfect balance (and sends many keys away from their owner), larger
   * values divert fewer. Default 1.25, the default of other implementations (brpc's
   * c_murmurhash_bl, Go's lafikl/liblb); HAProxy's hash-balance-factor is the same c in
   * percent (150 = 1.5).
   */
  loadFactor?: number;
}

/** Float slack so c · m · w / W landing a hair above an integer does not raise the bound by one. */
const EPSILON = 1e-9;

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam, "Consistent Hashing
 * with Bounded Loads", SODA 2018) over a HashRing: each assignment (a request, a connection, a
 * session: anything later released) goes to the first node clockwise from its key whose load is
 * below ceil(c · m · w / W), where m counts outstanding assignments including the new one and
 * w / W is the node's share of the total weight; with equal weights that is ceil(c · m / n).
 *
 * Why: plain consistent hashing sends every request for a hot key to one node. Here a hot key
 * fills its owner up to the bound, then spills to the next node clockwise, and so on: the same
 * key always prefers the same nodes in the same order (locality stays), no node is ever handed
 * more than the bound (it cannot be: the bounds sum to at least m, so some node is below its
 * bound), and when load drops the key goes back to its owner.
 *
 * The bound is checked when a key is assigned. Releases do not move anything, so after many
 * releases a node can hold more than the bound computed for the smaller m until its own
 * assignments are released. Loads are per process: several gateways each bound their own.
 * Assignments to a node that has left the ring still count in m until they are released.
 */
export class BoundedLoadRing {
  private readonly loads = new Map<string, number>();
  private readonly loadFactor: number;
  private outstandingValue = 0;
  /** c · m / W for the assignment being placed; read by `accept`. */
  private capacityPerWeight = 0;
  private readonly accept = (id: string): boolean =>
    (this.loads.get(id) ?? 0) < this.capacityFor(id, this.capacityPerWeight);

  constructor(
    readonly ring: HashRing,
    options: BoundedLoadOptions = {},
  ) {
    const { loadFactor = 1.25 } = options;
    if (!(loadFactor >= 1) || !Number.isFinite(loadFactor)) throw new RangeError(`loadFactor must be a finite number ≥ 1, got ${loadFactor}`);
    this.loadFactor = loadFactor;
  }

  /** Picks a node for one more assignment of `key` and counts it; pair it with release(node). */
  assign(key: string): string {
    this.capacityPerWeight = (this.loadFactor * (this.outstandingValue + 1)) / this.ring.totalWeight;
    const node = this.ring.find(key, this.accept);
    // Unreachable while loadFactor ≥ 1 (see the class comment); an empty ring throws in find.
    if (node === undefined) throw new Error('bounded-load ring: every node is at its bound');
    this.loads.set(node, (this.loads.get(node) ?? 0) + 1);
    this.outstandingValue++;
    return node;
  }

  /** Ends one assignment on `node`; throws if it has none (a double release is a caller bug). */
  release(node: string): void {
    const load = this.loads.get(node);
    if (load === undefined) throw new RangeError(`node ${JSON.stringify(node)} has no outstanding assignment`);
    if (load === 1) this.loads.delete(node);
    else this.loads.set(node, load - 1);
    this.outstandingValue--;
  }

  loadOf(node: string): number {
    return this.loads.get(node) ?? 0;
  }

  /** Outstanding assignments over all nodes (m). */
  get outstanding(): number {
    return this.outstandingValue;
  }

  /** The bound the next assignment would be checked against on `node` (0 if it is not on the ring). */
  boundFor(node: string): number {
    return this.capacityFor(node, (this.loadFactor * (this.outstandingValue + 1)) / this.ring.totalWeight);
  }

  private capacityFor(id: string, perWeight: number): number {
    const weight = this.ring.weightOf(id);
    return weight === undefined ? 0 : Math.ceil(perWeight * weight - EPSILON);
  }
}
