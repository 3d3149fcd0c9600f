// bench/compare.sh's summary: gathers the runs' JSON (fun-notes-load's and the Redis limits')
// into one results file and prints fun-notes beside each peer (as ratios) and beside each
// limit (as a fraction).
//   node summary.mjs --out RESULTS.json [--workloads "typing join ..."] [--sweep-p99-ms 100]
//       [--typing-members 20] [--big-members 400] [--config "K=V;K=V"] RUN.json...
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opts = {};
const files = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i].startsWith('--')) opts[argv[i].slice(2)] = argv[++i];
  else files.push(argv[i]);
}
if (!opts.out) {
  console.error('usage: node summary.mjs --out RESULTS.json RUN.json...');
  process.exit(2);
}
const p99Limit = Number(opts['sweep-p99-ms'] ?? 100);
const membersOf = (label) =>
  Number(label.startsWith('bigroom') ? opts['big-members'] ?? 400 : opts['typing-members'] ?? 20);

const runs = [];
for (const f of files) {
  const text = readFileSync(f, 'utf8').trim();
  if (!text) continue;
  // One JSON value, or one per line.
  let values;
  try {
    values = [JSON.parse(text)];
  } catch {
    values = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }
  for (const v of values.flat()) runs.push(v);
}
const targetOrder = ['fun-notes', 'socketio', 'sharedb', 'broadcast', 'redis'];
const rank = (t) => targetOrder.indexOf(t) + 1 || 99;
runs.sort((a, b) => rank(a.target) - rank(b.target));

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const config = Object.fromEntries(
  (opts.config ?? '').split(';').filter(Boolean).map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }),
);

// ---- derived figures ----

const ok = (r) => r && !r.failed;
const byLabel = new Map(runs.map((r) => [r.label, r]));
const run = (label) => (ok(byLabel.get(label)) ? byLabel.get(label) : null);
// Ops per second: the driver's own figure when it gives one, else deliveries over the
// receivers of each op (every member but the typist).
const opsPerS = (r) =>
  r.ops_per_s ?? r.acked_ops_per_s ?? (r.deliveries_per_s != null ? r.deliveries_per_s / Math.max(1, membersOf(r.label) - 1) : null);

const sweepTargets = [...new Set(runs.filter((r) => r.label?.startsWith('sweep-')).map((r) => r.target))];
const sweep = {};
for (const t of sweepTargets) {
  const points = runs
    .filter((r) => ok(r) && r.label.startsWith(`sweep-${t}-`))
    .sort((a, b) => a.offered_deliveries_per_s - b.offered_deliveries_per_s);
  // Capacity: the highest offered load met with p99 within the limit, no errors, and at least
  // 95 % of the offered deliveries made.
  const good = points.filter((r) =>
    r.p99_ms <= p99Limit && !(r.errors > 0) && r.deliveries_per_s >= 0.95 * r.offered_deliveries_per_s);
  const best = good[good.length - 1];
  sweep[t] = {
    p99_limit_ms: p99Limit,
    capacity_deliveries_per_s: best ? best.deliveries_per_s : null,
    capacity_offered_deliveries_per_s: best ? best.offered_deliveries_per_s : null,
    capacity_ops_per_s: best ? opsPerS(best) : null,
    capacity_label: best ? best.label : null,
    points: points.map((r) => ({ label: r.label, offered: r.offered_deliveries_per_s, delivered: r.deliveries_per_s, p99_ms: r.p99_ms })),
  };
}

const results = {
  date: new Date().toISOString(),
  commit: sh('git', ['-C', repo, 'rev-parse', 'HEAD']),
  dirty: (sh('git', ['-C', repo, 'status', '--porcelain']) ?? '') !== '',
  machine: {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? null,
    mem_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
  },
  versions: {
    node: process.version,
    redis: sh('redis-server', ['--version']),
    postgres: sh('psql', ['--version']),
  },
  workloads: (opts.workloads ?? '').split(/\s+/).filter(Boolean),
  config,
  runs,
  sweep,
};
writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);

// ---- printing ----

const fmt = (v, d = 1) => {
  if (v == null || Number.isNaN(v)) return '-';
  if (Math.abs(v) >= 10000) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(Math.abs(v) >= 100 ? 0 : d);
};
const ratio = (a, b) => {
  if (a == null || b == null || b === 0) return '-';
  const r = a / b;
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
};
function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  console.log(line(headers));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}
const targetsIn = (prefix) => runs.filter((r) => r.label?.startsWith(prefix)).map((r) => r.target);
const peersOf = (prefix) => [...new Set(targetsIn(prefix))].filter((t) => t !== 'fun-notes');

const redisVersion = /v=(\S+)/.exec(results.versions.redis ?? '')?.[1] ?? '?';
console.log(`\n== summary (${results.machine.cpus} cores, Redis ${redisVersion}, Node ${results.versions.node}) ==`);
console.log('ratios are fun-notes / peer: above 1x is more for fun-notes (deliveries), below 1x is less (latency, CPU, memory)');

for (const wl of ['typing', 'bigroom', 'bigroom-cpu']) {
  const prefix = `${wl}-`;
  const rs = runs.filter((r) => r.label?.startsWith(prefix) && (wl !== 'bigroom' || !r.label.startsWith('bigroom-cpu')));
  if (!rs.length) continue;
  console.log(`\n${wl}`);
  table(
    ['target', 'offered/s', 'delivered/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'cpu s/1k', 'rss MiB', 'errors'],
    rs.map((r) => (ok(r)
      ? [r.target, fmt(r.offered_deliveries_per_s), fmt(r.deliveries_per_s), fmt(r.p50_ms, 2), fmt(r.p99_ms, 2),
        fmt(r.p999_ms, 2), fmt(r.max_ms, 2), fmt(r.cpu_s_per_1000_deliveries, 3), fmt(r.rss_kib / 1024), r.errors ?? '-']
      : [r.target, 'FAILED', '', '', '', '', '', '', '', ''])),
  );
  const fn = run(`${prefix}fun-notes`);
  const peers = peersOf(prefix).filter((t) => run(`${prefix}${t}`));
  if (fn && peers.length) {
    table(['fun-notes vs', 'delivered/s', 'p99', 'p99.9', 'cpu/1k deliveries', 'rss'],
      peers.map((t) => {
        const p = run(`${prefix}${t}`);
        return [t, ratio(fn.deliveries_per_s, p.deliveries_per_s), ratio(fn.p99_ms, p.p99_ms), ratio(fn.p999_ms, p.p999_ms),
          ratio(fn.cpu_s_per_1000_deliveries, p.cpu_s_per_1000_deliveries), ratio(fn.rss_kib, p.rss_kib)];
      }));
  }
}

{
  const rs = runs.filter((r) => r.label?.startsWith('join-'));
  if (rs.length) {
    console.log('\njoin storm');
    table(['target', 'joins', 'join p50 ms', 'join p99 ms', 'cpu ms/join', 'errors'],
      rs.map((r) => (ok(r) ? [r.target, r.joins ?? '-', fmt(r.join_p50_ms, 2), fmt(r.join_p99_ms, 2), fmt(r.cpu_ms_per_join, 2), r.errors ?? '-']
        : [r.target, 'FAILED', '', '', '', ''])));
    const fn = run('join-fun-notes');
    const peers = peersOf('join-').filter((t) => run(`join-${t}`));
    if (fn && peers.length) {
      table(['fun-notes vs', 'join p50', 'join p99', 'cpu/join'], peers.map((t) => {
        const p = run(`join-${t}`);
        return [t, ratio(fn.join_p50_ms, p.join_p50_ms), ratio(fn.join_p99_ms, p.join_p99_ms), ratio(fn.cpu_ms_per_join, p.cpu_ms_per_join)];
      }));
    }
  }
}

{
  const rs = runs.filter((r) => r.label?.startsWith('idle-'));
  if (rs.length) {
    console.log('\nidle connections');
    table(['target', 'connections', 'rss MiB', 'KiB/connection'],
      rs.map((r) => (ok(r) ? [r.target, r.connections ?? '-', fmt(r.rss_kib / 1024), fmt(r.rss_per_connection_kib, 2)]
        : [r.target, 'FAILED', '', ''])));
    const fn = run('idle-fun-notes');
    const peers = peersOf('idle-').filter((t) => run(`idle-${t}`));
    if (fn && peers.length) {
      table(['fun-notes vs', 'KiB/connection'], peers.map((t) => [t, ratio(fn.rss_per_connection_kib, run(`idle-${t}`).rss_per_connection_kib)]));
    }
  }
}

if (sweepTargets.length) {
  console.log(`\nload sweep (typing storm): capacity = highest offered load with p99 <= ${p99Limit} ms, no errors, >= 95 % delivered`);
  table(['target', 'offered/s -> p99 ms', 'capacity deliveries/s', 'capacity ops/s'],
    sweepTargets.map((t) => [t, sweep[t].points.map((p) => `${fmt(p.offered)}->${fmt(p.p99_ms, 1)}`).join(' '),
      fmt(sweep[t].capacity_deliveries_per_s), fmt(sweep[t].capacity_ops_per_s)]));
  const fn = sweep['fun-notes'];
  for (const t of sweepTargets.filter((x) => x !== 'fun-notes')) {
    console.log(`fun-notes capacity vs ${t}: ${ratio(fn?.capacity_deliveries_per_s, sweep[t].capacity_deliveries_per_s)}`);
  }
}

{
  const limitOrder = ['limit-publish', 'limit-append', 'limit-append-eval', 'limit-publish-2-subscribers', 'limit-append-2-subscribers'];
  const limits = runs.filter((r) => r.workload === 'limit' && ok(r))
    .sort((a, b) => (limitOrder.indexOf(a.label) + 1 || 99) - (limitOrder.indexOf(b.label) + 1 || 99));
  if (limits.length) {
    console.log('\nlimits (redis-benchmark, pipelined, on this Redis and these cores)');
    const fnTyping = run('typing-fun-notes');
    const fnCap = sweep['fun-notes'];
    const cols = [
      ['fun-notes typing ops/s', fnTyping ? opsPerS(fnTyping) : null],
      ['fun-notes sweep capacity ops/s', fnCap?.capacity_ops_per_s ?? null],
    ].filter(([, v]) => v != null);
    table(['limit', 'requests/s', 'p99 ms', ...cols.map(([n]) => `${n} as a fraction`)],
      limits.map((l) => [l.label, fmt(l.requests_per_s), fmt(l.p99_ms, 2),
        ...cols.map(([, v]) => `${((v / l.requests_per_s) * 100).toFixed(2)} %`)]));
    console.log('(every fun-notes op is one EVAL of the append script, which SPUBLISHes once; the fan-out to sockets happens in the servers)');
    const bc = run('typing-broadcast');
    if (fnTyping && bc) {
      console.log(`bare broadcast ceiling (typing storm): fun-notes delivers ${ratio(fnTyping.deliveries_per_s, bc.deliveries_per_s)} of fun-notes-broadcast's deliveries/s`);
    }
  }
}
console.log(`\nresults: ${opts.out}`);
