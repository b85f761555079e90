import { request, type Dispatcher } from 'undici';
import { transportFailure } from '../../notifier/channels/errors.js';

/**
 * One HTTP request for a channel adapter: undici (so a guarded dispatcher can be passed),
 * no redirects followed (undici's `request` never follows them) (a 3xx could point into the private network; it reads as permanent),
 * the caller's signal, and a bounded read of the answer (providers' error bodies are small;
 * a hostile webhook receiver must not make us buffer a gigabyte).
 */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface HttpCall {
  url: string;
  method?: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string | Buffer;
  signal: AbortSignal;
  dispatcher?: Dispatcher;
  /** Names the provider in error messages. */
  what: string;
  maxAnswerBytes?: number;
}

export async function httpCall(call: HttpCall): Promise<HttpAnswer> {
  const limit = call.maxAnswerBytes ?? 64 * 1024;
  try {
    const res = await request(call.url, {
      method: call.method ?? 'POST',
      headers: call.headers,
      body: call.body,
      signal: call.signal,
      dispatcher: call.dispatcher,
    });
    const declared = Number(res.headers['content-length']);
    if (res.statusCode === 204 || (Number.isInteger(declared) && declared <= limit)) {
      // The common case, a small answer of known length: read it whole (cheaper than the loop below).
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      if (size < limit) chunks.push(buf.subarray(0, limit - size));
      size += buf.length;
    }
    return { status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
  } catch (err) {
    throw transportFailure(call.what, errorWithVerdict(err), call.signal);
  }
}

/** undici may wrap a connect error (e.g. the SSRF guard's) in `cause`; find the classified one. */
function errorWithVerdict(err: unknown): unknown {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    if (typeof (current as { retryable?: unknown }).retryable === 'boolean') return current;
    current = (current as { cause?: unknown }).cause;
  }
  return err;
}

export function headerValue(headers: HttpAnswer['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
