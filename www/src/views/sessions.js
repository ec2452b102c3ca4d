// Datacenter -> Logs -> Sessions: who is logged in now, from where, until
// when; a user with sessions from several addresses at once is marked.
import { get } from '../api.js';
import { clear, h, localTime } from '../dom.js';
import { grid } from './grid.js';

export function sessionsView(el) {
  const holder = h('div', { class: 'grid-holder', id: 'sessions-grid' });
  el.append(h('h2', { text: 'Sessions' }), holder);
  (async () => {
    try {
      const list = await get('sessions');
      clear(holder).append(grid([
        { key: 'user', text: 'User' },
        { key: 'ip', text: 'IP' },
        { key: 'node', text: 'Node' },
        { key: 'start', text: 'Start', render: (s) => localTime(s.start) },
        { key: 'last', text: 'Last activity', render: (s) => localTime(s.last) },
        { key: 'expires', text: 'Expires', render: (s) => localTime(s.expires) },
        { key: 'concurrent', text: 'Concurrent' },
      ], list || [], {
        rowClass: (s) => (s.concurrent > 1 ? 'warning' : null),
        empty: 'No active session',
      }));
    } catch (e) {
      clear(holder).append(h('div', { class: 'error', role: 'alert', text: e.message }));
    }
  })();
}
