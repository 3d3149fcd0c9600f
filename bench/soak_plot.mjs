// Plots bench/soak.sh's CSV as one SVG (RSS, open fds and delivery latency against time) and
// prints, per server, the RSS trend: a least-squares slope and the first and last quarter means.
//   node bench/soak_plot.mjs soak.csv soak.svg
import { readFileSync, writeFileSync } from 'node:fs';

const [csvPath, svgPath] = process.argv.slice(2);
const rows = readFileSync(csvPath, 'utf8').trim().split('\n').slice(1).map((line) => {
  const [t, server, rss, fds, ops, p50, p99] = line.split(',');
  return { t: +t, server, rss: +rss / 1024, fds: +fds, ops: +ops, p50: +p50, p99: +p99 };
});
const servers = [...new Set(rows.map((r) => r.server))];
const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const tMax = Math.max(...rows.map((r) => r.t), 1);

function slope(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / Math.max(xs.length, 1);

for (const s of servers) {
  const mine = rows.filter((r) => r.server === s);
  const q = Math.max(1, Math.floor(mine.length / 4));
  const perMin = slope(mine.map((r) => [r.t / 60, r.rss]));
  console.log(
    `${s}: RSS ${mean(mine.slice(0, q).map((r) => r.rss)).toFixed(1)} MiB (first quarter) -> ` +
      `${mean(mine.slice(-q).map((r) => r.rss)).toFixed(1)} MiB (last quarter), slope ` +
      `${perMin.toFixed(3)} MiB/min; fds ${mine[0].fds} -> ${mine[mine.length - 1].fds} ` +
      `(max ${Math.max(...mine.map((r) => r.fds))})`,
  );
}
const lat = rows.filter((r) => r.server === servers[0]);
console.log(
  `delivery p99 per 10 s window: median ${[...lat.map((r) => r.p99)].sort((a, b) => a - b)[
    Math.floor(lat.length / 2)
  ].toFixed(2)} ms, max ${Math.max(...lat.map((r) => r.p99)).toFixed(2)} ms; ` +
    `acked ${mean(lat.map((r) => r.ops)).toFixed(0)} ops/s on average over ${lat.length} windows`,
);

const W = 900;
const H = 220;
const pad = { l: 60, r: 20, t: 28, b: 30 };
function panel(y0, title, unit, series) {
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  const vMax = Math.max(...all, 1e-9) * 1.1;
  const x = (t) => pad.l + (t / tMax) * (W - pad.l - pad.r);
  const y = (v) => y0 + pad.t + (1 - v / vMax) * (H - pad.t - pad.b);
  let g = `<text x="${pad.l}" y="${y0 + 18}" font-size="14">${title}</text>`;
  for (let i = 0; i <= 4; i++) {
    const v = (vMax * i) / 4;
    g += `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`;
    g += `<text x="${pad.l - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(
      v < 10 ? 1 : 0,
    )} ${unit}</text>`;
  }
  for (let m = 0; m <= tMax / 60; m += Math.max(1, Math.round(tMax / 600))) {
    g += `<text x="${x(m * 60)}" y="${y0 + H - 10}" font-size="11" text-anchor="middle">${m} min</text>`;
  }
  series.forEach((s, i) => {
    const d = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    g += `<polyline fill="none" stroke="${s.color ?? colors[i % colors.length]}" stroke-width="1.5" points="${d}"/>`;
    g += `<text x="${W - pad.r - 150}" y="${y0 + 18 + 14 * i}" font-size="12" fill="${
      s.color ?? colors[i % colors.length]
    }">${s.name}</text>`;
  });
  return g;
}
const byServer = (field) =>
  servers.map((s, i) => ({
    name: s,
    color: colors[i],
    points: rows.filter((r) => r.server === s).map((r) => [r.t, r[field]]),
  }));
const svg =
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${3 * H}" font-family="sans-serif">` +
  `<rect width="100%" height="100%" fill="white"/>` +
  panel(0, 'Server RSS', 'MiB', byServer('rss')) +
  panel(H, 'Open file descriptors', '', byServer('fds')) +
  panel(2 * H, 'Delivery latency per 10 s window', 'ms', [
    { name: 'p50', color: colors[2], points: lat.map((r) => [r.t, r.p50]) },
    { name: 'p99', color: colors[3], points: lat.map((r) => [r.t, r.p99]) },
  ]) +
  '</svg>\n';
writeFileSync(svgPath, svg);
console.log(`plot: ${svgPath}`);
