// Plots bench/compare.sh's typing-storm runs (the load sweep and the typing workload) as one
// SVG: delivery p99 latency (log scale) against offered deliveries per second, one line per
// target, with the capacity criterion as a dashed line.
//   node bench/plot_latency.mjs bench/results/DATE.json out.svg [--p99-ms 100]
import { readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const [resultsPath, svgPath] = args.filter((a, i) => !a.startsWith('--') && !(args[i - 1] ?? '').startsWith('--'));
if (!resultsPath || !svgPath) {
  console.error('usage: node bench/plot_latency.mjs RESULTS.json OUT.svg [--p99-ms 100]');
  process.exit(2);
}
const limitIdx = args.indexOf('--p99-ms');
const p99Limit = limitIdx >= 0 ? Number(args[limitIdx + 1]) : 100;

const results = JSON.parse(readFileSync(resultsPath, 'utf8'));
const runs = (results.runs ?? []).filter(
  (r) => !r.failed && /^(sweep|typing)-/.test(r.label ?? '') &&
    r.offered_deliveries_per_s > 0 && r.p99_ms > 0,
);
const order = ['fun-notes', 'socketio', 'sharedb', 'broadcast'];
const targets = [...new Set(runs.map((r) => r.target))].sort(
  (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99),
);
const colors = { 'fun-notes': '#1f77b4', socketio: '#d62728', sharedb: '#2ca02c', broadcast: '#9467bd' };
const series = targets.map((t) => ({
  name: t,
  color: colors[t] ?? '#555',
  // One point per offered load (a sweep step and the typing run may share one: the later wins).
  points: [...new Map(runs.filter((r) => r.target === t)
    .map((r) => [r.offered_deliveries_per_s, [r.offered_deliveries_per_s, r.p99_ms]])).values()]
    .sort((a, b) => a[0] - b[0]),
}));

const W = 900;
const H = 480;
const pad = { l: 70, r: 150, t: 52, b: 50 };
const xMax = Math.max(1, ...runs.map((r) => r.offered_deliveries_per_s)) * 1.05;
const ys = runs.map((r) => r.p99_ms).concat(p99Limit);
// Decades that hold every point and the limit.
const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys)));
const yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys) * 1.01));
const x = (v) => pad.l + (v / xMax) * (W - pad.l - pad.r);
const y = (v) => pad.t + (1 - (Math.log10(v) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * (H - pad.t - pad.b);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const num = (v) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k` : `${+v.toFixed(1)}`);

let g = `<text x="${pad.l}" y="22" font-size="15">Delivery p99 latency against offered load (typing storm)</text>`;
for (let d = yLo; d <= yHi * 1.0001; d *= 10) {
  g += `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`;
  g += `<text x="${pad.l - 6}" y="${y(d) + 4}" font-size="11" text-anchor="end">${d >= 1 ? d : d.toPrecision(1)} ms</text>`;
}
const xStep = 10 ** Math.floor(Math.log10(xMax / 2)) * (xMax / 10 ** Math.floor(Math.log10(xMax)) > 5 ? 2 : 1);
for (let v = 0; v <= xMax; v += xStep) {
  g += `<line x1="${x(v)}" x2="${x(v)}" y1="${pad.t}" y2="${H - pad.b}" stroke="#eee"/>`;
  g += `<text x="${x(v)}" y="${H - pad.b + 16}" font-size="11" text-anchor="middle">${num(v)}</text>`;
}
g += `<text x="${(pad.l + W - pad.r) / 2}" y="${H - 10}" font-size="12" text-anchor="middle">offered deliveries per second</text>`;
g += `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(p99Limit)}" y2="${y(p99Limit)}" stroke="#888" stroke-dasharray="6 4"/>`;
g += `<text x="${W - pad.r + 6}" y="${y(p99Limit) + 4}" font-size="11" fill="#666">p99 = ${p99Limit} ms</text>`;
series.forEach((s, i) => {
  const pts = s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ');
  if (s.points.length > 1) {
    g += `<polyline fill="none" stroke="${s.color}" stroke-width="1.8" points="${pts}"/>`;
  }
  for (const [a, b] of s.points) {
    g += `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)}: ${num(a)}/s offered, p99 ${b.toFixed(2)} ms</title></circle>`;
  }
  g += `<text x="${W - pad.r + 6}" y="${pad.t + 14 + 16 * i}" font-size="12" fill="${s.color}">${esc(s.name)}</text>`;
});
const meta = [results.date, results.commit?.slice(0, 8), results.machine && `${results.machine.cpus} cores`]
  .filter(Boolean).join(' · ');
g += `<text x="${pad.l}" y="38" font-size="11" fill="#666">${esc(meta)}</text>`;

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
  `<rect width="100%" height="100%" fill="white"/>${g}</svg>\n`;
writeFileSync(svgPath, svg);
console.log(`plot: ${svgPath} (${runs.length} runs, ${targets.join(', ') || 'no targets'})`);
