/**
 * Child process for hashing-cross-process.test.ts: replays a membership history on a fresh
 * HashRing and prints, as JSON, the owner and replicas of each key, the owners of some raw
 * hashes and the jump-hash buckets.
 */
import { pathToFileURL } from 'node:url';
import { HashRing } from '../../src/platform/hashing/hash-ring.js';
import { jumpHashString } from '../../src/platform/hashing/jump-hash.js';
import { fixedKeys } from './hashing-fixtures.js';

export type HistoryStep = ['add', string, number] | ['remove', string] | ['weight', string, number];

export interface Placement {
  owners: string[];
  replicas: string[][];
  probes: string[];
  buckets: number[];
}

export function replay(history: HistoryStep[], keyCount: number, probes: number[]): Placement {
  const ring = new HashRing();
  for (const step of history) {
    if (step[0] === 'add') ring.add(step[1], step[2]);
    else if (step[0] === 'remove') ring.remove(step[1]);
    else ring.setWeight(step[1], step[2]);
  }
  const keys = fixedKeys(keyCount);
  return {
    owners: keys.map((k) => ring.lookup(k)),
    replicas: keys.slice(0, 1_000).map((k) => ring.lookupN(k, 3)),
    probes: probes.map((h) => ring.lookupHash(h)),
    buckets: keys.map((k) => jumpHashString(k, 37)),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [history, keyCount, probes] = JSON.parse(process.argv[2] ?? '[]') as [HistoryStep[], number, number[]];
  process.stdout.write(JSON.stringify({ pid: process.pid, ...replay(history, keyCount, probes) }));
}
