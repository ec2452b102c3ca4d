// Status: the store, pveauditd's sources and their lag, the export
// destinations, and a chain verification on demand.
import { get } from '../api.js';
import { clear, h } from '../dom.js';

function table(obj) {
  const t = h('table', { class: 'kv' });
  for (const [k, v] of Object.entries(obj || {}))
    if (typeof v !== 'object') t.append(h('tr', {}, h('th', { text: k }), h('td', { text: v })));
  return t;
}

export function statusView(el) {
  const store = h('div', { id: 'status-store' });
  const verify = h('button', { class: 'btn', type: 'button', text: 'Verify the chain', id: 'verify' });
  const verdict = h('div', { id: 'verify-result' });
  el.append(h('h2', { text: 'Status' }), store, h('div', { class: 'toolbar' }, verify), verdict);
  (async () => {
    try {
      clear(store).append(table(await get('status')));
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
