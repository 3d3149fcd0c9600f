// ShareDB peer for bench/compare.sh: the standard ShareDB setup (sharedb-postgres for snapshots
// and ops, sharedb-redis-pubsub between instances, ws + @teamwork/websocket-json-stream for the
// clients), one Node process per instance; instances share one Redis and one PostgreSQL.
//
//   PORT=8201 REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgresql://... node sharedb/server.js
//
// Collection `rooms`, one json0 document per room: {"notes": {"<id>": {"title": "", "body": "..."}}}.
// Clients speak ShareDB's own protocol on ws://HOST:PORT/ (bench/peers/README.md).
//   POST /bench/seed {room, notes, ops} -> the room's doc with notes n0..n<notes-1> (body "seed"),
//                                          then `ops` ops (an "x" at the start of a body)
//   GET /healthz, /readyz               -> 200 once PostgreSQL and Redis answer
'use strict';

const http = require('node:http');
const ShareDB = require('sharedb');
const ShareDBPostgres = require('sharedb-postgres');
const ShareDBRedisPubSub = require('sharedb-redis-pubsub');
const WebSocketJSONStream = require('@teamwork/websocket-json-stream');
const { WebSocketServer } = require('ws');
const { Pool } = require('pg');

const PORT = Number(process.env.PORT || 8201);
const HOST = process.env.HOST || '127.0.0.1';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const COLLECTION = 'rooms';

// sharedb-postgres's schema (its structure.sql, in its final form), created when missing.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ops (
  collection character varying(255) not null,
  doc_id character varying(255) not null,
  version integer not null,
  operation jsonb not null,
  PRIMARY KEY (collection, doc_id, version)
);
CREATE TABLE IF NOT EXISTS snapshots (
  collection character varying(255) not null,
  doc_id character varying(255) not null,
  doc_type character varying(255),
  version integer not null,
  data jsonb,
  metadata jsonb,
  PRIMARY KEY (collection, doc_id)
);
CREATE INDEX IF NOT EXISTS snapshots_version ON snapshots (collection, doc_id);
`;

async function createSchema() {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 1 });
  const client = await pool.connect();
  try {
    // Two instances may start at once: one creates the tables, the other waits for it.
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(7302)');
    await client.query(SCHEMA);
    await client.query('COMMIT');
  } finally {
    client.release();
    await pool.end();
  }
}

function readJson(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const call = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

// Creates (or re-creates) the room's doc with `count` notes, then submits `ops` ops one by one
// (each acknowledged before the next, so each is its own version).
async function seed(backend, room, count, ops) {
  const connection = backend.connect();
  try {
    const doc = connection.get(COLLECTION, room);
    await call((cb) => doc.fetch(cb));
    if (doc.type) await call((cb) => doc.del(cb));
    const notes = {};
    for (let i = 0; i < count; i++) notes[`n${i}`] = { title: '', body: 'seed' };
    await call((cb) => doc.create({ notes }, 'json0', cb));
    for (let i = 0; i < ops && count > 0; i++) {
      await call((cb) => doc.submitOp([{ p: ['notes', `n${i % count}`, 'body', 0], si: 'x' }], cb));
    }
    doc.destroy();
  } finally {
    connection.close();
  }
}

// ShareDB calls the adapter's _subscribe for every subscription to a channel that arrives
// before the first one is confirmed, and sharedb-redis-pubsub adds a new listener to the Redis
// client on each call, which node-redis keeps alongside the others: N clients joining a room at
// once would each get every op of the room N times. Concurrent subscribes to one channel share
// one Redis subscription here. (SHAREDB_STOCK_SUBSCRIBE=1 leaves the adapter as it is.)
function coalesceSubscribes(pubsub) {
  const subscribe = pubsub._subscribe.bind(pubsub);
  const waiting = new Map(); // channel -> callbacks of the subscribes waiting for the first
  pubsub._subscribe = (channel, callback) => {
    const callbacks = waiting.get(channel);
    if (callbacks) {
      callbacks.push(callback);
      return;
    }
    waiting.set(channel, [callback]);
    subscribe(channel, (err) => {
      const all = waiting.get(channel);
      waiting.delete(channel);
      for (const cb of all) cb(err);
    });
  };
}

async function main() {
  await createSchema();

  const db = ShareDBPostgres({ connectionString: DATABASE_URL });
  const pubsub = ShareDBRedisPubSub({ url: REDIS_URL });
  if (process.env.SHAREDB_STOCK_SUBSCRIBE !== '1') coalesceSubscribes(pubsub);
  for (const c of [pubsub.client, pubsub.observer]) {
    c.on('error', (err) => console.error('sharedb: redis error:', err.message));
  }
  const backend = new ShareDB({ db, pubsub });

  const httpServer = http.createServer(async (req, res) => {
    try {
      if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) {
        await Promise.all([db._pool.query('SELECT 1'), pubsub.client.ping()]);
        return reply(res, 200, { ok: true });
      }
      if (req.method === 'POST' && req.url === '/bench/seed') {
        const { room, notes = 0, ops = 0 } = await readJson(req);
        if (typeof room !== 'string' || !room || !Number.isInteger(notes) || !Number.isInteger(ops) ||
            notes < 0 || notes > 100000 || ops < 0 || ops > 1000000) {
          return reply(res, 400, { ok: false, error: 'want {room, notes, ops}' });
        }
        await seed(backend, room, notes, ops);
        return reply(res, 200, { ok: true });
      }
      reply(res, 404, { ok: false, error: 'not found' });
    } catch (err) {
      reply(res, 500, { ok: false, error: err.message });
    }
  });

  const wss = new WebSocketServer({ server: httpServer, maxPayload: 1 << 20 });
  wss.on('connection', (ws) => {
    ws.on('error', (err) => console.error('sharedb: websocket error:', err.message));
    const stream = new WebSocketJSONStream(ws);
    stream.on('error', () => {}); // a write after the socket closed
    backend.listen(stream);
  });

  await new Promise((resolve) => httpServer.listen(PORT, HOST, resolve));
  console.log(`sharedb: listening on ${HOST}:${httpServer.address().port}`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const ws of wss.clients) ws.terminate();
    httpServer.close();
    backend.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error('sharedb: failed to start:', err);
  process.exit(1);
});
