// Datacenter -> Logs -> Alerts: fired alerts (newest first) and the rules,
// with the product page's Add dialog (Type: Failed Login, Threshold: 3
// attempts, Window: 15 minutes).
import { call, get, url } from '../api.js';
import { clear, dialog, field, h, localTime } from '../dom.js';
import { grid } from './grid.js';

const TYPES = [
  ['failed-login', 'Failed Login'],
  ['brute-force-success', 'Login after failures'],
  ['off-hours', 'Off-hours activity'],
  ['action-rate', 'Action rate'],
  ['privilege-change', 'Privilege change'],
  ['new-ip', 'Login from a new IP'],
];
const typeName = (t) => (TYPES.find((x) => x[0] === t) || [t, t])[1];

function addDialog(onDone) {
  const type = h('select', { name: 'type' }, TYPES.map(([v, t]) => h('option', { value: v, text: t })));
  const threshold = h('input', { name: 'threshold', type: 'number', min: 1, value: 3 });
  const window_ = h('select', { name: 'window' },
    [['5m', '5 minutes'], ['15m', '15 minutes'], ['1h', '1 hour'], ['1d', '1 day']]
      .map(([v, t]) => h('option', { value: v, text: t, selected: v === '15m' })));
  const groupBy = h('select', { name: 'group-by' },
    h('option', { value: 'user', text: 'User' }), h('option', { value: 'ip', text: 'Source IP' }));
  const syslog = h('input', { type: 'checkbox', name: 'notify-syslog', checked: true });
  const webhook = h('input', { type: 'checkbox', name: 'notify-webhook', checked: true });
  const body = h('div', {},
    field('Type:', type), field('Threshold:', threshold), field('Window:', window_),
    field('Group by:', groupBy),
    h('div', { class: 'field' }, h('span', { text: 'Send to:' }),
      h('label', {}, syslog, ' Syslog (SIEM)'), h('label', {}, webhook, ' Webhooks')));
  dialog('Add: Alert rule', body, {
    okText: 'Add',
    onOk: async () => {
      const notify = [syslog.checked && 'syslog', webhook.checked && 'webhook'].filter(Boolean);
      if (!notify.length) throw new Error('Choose at least one destination');
      await call('POST', 'rules', {}, {
        type: type.value, threshold: Number(threshold.value), window: window_.value,
        'group-by': groupBy.value, notify: notify.length === 2 ? '' : notify.join(','),
      });
      onDone();
    },
  });
}

// Acknowledge: one fired alert, with an optional comment; the server
// records it as an audit event of its own (pveaudit:alert-ack).
function ackDialog(alert, onDone) {
  const comment = h('input', { name: 'comment', type: 'text', maxlength: 1024, size: 40 });
  const body = h('div', {},
    h('p', { text: `${typeName(alert.action.replace(/^alert:/, ''))} at ${localTime(alert.time)} (alert ${alert.id})` }),
    field('Comment:', comment));
  dialog('Acknowledge: Alert', body, {
    okText: 'Acknowledge',
    onOk: async () => {
      await call('POST', `alerts/${alert.id}/ack`, {}, comment.value ? { comment: comment.value } : {});
      onDone();
    },
  });
}

const acked = (a) => (a.acknowledged ? `${a.acknowledged.by}, ${localTime(a.acknowledged.time)}` : '');

export function alertsView(el) {
  const fired = h('div', { class: 'grid-holder', id: 'alerts-fired' });
  const rules = h('div', { class: 'grid-holder', id: 'alerts-rules' });
  let selected = null;
  let selectedAlert = null;
  const ack = h('button', { class: 'btn', type: 'button', text: 'Acknowledge', id: 'alert-ack', disabled: true });
  const add = h('button', { class: 'btn primary', type: 'button', text: 'Add', id: 'rule-add' });
  const remove = h('button', { class: 'btn', type: 'button', text: 'Remove', disabled: true });
  const toggle = h('button', { class: 'btn', type: 'button', text: 'Disable', disabled: true });
  const err = h('div', { class: 'error', role: 'alert' });

  const loadRules = async () => {
    try {
      const list = await get('rules');
      selected = null;
      remove.disabled = toggle.disabled = true;
      clear(rules).append(grid([
        { key: 'id', text: 'ID', cls: 'c-id' },
        { key: 'type', text: 'Type', render: (r) => typeName(r.type) },
        { key: 'threshold', text: 'Threshold' },
        { key: 'window', text: 'Window', render: (r) => `${Math.round(r.window / 60)} min` },
        { key: 'group_by', text: 'Group by' },
        { key: 'notify', text: 'Send to', render: (r) => (Array.isArray(r.notify) ? r.notify.join(', ') : r.notify) || 'all' },
        { key: 'enabled', text: 'Enabled', render: (r) => (r.enabled ? 'Yes' : 'No') },
      ], list || [], {
        rowClass: (r) => (r.enabled ? null : 'disabled'),
        onSelect: (r) => {
          selected = r;
          remove.disabled = toggle.disabled = false;
          toggle.textContent = r.enabled ? 'Disable' : 'Enable';
        },
        empty: 'No alert rules: Add one',
      }));
    } catch (e) {
      err.textContent = e.message;
    }
  };
  const loadFired = async () => {
    try {
      const list = await get('alerts', { limit: 200 });
      selectedAlert = null;
      ack.disabled = true;
      clear(fired).append(grid([
        { key: 'time', text: 'Time', cls: 'c-time', render: (a) => localTime(a.time) },
        { key: 'rule', text: 'Rule', cls: 'c-id' },
        { key: 'action', text: 'Alert', render: (a) => typeName(a.action.replace(/^alert:/, '')) },
        { key: 'user', text: 'User' },
        { key: 'ip', text: 'IP' },
        { key: 'detail', text: 'Detail', cls: 'c-detail' },
        { key: 'acknowledged', text: 'Acknowledged', render: acked, title: (a) => (a.acknowledged && a.acknowledged.comment) || null },
      ], list || [], {
        onSelect: (a) => {
          selectedAlert = a;
          ack.disabled = !!a.acknowledged;
        },
        empty: 'No alert has fired',
      }));
    } catch (e) {
      err.textContent = e.message;
    }
  };
  add.addEventListener('click', () => addDialog(loadRules));
  ack.addEventListener('click', () => selectedAlert && ackDialog(selectedAlert, loadFired));
  remove.addEventListener('click', async () => {
    if (!selected) return;
    try { await call('DELETE', `rules/${selected.id}`); } catch (e) { err.textContent = e.message; }
    loadRules();
  });
  toggle.addEventListener('click', async () => {
    if (!selected) return;
    try { await call('PUT', `rules/${selected.id}`, {}, { enabled: !selected.enabled }); } catch (e) { err.textContent = e.message; }
    loadRules();
  });

  el.append(h('h2', { text: 'Alerts' }), err,
    h('h3', { text: 'Fired' }), h('div', { class: 'toolbar' }, ack), fired,
    h('h3', { text: 'Rules' }), h('div', { class: 'toolbar' }, add, remove, toggle), rules);
  loadRules();
  loadFired();
  let source = null;
  if (window.EventSource) {
    source = new EventSource(url('events'));
    source.addEventListener('alert', () => loadFired());
    // An acknowledgement made elsewhere (another page, the CLI) shows too.
    source.addEventListener('event', (m) => {
      try {
        if (JSON.parse(m.data).action === 'pveaudit:alert-ack') loadFired();
      } catch (e) { /* not an event */ }
    });
  }
  return { destroy: () => source && source.close() };
}
