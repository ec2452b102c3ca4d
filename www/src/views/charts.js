// The Access view's charts (GET stats): events per hour with the failures
// stacked on top in red, the users and source addresses with the most
// failures, and an hour x weekday heat map. Hand-written SVG (a few dozen
// lines instead of a charting library: the page stays small and nothing
// needs inline styles under the Content-Security-Policy). Every mark is
// clickable and narrows the Access grid's filters through `narrow`.
import { h } from '../dom.js';

const NS = 'http://www.w3.org/2000/svg';
const HOUR = 3600000;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c) el.append(c);
  return el;
}

const p2 = (n) => String(n).padStart(2, '0');
// The browser's local time, as the grid shows it.
const hourLabel = (d) => `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:00`;

// A bar per hour from the first to the last hour with events; failures
// stacked on top of the rest.
function hourly(hours, narrow) {
  const W = 760;
  const H = 150;
  const top = 8;
  const left = 36;
  const bottom = 18;
  const box = h('div', { class: 'chart', id: 'chart-hours' }, h('h3', { text: 'Events per hour (failures in red)' }));
  if (!hours.length) return box.append(h('div', { class: 'chart-empty', text: 'No events' })), box;
  const t0 = Date.parse(hours[0].time);
  const t1 = Date.parse(hours[hours.length - 1].time);
  const n = Math.round((t1 - t0) / HOUR) + 1;
  const max = Math.max(...hours.map((x) => x.count));
  const bw = (W - left) / n;
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img',
    'aria-label': 'Events per hour' });
  s.append(svg('line', { x1: left, x2: W, y1: H - bottom, y2: H - bottom, class: 'axis' }),
    svg('text', { x: left - 4, y: top + 8, class: 'tick', 'text-anchor': 'end' }, String(max)),
    svg('text', { x: left - 4, y: H - bottom, class: 'tick', 'text-anchor': 'end' }, '0'),
    svg('text', { x: left, y: H - 4, class: 'tick' }, hourLabel(new Date(t0))),
    svg('text', { x: W, y: H - 4, class: 'tick', 'text-anchor': 'end' }, hourLabel(new Date(t1))));
  for (const x of hours) {
    const i = Math.round((Date.parse(x.time) - t0) / HOUR);
    const bx = left + i * bw;
    const w = Math.max(bw - (bw > 3 ? 1 : 0), 0.8);
    const ok = x.count - x.failed;
    const g = svg('g', { class: 'bar', tabindex: 0, 'data-time': x.time, 'data-count': x.count,
      'data-failed': x.failed });
    g.append(svg('title', {}, `${hourLabel(new Date(x.time))}: ${x.count} events, ${x.failed} failed`));
    if (ok) g.append(svg('rect', { x: bx, y: y(x.count), width: w, height: y(x.failed) - y(x.count), class: 'ok' }));
    if (x.failed) g.append(svg('rect', { x: bx, y: y(x.failed), width: w, height: H - bottom - y(x.failed), class: 'fail' }));
    // A tall transparent target, so a short bar is still easy to click.
    g.append(svg('rect', { x: bx, y: top, width: Math.max(w, 2), height: H - top - bottom, class: 'hit' }));
    const go = () => narrow({ range: 'custom', start: x.time,
      end: new Date(Date.parse(x.time) + HOUR).toISOString().replace('.000Z', 'Z') });
    g.addEventListener('click', go);
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') go(); });
    s.append(g);
  }
  box.append(s);
  return box;
}

// Horizontal bars: the users (or addresses) with the most failures.
function topList(id, title, rows, label, onPick) {
  const box = h('div', { class: 'chart top', id }, h('h3', { text: title }));
  if (!rows.length) return box.append(h('div', { class: 'chart-empty', text: 'No failures' })), box;
  const max = rows[0].count;
  const list = h('ol', { class: 'toplist' });
  for (const r of rows) {
    const bar = svg('svg', { class: 'topbar-svg', viewBox: '0 0 100 10', preserveAspectRatio: 'none' },
      svg('rect', { x: 0, y: 0, height: 10, width: (100 * r.count) / max, class: 'fail' }));
    const li = h('li', { tabindex: 0, title: `${label(r)}: ${r.count} failed` },
      h('span', { class: 'top-label', text: label(r) }), bar, h('span', { class: 'top-count', text: r.count }));
    li.dataset.count = r.count;
    li.addEventListener('click', () => onPick(r));
    li.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') onPick(r); });
    list.append(li);
  }
  box.append(list);
  return box;
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

// Weekday rows, hour columns (cluster time zone); darker = more events, a
// red edge where some failed. A cell narrows the grid to that hour of the
// day (the filters have no weekday).
function heatmap(hm, narrow) {
  const box = h('div', { class: 'chart', id: 'chart-heat' }, h('h3', { text: 'Hour × weekday' }));
  const cw = 24;
  const ch = 16;
  const left = 32;
  const topPad = 14;
  const max = Math.max(1, ...hm.count.flat());
  const s = svg('svg', { viewBox: `0 0 ${left + 24 * cw} ${topPad + 7 * ch}`, class: 'chart-svg heat',
    role: 'img', 'aria-label': 'Events by hour of day and weekday' });
  for (let hr = 0; hr < 24; hr += 3)
    s.append(svg('text', { x: left + hr * cw + 2, y: 10, class: 'tick' }, p2(hr)));
  hm.count.forEach((row, d) => {
    s.append(svg('text', { x: 0, y: topPad + d * ch + 12, class: 'tick' }, DAYS[d]));
    row.forEach((n, hr) => {
      const f = hm.failed[d][hr];
      const cell = svg('rect', { x: left + hr * cw + 1, y: topPad + d * ch + 1, width: cw - 2, height: ch - 2,
        class: f ? 'cell has-fail' : 'cell', 'fill-opacity': n ? (0.15 + (0.85 * n) / max).toFixed(3) : 0.04,
        tabindex: 0, 'data-day': hm.days[d], 'data-hour': hr, 'data-count': n });
      cell.append(svg('title', {}, `${DAYS[d]} ${p2(hr)}:00-${p2((hr + 1) % 24)}:00: ${n} events, ${f} failed`));
      const go = () => narrow({ range: 'custom', start: `${p2(hr)}:00`, end: `${p2((hr + 1) % 24)}:00` });
      cell.addEventListener('click', go);
      cell.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') go(); });
      s.append(cell);
    });
  });
  box.append(s);
  return box;
}

// The chart panel for `data` (the answer of GET stats).
export function charts(data, narrow) {
  const userLabel = (r) => r.user || (r.ip ? `- (${r.ip})` : '-');
  return h('div', { class: 'charts', id: 'access-charts' },
    hourly(data.hours, narrow),
    topList('chart-users', 'Top users by failures', data.users, userLabel,
      (r) => narrow(r.user ? { user: r.user, failed: '1' } : { ip: r.ip, failed: '1' })),
    topList('chart-ips', 'Top source IPs by failures', data.ips, (r) => r.ip || '-',
      (r) => narrow({ ip: r.ip, failed: '1' })),
    heatmap(data.heatmap, narrow));
}
