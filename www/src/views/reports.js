// Reports: user access, permissions, quarterly review (src/report).
import { get } from '../api.js';
import { clear, h } from '../dom.js';
import { grid } from './grid.js';

const TITLES = { users: 'User access report', acl: 'Permission report', quarterly: 'Quarterly review' };
const PATHS = { users: 'report/users', acl: 'report/acl', quarterly: 'report/quarterly' };

export function reportsView(el, ctx, kind) {
  const holder = h('div', { class: 'grid-holder', id: `report-${kind}` });
  el.append(h('h2', { text: TITLES[kind] }), holder);
  (async () => {
    try {
      const data = await get(PATHS[kind]);
      const rows = Array.isArray(data) ? data : (data && data.rows) || [];
      const keys = rows.length ? Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== 'object') : [];
      clear(holder).append(grid(keys.map((k) => ({ key: k, text: k })), rows, { empty: 'Nothing to report' }));
    } catch (e) {
      clear(holder).append(h('div', { class: 'error', role: 'alert', text: e.message }));
    }
  })();
}
