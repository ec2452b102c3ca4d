// A grid as in Proxmox: a header row, one row per record, a row marked
// when it failed; cells are text only.
import { h } from '../dom.js';

export function grid(columns, rows, { onSelect, rowClass, empty = 'No records' } = {}) {
  const head = h('tr', {}, columns.map((c) => h('th', { text: c.text, class: c.cls })));
  const body = h('tbody');
  if (!rows.length) body.append(h('tr', { class: 'empty' }, h('td', { colspan: columns.length, text: empty })));
  for (const r of rows) {
    const tr = h('tr', { class: rowClass ? rowClass(r) : null, tabindex: 0 },
      columns.map((c) => h('td', { class: c.cls, text: c.render ? c.render(r) : (r[c.key] ?? ''), title: c.title ? c.title(r) : null })));
    if (onSelect) {
      tr.addEventListener('click', () => {
        for (const x of body.querySelectorAll('tr.sel')) x.classList.remove('sel');
        tr.classList.add('sel');
        onSelect(r);
      });
    }
    body.append(tr);
  }
  return h('table', { class: 'grid' }, h('thead', {}, head), body);
}
