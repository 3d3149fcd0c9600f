// Socket.IO peer for bench/compare.sh: rooms of notes with the usual Socket.IO stack, one
// Node process per instance; instances share one Redis (the Redis adapter fans broadcasts out
// to every instance) and one PostgreSQL (note bodies, written behind with a per-note debounce).
//
//   PORT=8101 REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgresql://... node socketio/server.js
//
// Wire protocol (what bench/peers/README.md describes for the load driver):
//   connect with auth {room, user}        -> joined to the room
//   "op"   {k, note, text}, with an ack    -> others in the room get "op" {k, note, text};
//                                            ack {ok: true}; the note's body becomes `text`
//   "join" {}, with an ack                 -> ack {notes: [{id, body}, ...]}
//   POST /bench/seed {room, notes, ops}    -> notes n0..n<notes-1> with body "seed" in
//                                            PostgreSQL, then `ops` updates left pending
//   GET /healthz, /readyz                  -> 200 once Redis and PostgreSQL answer
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const { Pool } = require('pg');

const PORT = Number(process.env.PORT || 8101);
const HOST = process.env.HOST || '127.0.0.1';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
// Write-behind: a note is written once it has been quiet this long, and at the latest this
// long after its first unwritten change.
const FLUSH_QUIET_MS = Number(process.env.SIO_FLUSH_QUIET_MS || 1000);
const FLUSH_MAX_MS = Number(process.env.SIO_FLUSH_MAX_MS || 30000);
// "sharded": the adapter's SPUBLISH/SSUBSCRIBE variant (Redis 7), one channel per room.
const ADAPTER = process.env.SIO_ADAPTER || 'classic';
const MAX_TEXT = 64 * 1024;

const pool = new Pool({ connectionString: DATABASE_URL, max: 10 });
pool.on('error', (err) => console.error('socketio: pg pool error:', err.message));

// room -> Map(note id -> {body, timer, first}) of bodies not yet in PostgreSQL.
const pending = new Map();
let flushing = 0;

function schedule(room, id, body) {
  let notes = pending.get(room);
  if (!notes) {
    notes = new Map();
    pending.set(room, notes);
  }
  const now = Date.now();
  let entry = notes.get(id);
  if (entry) {
    clearTimeout(entry.timer);
  } else {
    entry = { body, timer: null, first: now };
    notes.set(id, entry);
  }
  entry.body = body;
  const wait = Math.max(0, Math.min(FLUSH_QUIET_MS, entry.first + FLUSH_MAX_MS - now));
  entry.timer = setTimeout(() => flush(room, id, entry), wait);
}

async function flush(room, id, entry) {
  const body = entry.body;
  entry.first = Date.now(); // a change during the write gets a fresh max wait
  flushing++;
  try {
    await pool.query(
      `INSERT INTO sio_notes (room, id, body) VALUES ($1, $2, $3)
       ON CONFLICT (room, id) DO UPDATE SET body = EXCLUDED.body`,
      [room, id, body],
    );
    const notes = pending.get(room);
    // Keep the entry when the note changed while the write was under way (its own timer runs).
    if (notes && notes.get(id) === entry && entry.body === body) {
      notes.delete(id);
      if (notes.size === 0) pending.delete(room);
    }
  } catch (err) {
    console.error(`socketio: flush of ${room}/${id} failed: ${err.message}; retrying`);
    entry.timer = setTimeout(() => flush(room, id, entry), FLUSH_QUIET_MS);
  } finally {
    flushing--;
  }
}

async function flushAll() {
  const writes = [];
  for (const [room, notes] of pending) {
    for (const [id, entry] of notes) {
      clearTimeout(entry.timer);
      writes.push(flush(room, id, entry));
    }
  }
  await Promise.allSettled(writes);
}

async function roomNotes(room) {
  const { rows } = await pool.query('SELECT id, body FROM sio_notes WHERE room = $1', [room]);
  const notes = pending.get(room);
  if (notes) {
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [id, entry] of notes) {
      const row = byId.get(id);
      if (row) row.body = entry.body;
      else rows.push({ id, body: entry.body });
    }
  }
  return rows;
}

async function seed(room, count, ops) {
  const ids = Array.from({ length: count }, (_, i) => `n${i}`);
  await pool.query(
    `INSERT INTO sio_notes (room, id, body) SELECT $1, unnest($2::text[]), 'seed'
     ON CONFLICT (room, id) DO UPDATE SET body = EXCLUDED.body`,
    [room, ids],
  );
  for (let i = 0; i < ops && count > 0; i++) schedule(room, ids[i % count], `seed op ${i}`);
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

// Socket.IO answers its own path (/socket.io/); every other request comes here.
async function onRequest(req, res) {
  try {
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) {
      await pool.query('SELECT 1');
      return reply(res, 200, { ok: true });
    }
    if (req.method === 'POST' && req.url === '/bench/seed') {
      const { room, notes = 0, ops = 0 } = await readJson(req);
      if (typeof room !== 'string' || !room || !Number.isInteger(notes) || !Number.isInteger(ops) ||
          notes < 0 || notes > 100000 || ops < 0 || ops > 1000000) {
        return reply(res, 400, { ok: false, error: 'want {room, notes, ops}' });
      }
      await seed(room, notes, ops);
      return reply(res, 200, { ok: true });
    }
    reply(res, 404, { ok: false, error: 'not found' });
  } catch (err) {
    reply(res, 500, { ok: false, error: err.message });
  }
}

async function main() {
  const setup = await pool.connect();
  try {
    // Two instances may start at once: one creates the table, the other waits for it.
    await setup.query('BEGIN');
    await setup.query('SELECT pg_advisory_xact_lock(7301)');
    await setup.query(
      'CREATE TABLE IF NOT EXISTS sio_notes (room text, id text, body text, PRIMARY KEY (room, id))',
    );
    await setup.query('COMMIT');
  } finally {
    setup.release();
  }

  const pubClient = createClient({ url: REDIS_URL });
  const subClient = pubClient.duplicate();
  for (const c of [pubClient, subClient]) {
    c.on('error', (err) => console.error('socketio: redis error:', err.message));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const httpServer = http.createServer(onRequest);
  const io = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: 1e6,
    adapter: ADAPTER === 'sharded'
      ? createShardedAdapter(pubClient, subClient, { subscriptionMode: 'dynamic' })
      : createAdapter(pubClient, subClient),
  });

  io.use((socket, next) => {
    const { room, user } = socket.handshake.auth || {};
    if (typeof room !== 'string' || !room || room.length > 200) return next(new Error('auth.room required'));
    socket.data.room = room;
    socket.data.user = typeof user === 'string' ? user : '';
    next();
  });

  io.on('connection', (socket) => {
    const room = socket.data.room;
    socket.join(room);

    socket.on('op', (payload, ack) => {
      if (typeof ack !== 'function') ack = () => {};
      if (!payload || typeof payload.note !== 'string' || typeof payload.text !== 'string' ||
          payload.text.length > MAX_TEXT) {
        return ack({ ok: false, error: 'want {k, note, text}' });
      }
      socket.to(room).emit('op', payload);
      ack({ ok: true });
      schedule(room, payload.note, payload.text);
    });

    socket.on('join', async (_payload, ack) => {
      if (typeof ack !== 'function') return;
      try {
        ack({ notes: await roomNotes(room) });
      } catch (err) {
        ack({ ok: false, error: err.message });
      }
    });
  });

  await new Promise((resolve) => httpServer.listen(PORT, HOST, resolve));
  console.log(`socketio: listening on ${HOST}:${httpServer.address().port} (adapter ${ADAPTER})`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    io.close();
    await flushAll();
    while (flushing > 0) await new Promise((r) => setTimeout(r, 20));
    await Promise.allSettled([pubClient.quit(), subClient.quit(), pool.end()]);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error('socketio: failed to start:', err);
  process.exit(1);
});
