/** A JSON file that is not one array of objects, with where it went wrong. */
export class JsonArrayError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Reads a top-level JSON array of objects element by element from text chunks, so a file of
 * a million links never sits in memory at once. Each object is handed to `JSON.parse`; the
 * scanner only finds where objects start and end (tracking strings and escapes).
 */
export async function* readJsonArray(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; value: Record<string, unknown> }> {
  let state: 'start' | 'value' | 'comma' | 'end' = 'start';
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: string[] = [];
  let startLine = 0;

  for await (const chunk of chunks) {
    let from = -1; // where the current element's text starts in this chunk
    if (depth > 0) from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 0x0a) line++;
      if (depth > 0) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) inString = false;
        } else if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          depth--;
          if (depth === 0) {
            parts.push(chunk.slice(from, i + 1));
            yield { line: startLine, value: parseObject(parts.join(''), startLine) };
            parts = [];
            from = -1;
            state = 'comma';
          }
        }
        continue;
      }
      if (WS.has(c) || (i === 0 && c === 0xfeff && state === 'start')) continue;
      if (state === 'start') {
        if (c !== 0x5b) throw new JsonArrayError('a JSON import file holds one array of link objects: [ {…}, … ]', line);
        state = 'value';
      } else if (state === 'value' || state === 'comma') {
        if (c === 0x5d) state = 'end';
        else if (state === 'comma' && c === 0x2c) state = 'value';
        else if (state === 'value' && c === 0x7b) {
          depth = 1;
          from = i;
          startLine = line;
        } else throw new JsonArrayError(state === 'comma' ? 'expected "," or "]"' : 'each element must be an object {…}', line);
      } else throw new JsonArrayError('nothing may follow the closing "]"', line);
    }
    if (depth > 0 && from >= 0) parts.push(chunk.slice(from));
  }
  if (state !== 'end') throw new JsonArrayError('the file ends before the array is closed with "]"', line);
}

function parseObject(text: string, line: number): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new JsonArrayError(`not valid JSON: ${(err as Error).message}`, line);
  }
}
