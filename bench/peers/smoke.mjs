// Smoke test of a peer's wire protocol, speaking raw WebSocket frames exactly as the load driver
// does (bench/peers/README.md): two clients, each on its own instance when two endpoints are
// given (so the op crosses Redis), one op from the first, the second must receive it and the
// first its ack (and not its own op), and a join must return the seeded notes.
//   node smoke.mjs --target socketio|sharedb --endpoints 127.0.0.1:P1[,127.0.0.1:P2] [--verbose]
// Exit status 0 when every check passed, 1 otherwise.
import WebSocket from 'ws';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const target = opt('target');
const endpoints = (opt('endpoints') || '').split(',').filter(Boolean);
const verbose = args.includes('--verbose');
const TIMEOUT_MS = Number(opt('timeout-ms', 5000));
if (!['socketio', 'sharedb'].includes(target) || endpoints.length === 0) {
  console.error('usage: node smoke.mjs --target socketio|sharedb --endpoints HOST:PORT[,HOST:PORT]');
  process.exit(2);
}
const ep = (i) => endpoints[i % endpoints.length];
const room = `smoke-${process.pid}-${Date.now().toString(36)}`;
let failures = 0;

function check(ok, what, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${target}: ${what}${!ok && detail ? ` (${detail})` : ''}`);
  if (!ok) failures++;
  return ok;
}

// A WebSocket whose text frames are queued, so a test can wait for the next frame that matches.
class Client {
  constructor(name, url) {
    this.name = name;
    this.frames = [];
    this.waiters = [];
    this.onFrame = null;
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data) => {
      const text = data.toString('utf8');
      if (verbose) console.log(`  ${this.name} <- ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`);
      if (this.onFrame && this.onFrame(text)) return;
      this.frames.push(text);
      this.wake();
    });
  }

  send(text) {
    if (verbose) console.log(`  ${this.name} -> ${text}`);
    this.ws.send(text);
  }

  wake() {
    for (const w of [...this.waiters]) {
      const i = this.frames.findIndex(w.pred);
      if (i >= 0) {
        const [frame] = this.frames.splice(i, 1);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(frame);
      }
    }
  }

  // The first queued or future frame for which pred(text) holds; null after the timeout.
  next(pred = () => true, timeoutMs = TIMEOUT_MS) {
    return new Promise((resolve) => {
      const w = { pred, resolve, timer: null };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(w);
      this.wake();
    });
  }

  close() {
    this.ws.close();
  }
}

async function seed(endpoint, notes, ops) {
  const res = await fetch(`http://${endpoint}/bench/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room, notes, ops }),
  });
  const body = await res.text();
  return check(res.status === 200 && JSON.parse(body).ok === true,
    `POST /bench/seed {room, notes: ${notes}, ops: ${ops}} -> 200 {"ok":true}`, `${res.status} ${body}`);
}

// ---- Socket.IO: Engine.IO v4 packets over WebSocket ----

async function sioConnect(name, endpoint, user) {
  const c = new Client(name, `ws://${endpoint}/socket.io/?EIO=4&transport=websocket`);
  // Engine.IO ping: the server sends "2", the client answers "3".
  c.onFrame = (text) => {
    if (text === '2') {
      c.send('3');
      return true;
    }
    return false;
  };
  await c.opened;
  const open = await c.next((t) => t.startsWith('0'));
  check(open !== null && typeof JSON.parse(open.slice(1)).sid === 'string',
    `${name}: Engine.IO open packet 0{"sid",...}`, open);
  c.send(`40${JSON.stringify({ room, user })}`);
  const connected = await c.next((t) => t.startsWith('40') || t.startsWith('44'));
  check(connected !== null && connected.startsWith('40{') &&
    typeof JSON.parse(connected.slice(2)).sid === 'string',
  `${name}: CONNECT with auth -> 40{"sid":...}`, connected);
  return c;
}

function sioAck(c, id) {
  return c.next((t) => t.startsWith(`43${id}[`)).then((t) => (t ? JSON.parse(t.slice(2 + String(id).length)) : null));
}

async function smokeSocketio() {
  const notes = 5;
  const ops = 2;
  if (!(await seed(ep(0), notes, ops))) return;
  const a = await sioConnect('A', ep(0), 'uA');
  const b = await sioConnect('B', ep(1), 'uB');

  const op = { k: `A-${Date.now()}`, note: 'n0', text: 'hello' };
  a.send(`421${JSON.stringify(['op', op])}`);
  const [ack, got] = await Promise.all([sioAck(a, 1), b.next((t) => t.startsWith('42['))]);
  check(JSON.stringify(ack) === '[{"ok":true}]', 'op -> sender gets 431[{"ok":true}]', JSON.stringify(ack));
  check(got !== null && JSON.stringify(JSON.parse(got.slice(2))) === JSON.stringify(['op', op]),
    `op -> the other client (${ep(1)}) gets 42["op",{k,note,text}]`, got);
  const echo = await a.next((t) => t.startsWith('42['), 300);
  check(echo === null, 'the sender does not receive its own op', echo);

  // The join on the seeding instance sees its unflushed bodies at once.
  a.send('422["join",{}]');
  const joinA = await sioAck(a, 2);
  const bodies = joinA && joinA[0] && joinA[0].notes
    ? Object.fromEntries(joinA[0].notes.map((n) => [n.id, n.body])) : null;
  const want = { n0: 'hello', n1: 'seed op 1', n2: 'seed', n3: 'seed', n4: 'seed' };
  check(bodies !== null && JSON.stringify(bodies, Object.keys(want)) === JSON.stringify(want) &&
    Object.keys(bodies).length === notes,
  'join -> 43<id>[{"notes":[{id,body},...]}] with the seeded notes and pending bodies',
  JSON.stringify(joinA));

  // After the write-behind debounce (1-2 s) the other instance reads the same bodies from
  // PostgreSQL: join there until it does, for up to 10 s.
  let joinB = null;
  let bodiesB = null;
  const until = Date.now() + 10000;
  for (let id = 10; Date.now() < until; id++) {
    await new Promise((r) => setTimeout(r, 250));
    b.send(`42${id}["join",{}]`);
    joinB = await sioAck(b, id);
    bodiesB = joinB && joinB[0] && joinB[0].notes
      ? Object.fromEntries(joinB[0].notes.map((n) => [n.id, n.body])) : null;
    if (bodiesB && JSON.stringify(bodiesB, Object.keys(want)) === JSON.stringify(want)) break;
  }
  check(bodiesB !== null && JSON.stringify(bodiesB, Object.keys(want)) === JSON.stringify(want),
    `join on ${ep(1)} after the write-behind debounce -> the bodies written to PostgreSQL`, JSON.stringify(joinB));

  const bad = '423["op",{"k":"x"}]';
  a.send(bad);
  const badAck = await sioAck(a, 3);
  check(badAck !== null && badAck[0].ok === false, 'a malformed op -> 43<id>[{"ok":false,...}]', JSON.stringify(badAck));
  a.close();
  b.close();
}

// ---- ShareDB: its JSON protocol, one message per text frame ----

async function sdbConnect(name, endpoint) {
  const c = new Client(name, `ws://${endpoint}/`);
  await c.opened;
  const init = await c.next((t) => JSON.parse(t).a === 'init');
  check(init !== null, `${name}: the server's first message {"a":"init",...}`, init);
  c.send(JSON.stringify({ a: 'hs', id: null }));
  const hs = await c.next((t) => JSON.parse(t).a === 'hs');
  const m = hs && JSON.parse(hs);
  check(m !== null && typeof m.id === 'string' && m.protocol === 1,
    `${name}: {"a":"hs","id":null} -> {"a":"hs","protocol":1,"protocolMinor":..,"id":"<src>",...}`, hs);
  c.src = m && m.id;
  c.seq = 1;
  return c;
}

async function sdbSubscribe(c) {
  c.send(JSON.stringify({ a: 's', c: 'rooms', d: room }));
  const t = await c.next((x) => {
    const m = JSON.parse(x);
    return m.a === 's' && m.d === room;
  });
  return t && JSON.parse(t);
}

const isOp = (room_, pred) => (t) => {
  const m = JSON.parse(t);
  return m.a === 'op' && m.d === room_ && pred(m);
};

async function smokeSharedb() {
  const notes = 5;
  const ops = 2;
  if (!(await seed(ep(0), notes, ops))) return;
  const a = await sdbConnect('A', ep(0));
  const b = await sdbConnect('B', ep(1));

  const subA = await sdbSubscribe(a);
  const subB = await sdbSubscribe(b);
  const docNotes = subA && subA.data && subA.data.data && subA.data.data.notes;
  check(docNotes && Object.keys(docNotes).length === notes && docNotes.n0.body === 'xseed' &&
    docNotes.n2.body === 'seed' && docNotes.n2.title === '',
  'subscribe -> {"a":"s",...,"data":{"v":V,"data":{"notes":{...}}}} with the seeded notes',
  JSON.stringify(subA).slice(0, 300));
  const v = subA && subA.data && subA.data.v;
  check(v === 1 + ops && subB && subB.data && subB.data.v === v,
    `subscribe -> v = 1 (create) + ${ops} seeded ops, the same on both instances`, `${v} ${subB && subB.data && subB.data.v}`);

  const op = [{ p: ['notes', 'n3', 'body', 0], si: 'x' }];
  a.send(JSON.stringify({ a: 'op', c: 'rooms', d: room, v, src: a.src, seq: a.seq, op }));
  const [ackText, gotText] = await Promise.all([
    a.next(isOp(room, (m) => m.src === a.src && m.seq === 1)),
    b.next(isOp(room, (m) => m.src === a.src && m.seq === 1)),
  ]);
  const ack = ackText && JSON.parse(ackText);
  check(ack && !('op' in ack) && ack.v === v && ack.c === 'rooms',
    'op -> the sender gets {"src","seq","v":V,"a":"op","c","d"} without "op"', ackText);
  const got = gotText && JSON.parse(gotText);
  check(got && got.v === v && JSON.stringify(got.op) === JSON.stringify(op),
    `op -> the other client (${ep(1)}) gets {"a":"op","c","d","v":V,"src","seq","op":[...]}`, gotText);
  const echo = await a.next(isOp(room, () => true), 300);
  check(echo === null, 'the sender does not receive its own op', echo);

  // B submits on the version it had before A's op: ShareDB transforms it, sends B the op it
  // missed (A's, again) and then the ack at V+1.
  const op2 = [{ p: ['notes', 'n4', 'body', 0], si: 'y' }];
  b.send(JSON.stringify({ a: 'op', c: 'rooms', d: room, v, src: b.src, seq: b.seq, op: op2 }));
  const ack2Text = await b.next(isOp(room, (m) => m.src === b.src && m.seq === 1));
  const ack2 = ack2Text && JSON.parse(ack2Text);
  check(ack2 && !('op' in ack2) && ack2.v === v + 1,
    'an op on a stale version -> transformed, acked at V+1', ack2Text);
  const again = b.frames.find(isOp(room, (m) => m.src === a.src && m.seq === 1 && 'op' in m));
  console.log(`note ${target}: before that ack B got A's op ${again ? 'a second time (the ops it missed)' : 'only once'}`);
  const got2 = await a.next(isOp(room, (m) => m.src === b.src));
  check(got2 !== null && JSON.parse(got2).v === v + 1 && 'op' in JSON.parse(got2),
    'A gets B\'s transformed op at V+1', got2);

  // A fetch (what a joining client does) shows the seeded notes and both ops.
  b.send(JSON.stringify({ a: 'f', c: 'rooms', d: room }));
  const fText = await b.next((t) => JSON.parse(t).a === 'f');
  const f = fText && JSON.parse(fText);
  const fn = f && f.data && f.data.data && f.data.data.notes;
  check(fn && f.data.v === v + 2 && fn.n3.body === 'xseed' && fn.n4.body === 'yseed' &&
    Object.keys(fn).length === notes,
  'fetch {"a":"f","c","d"} -> {"a":"f",...,"data":{"v":V+2,"data":{...}}}', fText && fText.slice(0, 300));
  a.close();
  b.close();
}

try {
  if (target === 'socketio') await smokeSocketio();
  else await smokeSharedb();
} catch (err) {
  check(false, 'no exception', err.stack || String(err));
}
console.log(`${target}: ${failures === 0 ? 'all checks passed' : `${failures} check(s) failed`}`);
process.exit(failures === 0 ? 0 : 1);
