/**
 * The queue's typed errors. They never reach an HTTP client (the notifier maps what it needs),
 * so they are not in the TnyError catalogue; `code` is stable for logs and metrics.
 */

/**
 * The job's lease expired and another consumer leased it (or it was acked, dead-lettered or
 * removed): the holder of the old token must stop, and its ack/extend/nack is not applied.
 */
export class LeaseLostError extends Error {
  readonly code = 'QUEUE_LEASE_LOST';
  constructor(
    readonly queue: string,
    readonly jobId: string,
  ) {
    super(`The lease on job ${jobId} in queue ${queue} is no longer held.`);
    this.name = 'LeaseLostError';
  }
}

/** Bad arguments to a queue call (a programming error, never retried). */
export class QueueUsageError extends Error {
  readonly code = 'QUEUE_USAGE';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'QueueUsageError';
  }
}
