import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Reply {
  /** 0: never answer, for timeout tests. */
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A local HTTP server standing in for a provider: it records every request and answers with
 * what `reply` returns (a queue of scripted replies, then the default).
 */
export interface RecordingServer {
  url: string;
  requests: Recorded[];
  replies: Array<Reply | ((req: Recorded) => Reply)>;
  fallback: (req: Recorded) => Reply;
  close(): Promise<void>;
}

export async function startRecordingServer(fallback: (req: Recorded) => Reply = () => ({ status: 200 })): Promise<RecordingServer> {
  const state = { requests: [] as Recorded[], replies: [] as RecordingServer['replies'], fallback };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      state.requests.push(rec);
      const next = state.replies.shift() ?? self.fallback;
      const reply = typeof next === 'function' ? next(rec) : next;
      if (reply.status === 0) return; // hang: never answer (closed by close())
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const self: RecordingServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: state.requests,
    replies: state.replies,
    fallback,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return self;
}
