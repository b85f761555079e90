import type { ClickAggregate, ClickBatch } from '../../shortener/clicks.js';

/**
 * A field of the Redis pending-clicks hash (ADR 7): everything the rollups need, in one string,
 * `1|<link id>|<link key>|<day>|<browser>|<os>|<bot 0/1>|<count 0/1>|<referrer host>`.
 * `count` is 0 for links with max_clicks (their running count was taken atomically in the
 * database already). The link key is there for routing by shard. The referrer host comes last
 * so the split never depends on what it contains; keys, days, browser and OS names hold no '|'.
 */
export function clickField(linkId: number, key: string, day: string, browser: string, os: string, bot: boolean, addToCount: boolean, referrer: string): string {
  return `1|${linkId}|${key}|${day}|${browser}|${os}|${bot ? 1 : 0}|${addToCount ? 1 : 0}|${referrer}`;
}

export interface DecodedClicks {
  aggregate: ClickAggregate;
  key: string;
  addToCount: boolean;
}

/** The field's clicks, or undefined when the field is not one tny wrote. */
export function decodeClickField(field: string, clicks: number): DecodedClicks | undefined {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < 8; i++) {
    const at = field.indexOf('|', from);
    if (at === -1) return undefined;
    parts.push(field.slice(from, at));
    from = at + 1;
  }
  const [version, idText, key, day, browser, os, bot, count] = parts as [string, string, string, string, string, string, string, string];
  const linkId = Number(idText);
  if (version !== '1' || !Number.isSafeInteger(linkId) || linkId <= 0 || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  if (!Number.isSafeInteger(clicks)) return undefined;
  return {
    aggregate: { linkId, day, referrer: field.slice(from), browser, os, bot: bot === '1', clicks },
    key,
    addToCount: count === '1',
  };
}

/** A flushed hash as a batch, with each link's key (for routing by shard). */
export interface FlushBatch extends ClickBatch {
  keys: Map<number, string>;
  /** Fields that were not tny's (left out, reported). */
  malformed: number;
  /** Clicks in the batch (its rollups' sum). */
  clicks: number;
}

/** The contents of a flushing hash (HGETALL) as one batch. */
export function batchFromHash(hash: Record<string, string>): FlushBatch {
  const batch: FlushBatch = { rollups: [], counts: new Map(), keys: new Map(), malformed: 0, clicks: 0 };
  for (const [field, value] of Object.entries(hash)) {
    const d = decodeClickField(field, Number(value));
    if (!d) {
      batch.malformed++;
      continue;
    }
    if (d.aggregate.clicks === 0) continue;
    batch.rollups.push(d.aggregate);
    batch.clicks += d.aggregate.clicks;
    batch.keys.set(d.aggregate.linkId, d.key);
    if (d.addToCount) batch.counts.set(d.aggregate.linkId, (batch.counts.get(d.aggregate.linkId) ?? 0) + d.aggregate.clicks);
  }
  return batch;
}
