// Datacenter -> Logs -> Access: the product page's first screen. Filters
// by date range (presets and time-of-day windows), user, resource, action
// (class or exact), result, IP/CIDR and node; a grid newest first, paged
// by event id; row details; the filtered view as CSV or JSON; new events
// arrive without a reload. Above the grid, charts of the same selection
// (charts.js); clicking one narrows the filters.
import { get, url } from '../api.js';
import { clear, h, localTime } from '../dom.js';
import { charts } from './charts.js';
import { grid } from './grid.js';

const COLUMNS = [
  { key: 'time', text: 'Time', cls: 'c-time', render: (e) => localTime(e.time) },
  { key: 'node', text: 'Node', cls: 'c-node' },
  { key: 'user', text: 'User', cls: 'c-user' },
  { key: 'ip', text: 'IP', cls: 'c-ip' },
  { key: 'action', text: 'Action', cls: 'c-action' },
  { key: 'resource', text: 'Resource', cls: 'c-resource' },
  { key: 'result', text: 'Result', cls: 'c-result' },
];
const PAGE = 100;

function startOf(preset) {
  const d = new Date();
  if (preset === 'today') return 'today';
  if (preset === '24h') return new Date(d.getTime() - 86400000).toISOString();
  if (preset === 'week') return 'this-week';
  return '';
}

export function accessView(el, ctx) {
  const inputs = {
    range: h('select', { name: 'range', 'aria-label': 'Date range' },
      h('option', { value: '', text: 'All time' }),
      h('option', { value: 'today', text: 'Today' }),
      h('option', { value: '24h', text: 'Last 24 hours' }),
      h('option', { value: 'week', text: 'This week' }),
      h('option', { value: 'custom', text: 'Custom' })),
    start: h('input', { name: 'start', placeholder: 'start (2025-01-20, 18:00)', size: 16 }),
    end: h('input', { name: 'end', placeholder: 'end', size: 12 }),
    user: h('input', { name: 'user', placeholder: 'user@realm', size: 14 }),
    resource: h('input', { name: 'resource', placeholder: '/vms/100', size: 12 }),
    action: h('input', { name: 'action', placeholder: 'action (login, vm:start)', size: 14 }),
    result: h('select', { name: 'failed', 'aria-label': 'Result' },
      h('option', { value: '', text: 'Any result' }),
      h('option', { value: '1', text: 'Failed only' })),
    ip: h('input', { name: 'ip', placeholder: 'IP or CIDR', size: 12 }),
    node: h('input', { name: 'node', placeholder: 'node', size: 8 }),
  };
  const apply = h('button', { class: 'btn primary', type: 'submit', text: 'Filter' });
  const reset = h('button', { class: 'btn', type: 'button', text: 'Reset', id: 'filter-reset' });
  const csv = h('a', { class: 'btn', id: 'export-csv', text: 'CSV', download: 'access-log.csv' });
  const json = h('a', { class: 'btn', id: 'export-json', text: 'JSON', download: 'access-log.json' });
  const chartsOn = h('button', { class: 'btn pressed', type: 'button', text: 'Charts', id: 'charts-toggle',
    'aria-pressed': 'true' });
  const toolbar = h('form', { class: 'toolbar', id: 'access-filter' }, Object.values(inputs), apply, reset,
    h('span', { class: 'spacer' }), chartsOn, csv, json);
  const chartBox = h('div', { class: 'chart-holder', id: 'access-chart-holder' });
  const status = h('div', { class: 'grid-status', id: 'access-status' });
  const older = h('button', { class: 'btn', type: 'button', text: 'Older', id: 'page-older' });
  const newer = h('button', { class: 'btn', type: 'button', text: 'Newest', id: 'page-newest' });
  const holder = h('div', { class: 'grid-holder', id: 'access-grid' });
  const detail = h('aside', { class: 'detail', id: 'access-detail' });
  el.append(h('h2', { text: 'Access' }), toolbar, chartBox, holder, h('div', { class: 'pager' }, newer, older, status), detail);

  let rows = [];
  let pages = [];  // the `before` id of each page shown so far
  let source = null;

  const params = () => {
    const p = {};
    const range = inputs.range.value;
    p.start = range === 'custom' || range === '' ? inputs.start.value.trim() : startOf(range);
    p.end = inputs.end.value.trim();
    for (const k of ['user', 'resource', 'action', 'ip', 'node']) p[k] = inputs[k].value.trim();
    p.failed = inputs.result.value;
    return p;
  };

  const showDetail = (e) => {
    clear(detail);
    const dl = h('dl');
    for (const k of ['id', 'time', 'node', 'user', 'ip', 'action', 'resource', 'result', 'status',
      'source', 'session', 'detail', 'origin', 'line']) {
      if (e[k] === undefined || e[k] === '') continue;
      dl.append(h('dt', { text: k }), h('dd', { text: k === 'time' ? `${localTime(e.time)} (${e.time})` : e[k] }));
    }
    detail.append(h('h3', { text: `Event ${e.id}` }), dl);
  };

  const render = () => {
    clear(holder).append(grid(COLUMNS, rows, {
      onSelect: showDetail,
      rowClass: (e) => (e.result === 'failure' ? 'failed' : null),
      empty: 'No events match',
    }));
    status.textContent = rows.length ? `${rows.length} events${pages.length ? ` (page ${pages.length + 1})` : ''}` : '';
    older.disabled = rows.length < PAGE;
    newer.disabled = pages.length === 0;
  };

  const load = async (before) => {
    status.textContent = 'Loading...';
    try {
      const data = await get('log', { ...params(), limit: PAGE, before });
      rows = data || [];
      render();
    } catch (e) {
      clear(holder).append(h('div', { class: 'error', role: 'alert', text: e.message }));
      status.textContent = '';
    }
    const p = params();
    csv.href = url('log', { ...p, 'output-format': 'csv' });
    json.href = url('log', { ...p, 'output-format': 'json' });
  };

  // The charts of the selection: one request, counted by the server over
  // the same filters as the grid (docs/api.md, GET stats).
  let chartSeq = 0;
  const loadCharts = async () => {
    const seq = ++chartSeq;
    if (chartsOn.getAttribute('aria-pressed') !== 'true') {
      chartBox.classList.remove('loading');
      return clear(chartBox);
    }
    chartBox.classList.add('loading');
    try {
      const data = await get('stats', params());
      if (seq !== chartSeq) return null;  // a newer selection is on its way
      clear(chartBox).append(charts(data, narrow));
    } catch (e) {
      if (seq === chartSeq) clear(chartBox).append(h('div', { class: 'error', role: 'alert', text: e.message }));
    } finally {
      if (seq === chartSeq) chartBox.classList.remove('loading');
    }
    return null;
  };
  // The grid first, then the charts: their pass over the range must not
  // hold the grid up. The charts show as loading from the start.
  function refresh() {
    chartBox.classList.add('loading');
    load().then(loadCharts);
  }
  // A click on a chart: its filters replace those it names.
  function narrow(f) {
    if (f.range !== undefined) inputs.range.value = f.range;
    for (const k of ['start', 'end', 'user', 'ip']) if (f[k] !== undefined) inputs[k].value = f[k];
    if (f.failed !== undefined) inputs.result.value = f.failed;
    pages = [];
    refresh();
  }

  toolbar.addEventListener('submit', (ev) => {
    ev.preventDefault();
    pages = [];
    refresh();
  });
  reset.addEventListener('click', () => {
    for (const i of Object.values(inputs)) i.value = '';
    pages = [];
    refresh();
  });
  chartsOn.addEventListener('click', () => {
    const on = chartsOn.getAttribute('aria-pressed') !== 'true';
    chartsOn.setAttribute('aria-pressed', String(on));
    chartsOn.classList.toggle('pressed', on);
    loadCharts();
  });
  older.addEventListener('click', () => {
    if (!rows.length) return;
    pages.push(rows[rows.length - 1].id);
    load(rows[rows.length - 1].id);
  });
  newer.addEventListener('click', () => {
    pages = [];
    load();
  });

  // Live: new events reach the first page without a reload.
  if (window.EventSource) {
    source = new EventSource(url('events'));
    source.addEventListener('event', (m) => {
      if (pages.length) return;  // looking at older pages: leave them be
      let e;
      try { e = JSON.parse(m.data); } catch { return; }
      const p = params();
      if (p.start || p.end || p.user || p.resource || p.action || p.ip || p.node || p.failed) {
        load();  // the server applies the filter
        return;
      }
      rows = [e, ...rows].slice(0, PAGE);
      render();
    });
  }
  refresh();
  return { destroy: () => source && source.close() };
}
