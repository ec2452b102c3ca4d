// Status: the store, pveauditd's sources with their lag, the alert
// engine, the export destinations with their backlog, and a verification
// of the hash chain on demand.
import { get } from '../api.js';
import { clear, h, localTime } from '../dom.js';
import { grid } from './grid.js';

function table(obj) {
  const t = h('table', { class: 'kv' });
  for (const [k, v] of Object.entries(obj || {}))
    if (v === null || typeof v !== 'object') t.append(h('tr', {}, h('th', { text: k }), h('td', { text: v ?? '' })));
  return t;
}

export function statusView(el) {
  const store = h('div', { id: 'status-store' });
  const sources = h('div', { class: 'grid-holder', id: 'status-sources' });
  const dests = h('div', { class: 'grid-holder', id: 'status-destinations' });
  const alerts = h('div', { id: 'status-alerts' });
  const verify = h('button', { class: 'btn', type: 'button', text: 'Verify the chain', id: 'verify' });
  const verdict = h('div', { id: 'verify-result' });
  el.append(h('h2', { text: 'Status' }), store,
    h('h3', { text: 'Sources' }), sources,
    h('h3', { text: 'Alert engine' }), alerts,
    h('h3', { text: 'Export destinations' }), dests,
    h('h3', { text: 'Hash chain' }), h('div', { class: 'toolbar' }, verify), verdict);
  (async () => {
    try {
      const s = await get('status');
      clear(store).append(table(s));
      const d = s.daemon || {};
      clear(sources).append(grid([
        { key: 'name', text: 'Source' },
        { key: 'path', text: 'Path' },
        { key: 'ok', text: 'State', render: (x) => (x.ok ? 'ok' : x.error || 'failing') },
        { key: 'lag_bytes', text: 'Lag (bytes)' },
        { key: 'lag_s', text: 'Lag (s)' },
        { key: 'events', text: 'Events' },
        { key: 'events_per_s', text: 'Events/s' },
        { key: 'rejected', text: 'Rejected' },
        { key: 'last_event', text: 'Newest event', render: (x) => localTime(x.last_event) },
      ], d.sources || [], { rowClass: (x) => (x.ok ? null : 'failed'), empty: 'pveauditd is not running' }));
      clear(alerts).append(table(d.alerts || {}));
      clear(dests).append(grid([
        { key: 'destination', text: 'Destination', render: (x) => `${x.kind || ''}:${x.destination || ''}` },
        { key: 'cursor', text: 'Cursor' },
        { key: 'undelivered', text: 'Undelivered' },
        { key: 'lag_s', text: 'Lag (s)' },
        { key: 'delivered', text: 'Delivered' },
        { key: 'last_error', text: 'Last error' },
      ], d.destinations || [], { rowClass: (x) => (x.last_error ? 'failed' : null), empty: 'No export destination' }));
    } catch (e) {
      clear(store).append(h('div', { class: 'error', role: 'alert', text: e.message }));
    }
  })();
  verify.addEventListener('click', async () => {
    verdict.textContent = 'Verifying...';
    try {
      clear(verdict).append(table(await get('verify')));
    } catch (e) {
      verdict.textContent = e.message;
    }
  });
}
