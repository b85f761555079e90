import { describe, expect, it } from 'vitest';
import { FakeClock } from '../platform/clock.js';
import { formatDuration, Progress } from './progress.js';
import type { OutputStream } from './runtime.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  const stream = { isTTY, write: (text: string) => writes.push(text) > 0 } as unknown as OutputStream;
  return { stream, writes };
}

describe('Progress', () => {
  it('on a TTY redraws one line in place, at most every 100 ms', () => {
    const clock = new FakeClock(0);
    const { stream, writes } = sink(true);
    const p = new Progress(stream, { label: 'importing', total: 1000, clock, width: 10 });
    for (let i = 1; i <= 1000; i++) {
      clock.advance(1); // 1 ms and 1 byte per row: 1000 rows in 1 s
      p.update(i, i);
    }
    expect(writes).toHaveLength(10);
    expect(writes[0]).toBe('\r\x1b[2Kimporting [#---------]  10%  100 rows  1,000 rows/s  ETA 0:01');
    expect(writes[9]).toBe('\r\x1b[2Kimporting [##########] 100%  1,000 rows  1,000 rows/s  ETA 0:00');
    p.finish();
    expect(writes[10]).toBe('\r\x1b[2K');
  });

  it('elsewhere prints a plain line every 2 s and never clears', () => {
    const clock = new FakeClock(0);
    const { stream, writes } = sink(false);
    const p = new Progress(stream, { label: 'importing', total: 10_000, clock });
    for (let i = 1; i <= 5000; i++) {
      clock.advance(1);
      p.update(i, i);
    }
    p.finish();
    expect(writes).toEqual([
      'importing: 20%  2,000 rows  1,000 rows/s  ETA 0:08\n',
      'importing: 40%  4,000 rows  1,000 rows/s  ETA 0:06\n',
    ]);
  });

  it('formats durations, unknown ones as --:--', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(61.4)).toBe('1:01');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('--:--');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('--:--');
  });
});
