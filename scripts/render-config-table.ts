/**
 * Rewrites the configuration table in README.md from the config registry
 * (between the `<!-- config:start -->` and `<!-- config:end -->` markers).
 * `--check` exits 1 instead of writing when the README is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable } from '../src/config/config.js';

export const START = '<!-- config:start -->';
export const END = '<!-- config:end -->';

export function withConfigTable(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a === -1 || b === -1 || b < a) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${renderConfigTable()}\n${readme.slice(b)}`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const file = new URL('../README.md', import.meta.url);
  const current = readFileSync(file, 'utf8');
  const next = withConfigTable(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('README.md config table is out of date: run npm run docs:config');
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(file, next);
    console.log('README.md config table updated');
  }
}
