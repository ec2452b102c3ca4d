// Reports: user access, permissions, quarterly review (src/report). Each
// shows its main table and offers the files `pveum` writes, byte for byte,
// as downloads (GET report/...?output-format=F).
import { get, url } from '../api.js';
import { clear, h, localTime } from '../dom.js';
import { grid } from './grid.js';

const TITLES = { users: 'User access report', acl: 'Permission report', quarterly: 'Quarterly review' };
const PATHS = { users: 'report/users', acl: 'report/acl', quarterly: 'report/quarterly' };
// The section shown in the grid; the downloads hold them all.
const SECTION = { users: 'users', acl: 'acl', quarterly: 'findings' };
const FORMATS = {
  users: ['csv', 'json-pretty', 'html', 'text'],
  acl: ['csv', 'json-pretty', 'html', 'text'],
  quarterly: ['html', 'csv', 'json'],
};
const NAMES = { csv: 'CSV', json: 'JSON', 'json-pretty': 'JSON', html: 'HTML', text: 'Text' };

function currentQuarter() {
  const d = new Date();
  return `${d.getFullYear()}Q${Math.floor(d.getMonth() / 3) + 1}`;
}

// Columns in the report's own order (the JSON's keys come sorted); any
// others after them.
const ORDER = {
  users: ['userid', 'realm', 'enabled', 'expire', 'groups', 'last_login', 'last_login_ip',
    'failed_logins_30d', 'active_sessions', 'permissions', 'tfa', 'tokens'],
  acl: ['path', 'propagate', 'type', 'principal', 'role', 'privileges', 'status', 'line'],
  quarterly: ['severity', 'check_name', 'rule', 'subject', 'evidence', 'fix'],
};

function table(kind, rows, empty) {
  const have = rows.length ? Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== 'object') : [];
  const keys = [...ORDER[kind].filter((k) => have.includes(k)), ...have.filter((k) => !ORDER[kind].includes(k))];
  return grid(keys.map((k) => ({ key: k, text: k, cls: `c-${k}` })), rows, {
    empty,
    rowClass: (r) => (r.severity === 'high' ? 'failed' : r.severity === 'medium' ? 'warning' : null),
  });
}

export function reportsView(el, ctx, kind) {
  const holder = h('div', { class: 'grid-holder', id: `report-${kind}` });
  const quarter = h('input', { name: 'quarter', value: currentQuarter(), size: 8, 'aria-label': 'Quarter' });
  const run = h('button', { class: 'btn primary', type: 'submit', text: 'Run review' });
  const links = h('span', { class: 'downloads' });
  const toolbar = h('form', { class: 'toolbar', id: `report-${kind}-toolbar` },
    kind === 'quarterly' ? [h('label', { text: 'Quarter: ' }), quarter, run] : null,
    h('span', { class: 'spacer' }), h('span', { text: 'Download: ' }), links);
  const past = h('div', { class: 'grid-holder', id: 'report-reviews' });
  el.append(h('h2', { text: TITLES[kind] }), toolbar, holder);
  if (kind === 'quarterly') el.append(h('h3', { text: 'Recorded reviews' }), past);

  // One moment for the grid and the downloads (the 30-day windows, active
  // sessions and expiry depend on it), taken when the view opens or runs.
  let now = '';
  const params = () => ({ now, ...(kind === 'quarterly' ? { quarter: quarter.value.trim() } : {}) });
  const setLinks = () => {
    clear(links);
    for (const f of FORMATS[kind])
      links.append(h('a', { class: 'btn', id: `download-${kind}-${f}`, text: NAMES[f],
        href: url(PATHS[kind], { ...params(), 'output-format': f }), download: '' }), ' ');
  };
  const load = async () => {
    now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    setLinks();
    holder.textContent = 'Loading...';
    try {
      const data = await get(PATHS[kind], params());
      const rows = Array.isArray(data) ? data : (data && data[SECTION[kind]]) || [];
      clear(holder).append(table(kind, rows, kind === 'quarterly' ? 'No findings' : 'Nothing to report'));
    } catch (e) {
      clear(holder).append(h('div', { class: 'error', role: 'alert', text: e.message }));
    }
  };
  toolbar.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  load();
  if (kind === 'quarterly') {
    (async () => {
      try {
        const rows = await get('report/reviews');
        clear(past).append(grid([
          { key: 'time', text: 'Time', cls: 'c-time', render: (r) => localTime(r.time) },
          { key: 'quarter', text: 'Quarter' }, { key: 'via', text: 'By' }, { key: 'reviewer', text: 'Reviewer' },
          { key: 'node', text: 'Node' }, { key: 'html_sha256', text: 'SHA-256 of the HTML' }],
        rows, { empty: 'No review recorded yet' }));
      } catch (e) {
        clear(past).append(h('div', { class: 'error', role: 'alert', text: e.message }));
      }
    })();
  }
}
