// The baselines tny is measured against: what bare Node can do on this machine.
//
//   node bench/baseline-server.js redirect <key-TAB-url file>   302 from a Map (PORT, HOST)
//   node bench/baseline-server.js create <sqlite file>          POST /api/v1/links → one INSERT
//   node bench/baseline-server.js create-batched <sqlite file>  the same, the INSERTs of one event-loop
//                                                               turn in one transaction (group commit)
//   node bench/baseline-server.js insert-loop <sqlite file> <s> single-row INSERTs for s seconds,
//                                                               prints {"rows":…,"seconds":…}
//
// Plain JavaScript (no tsx, no framework) on purpose: it is the ceiling, not a competitor.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { setImmediate } from 'node:timers';
import { URL } from 'node:url';
import Database from 'better-sqlite3';

const [mode, file, seconds] = process.argv.slice(2);
const port = Number(process.env.PORT ?? 8081);
const host = process.env.HOST ?? '127.0.0.1';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function randomKey() {
  const bytes = randomBytes(16);
  let key = '';
  for (const b of bytes) {
    if (b < 248) key += BASE62[b % 62];
    if (key.length === 7) return key;
  }
  return randomKey();
}

/** The columns and indexes of tny's short_urls (src/adapters/sql/migrations.ts), on the same pragmas. */
function openStore(path) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.exec(`
    create table if not exists short_urls (
      id integer primary key autoincrement,
      short_key varchar(64) not null unique,
      original_url text not null,
      account_id bigint not null,
      created_at bigint not null,
      updated_at bigint not null,
      expires_at bigint,
      max_clicks bigint,
      click_count bigint not null default 0,
      redirect_status integer not null,
      password_hash text,
      forward_query integer not null default 0,
      disabled integer not null default 0
    );
    create index if not exists short_urls_account_created_at on short_urls (account_id, created_at, short_key);
    create index if not exists short_urls_created_at on short_urls (created_at, short_key);
    create index if not exists short_urls_account_click_count on short_urls (account_id, click_count, short_key);
    create index if not exists short_urls_click_count on short_urls (click_count, short_key);
  `);
  const insert = db.prepare(
    `insert into short_urls (short_key, original_url, account_id, created_at, updated_at, redirect_status)
     values (?, ?, 1, ?, ?, 302) on conflict (short_key) do nothing returning id`,
  );
  return {
    db,
    /** Runs `fn` in one IMMEDIATE transaction. */
    inTransaction: (fn) => db.transaction(fn).immediate(),
    /** Inserts under a fresh random key; returns the key. */
    add(url) {
      for (;;) {
        const key = randomKey();
        const now = Date.now();
        if (insert.get(key, url, now, now) !== undefined) return key;
      }
    },
  };
}

function notFound(res) {
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': 2 });
  res.end('{}');
}

function serveRedirects(mapFile) {
  const links = new Map();
  for (const line of readFileSync(mapFile, 'utf8').split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) links.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const target = links.get(q === -1 ? url.slice(1) : url.slice(1, q));
    if (target === undefined) return notFound(res);
    res.writeHead(302, { location: target, 'cache-control': 'private, max-age=0', 'content-length': 0 });
    res.end();
  });
}

/**
 * `batched`: the creates that arrive in one event-loop turn are inserted in one transaction and
 * answered after its commit, as tny does; otherwise one INSERT (its own transaction) each.
 */
function serveCreates(dbFile, batched) {
  const store = openStore(dbFile);
  let turn = [];
  const flush = () => {
    const group = turn;
    turn = [];
    const keys = store.inTransaction(() => group.map((g) => store.add(g.url)));
    group.forEach((g, i) => g.done(keys[i]));
  };
  const create = (url, done) => {
    if (!batched) return done(store.add(url));
    if (turn.length === 0) setImmediate(flush);
    turn.push({ url, done });
  };
  return createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/v1/links') return notFound(res);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let url;
      try {
        url = new URL(JSON.parse(Buffer.concat(chunks).toString('utf8')).url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      } catch {
        res.writeHead(400, { 'content-type': 'application/json', 'content-length': 2 });
        return res.end('{}');
      }
      create(url.href, (key) => {
        const body = JSON.stringify({ status: 'ok', data: { key, short_url: `http://${host}:${port}/${key}`, url: url.href } });
        res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
  });
}

function insertLoop(dbFile, s) {
  const store = openStore(dbFile);
  const until = Date.now() + s * 1000;
  const started = process.hrtime.bigint();
  let rows = 0;
  while (Date.now() < until) {
    for (let i = 0; i < 100; i++) store.add(`https://example.com/bench/loop/${rows++}?utm_source=bench`);
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  store.db.close();
  process.stdout.write(JSON.stringify({ rows, seconds: elapsed }) + '\n');
}

if (mode === 'insert-loop') {
  insertLoop(file, Number(seconds ?? 5));
} else {
  const server = mode === 'redirect' ? serveRedirects(file) : mode === 'create' || mode === 'create-batched' ? serveCreates(file, mode === 'create-batched') : undefined;
  if (!server || !file) {
    process.stderr.write('usage: baseline-server.js redirect <map.tsv> | create <db> | create-batched <db> | insert-loop <db> <seconds>\n');
    process.exit(2);
  }
  server.listen(port, host);
  const stop = () => {
    server.closeAllConnections();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
