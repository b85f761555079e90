import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import type { Link } from '../shortener/link.js';
import { LINK_RECORD_FIELDS, toCsvCells, toLinkRecord } from '../shortener/link-record.js';

export type ExportFormat = 'csv' | 'json';

/** Writes, waiting whenever the stream asks to (so a big export never piles up in memory). */
async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * Writes pages of links as CSV (header row, then one row per link) or as a JSON array with
 * one object per line. Returns how many links were written.
 */
export async function writeLinks(pages: AsyncIterable<Link[]>, format: ExportFormat, out: NodeJS.WritableStream): Promise<number> {
  let count = 0;
  if (format === 'csv') {
    await write(out, stringify([[...LINK_RECORD_FIELDS]]));
    for await (const page of pages) {
      await write(out, stringify(page.map((l) => toCsvCells(toLinkRecord(l)))));
      count += page.length;
    }
    return count;
  }
  await write(out, '[');
  for await (const page of pages) {
    const lines = page.map((l, i) => `${count + i === 0 ? '' : ','}\n${JSON.stringify(toLinkRecord(l))}`);
    await write(out, lines.join(''));
    count += page.length;
  }
  await write(out, '\n]\n');
  return count;
}
