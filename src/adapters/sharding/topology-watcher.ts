import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../../platform/clock.js';
import type { ShardSet } from './shard-set.js';

export interface TopologyWatcherOptions {
  clock: Clock;
  /** TNY_TOPOLOGY_POLL_MS. */
  pollMs: number;
  /** Names this process in the heartbeats (default: host, pid and a random suffix). */
  processId?: string;
  onError?: (error: unknown) => void;
}

/**
 * A serving process's side of resharding (ADR 8): polls s0's topology every `pollMs`, routes
 * by it, then records the epoch it routes by (ShardSet.refresh), so `tny shards add` knows when
 * every live process looks at a moving key's old shard first. A poll that fails is reported and
 * tried again at the next tick (misses still refresh the topology on their own).
 */
export class TopologyWatcher {
  readonly processId: string;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly set: ShardSet,
    private readonly opts: TopologyWatcherOptions,
  ) {
    this.processId = opts.processId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /** Polls once (so the process starts at the current epoch), then every pollMs. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => {
      if (!this.polling) this.polling = this.poll().finally(() => (this.polling = undefined));
    }, this.opts.pollMs);
    this.timer.unref();
  }

  async poll(): Promise<void> {
    try {
      await this.set.refresh({ processId: this.processId, now: this.opts.clock.now() });
    } catch (error) {
      this.opts.onError?.(error);
    }
  }

  /** Stops polling and removes this process's heartbeat (the mover stops waiting for it). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    await this.set.topology.forget(this.processId, this.opts.clock.now() - 24 * 3600_000).catch((error: unknown) => this.opts.onError?.(error));
  }
}
