import { describe, expect, it } from 'vitest';
import { JsonArrayError, readJsonArray } from './json-array-reader.js';

async function read(text: string, chunkSize = 3): Promise<{ line: number; value: unknown }[]> {
  async function* chunks() {
    for (let i = 0; i < text.length; i += chunkSize) yield text.slice(i, i + chunkSize);
  }
  const out = [];
  for await (const item of readJsonArray(chunks())) out.push(item);
  return out;
}

describe('readJsonArray', () => {
  it('yields each object with the line it starts on, across chunk boundaries', async () => {
    const text = '[\n{"a":"x}\\"{","b":[1,{"c":2}]},\n\n  {"d":null}\n]\n';
    for (const size of [1, 2, 3, 7, 1000]) {
      expect(await read(text, size)).toEqual([
        { line: 2, value: { a: 'x}"{', b: [1, { c: 2 }] } },
        { line: 4, value: { d: null } },
      ]);
    }
    expect(await read('[]')).toEqual([]);
  });

  it('refuses anything but one array of objects, naming the line', async () => {
    const cases: [string, RegExp][] = [
      ['{"a":1}', /line 1: a JSON import file holds one array/],
      ['[1]', /line 1: each element must be an object/],
      ['[\n{"a":1}\n{"b":2}]', /line 3: expected "," or "]"/],
      ['[{"a":1}] x', /nothing may follow/],
      ['[{"a":1}', /ends before the array is closed/],
      ['[\n{"a":tru}]', /line 2: not valid JSON/],
      ['', /ends before the array is closed/],
    ];
    for (const [text, message] of cases) {
      const err = await read(text).catch((e: unknown) => e);
      expect(err, text).toBeInstanceOf(JsonArrayError);
      expect((err as Error).message).toMatch(message);
    }
  });
});
