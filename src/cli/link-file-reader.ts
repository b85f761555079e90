import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse, type Info } from 'csv-parse';
import { LINK_RECORD_FIELDS } from '../shortener/link-record.js';
import type { ImportRow } from '../shortener/use-cases/import-links.js';
import { JsonArrayError, readJsonArray } from './json-array-reader.js';

/** A file that cannot be imported at all (rather than a bad row in it). */
export class LinkFileError extends Error {}

export interface LinkFile {
  format: 'csv' | 'json';
  totalBytes: number;
  /** Bytes read from the file so far (for progress). */
  bytesRead(): number;
  rows: AsyncIterable<ImportRow>;
  /** Stops reading (when the import ends early). */
  close(): void;
}

const KNOWN = new Set<string>(LINK_RECORD_FIELDS);
const columnList = LINK_RECORD_FIELDS.join(', ');

/**
 * Opens an import file, streaming: `.json` is a JSON array of objects, anything else CSV with
 * a header row. Columns/fields are checked before a single row is handed out, so a file with
 * an unknown column fails before anything is written; a JSON file is scanned once for that.
 */
export async function openLinkFile(path: string): Promise<LinkFile> {
  const size = await stat(path).then(
    (s) => {
      if (!s.isFile()) throw new LinkFileError(`${path} is not a file`);
      return s.size;
    },
    (err: NodeJS.ErrnoException) => {
      throw new LinkFileError(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    },
  );
  let bytes = 0;
  const source = (): Source => {
    const stream = createReadStream(path);
    async function* chunks(): AsyncGenerator<Buffer> {
      for await (const chunk of stream) {
        bytes += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    return { chunks: chunks(), destroy: () => stream.destroy() };
  };
  if (extname(path).toLowerCase() === '.json') return openJson(path, size, source, () => bytes);
  return openCsv(path, size, source(), () => bytes);
}

interface Source {
  chunks: AsyncIterable<Buffer>;
  destroy(): void;
}

function checkFields(path: string, names: readonly string[], line: number): void {
  const unknown = names.filter((n) => !KNOWN.has(n));
  if (unknown.length > 0) {
    const list = unknown.map((n) => `"${n}"`).join(', ');
    throw new LinkFileError(`${path} line ${line}: unknown column${unknown.length > 1 ? 's' : ''} ${list}; the columns are: ${columnList}`);
  }
}

async function openCsv(path: string, totalBytes: number, source: Source, bytesRead: () => number): Promise<LinkFile> {
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, info: true });
  pipeline(source.chunks, parser).catch(() => undefined); // errors surface through the parser's iterator
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: Info }>;
  const close = () => {
    source.destroy();
    parser.destroy();
  };
  const first = await records.next().catch((err: Error) => {
    close();
    throw new LinkFileError(`${path}: not valid CSV: ${err.message}`);
  });
  if (first.done) throw new LinkFileError(`${path} is empty: a header row is required (${columnList})`);
  const header = first.value.record.map((h) => h.trim().toLowerCase());
  try {
    checkFields(path, header, 1);
    const dup = header.find((h, i) => header.indexOf(h) !== i);
    if (dup !== undefined) throw new LinkFileError(`${path} line 1: the column "${dup}" appears twice`);
    if (!header.includes('url')) throw new LinkFileError(`${path} line 1: a "url" column is required (the columns are: ${columnList})`);
  } catch (err) {
    close();
    throw err;
  }

  async function* rows(): AsyncGenerator<ImportRow> {
    for (;;) {
      let next: IteratorResult<{ record: string[]; info: Info }>;
      try {
        next = await records.next();
      } catch (err) {
        throw new LinkFileError(`${path}: not valid CSV: ${(err as Error).message}`);
      }
      if (next.done) return;
      const { record, info } = next.value;
      // info.lines is the line the record ends on; a quoted cell may span several lines.
      // (csv-parse counts a CRLF inside quotes as two lines; so does countLineBreaks.)
      const line = info.lines - countLineBreaks(record);
      if (record.length !== header.length) {
        yield { line, malformed: `${record.length} cells where the header has ${header.length}` };
        continue;
      }
      const fields: Record<string, string> = {};
      for (const [i, name] of header.entries()) fields[name] = record[i] ?? '';
      yield { line, record: fields };
    }
  }
  return { format: 'csv', totalBytes, bytesRead, rows: rows(), close };
}

function countLineBreaks(cells: readonly string[]): number {
  let n = 0;
  for (const cell of cells) {
    if (!cell.includes('\n') && !cell.includes('\r')) continue;
    for (let i = 0; i < cell.length; i++) {
      const c = cell.charCodeAt(i);
      if (c === 0x0a || c === 0x0d) n++;
    }
  }
  return n;
}

async function* decode(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of chunks) yield decoder.decode(chunk, { stream: true });
  yield decoder.decode();
}

async function openJson(path: string, totalBytes: number, source: () => Source, bytesRead: () => number): Promise<LinkFile> {
  const scan = async function* (from: Source) {
    try {
      yield* readJsonArray(decode(from.chunks));
    } catch (err) {
      if (err instanceof JsonArrayError) throw new LinkFileError(`${path} ${err.message}`);
      if ((err as NodeJS.ErrnoException).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') throw new LinkFileError(`${path}: not UTF-8 text`);
      throw err;
    } finally {
      from.destroy();
    }
  };
  // First pass: the whole file is one array of objects with known fields.
  for await (const { line, value } of scan(source())) checkFields(path, Object.keys(value), line);
  let current: Source | undefined;
  async function* rows(): AsyncGenerator<ImportRow> {
    current = source();
    for await (const { line, value } of scan(current)) yield { line, record: value };
  }
  // The first pass counted the file once already.
  const offset = bytesRead();
  return { format: 'json', totalBytes, bytesRead: () => bytesRead() - offset, rows: rows(), close: () => current?.destroy() };
}
