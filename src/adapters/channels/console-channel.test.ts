import { describe, expect, it } from 'vitest';
import { ConsoleChannel } from './console-channel.js';

describe('ConsoleChannel', () => {
  it('writes one line per message with the key, and no URL paths or secrets', async () => {
    const lines: string[] = [];
    const channel = new ConsoleChannel((l) => lines.push(l));
    const signal = new AbortController().signal;
    await expect(channel.send({ channel: 'email', to: 'a@b.example', subject: 'Hi', text: 'Body' }, { idempotencyKey: 'k1', signal }))
      .resolves.toEqual({ providerMessageId: 'console:k1' });
    await channel.send(
      { channel: 'webhook', url: 'https://hooks.example/t/SECRET_PATH?token=abc', type: 'x', data: { a: 1 }, secret: 'whsec_c2VjcmV0' },
      { idempotencyKey: 'k2', signal },
    );
    expect(lines).toEqual([
      '[notify:email] key=k1 to=a@b.example subject="Hi" text="Body"',
      '[notify:webhook] key=k2 url=hooks.example type=x data={"a":1}',
    ]);
  });

  it('does nothing once aborted', async () => {
    const lines: string[] = [];
    const ac = new AbortController();
    ac.abort(new Error('late'));
    await expect(new ConsoleChannel((l) => lines.push(l)).send({ channel: 'sms', to: '+1', body: 'x' }, { idempotencyKey: 'k', signal: ac.signal }))
      .rejects.toThrow('late');
    expect(lines).toEqual([]);
  });
});
