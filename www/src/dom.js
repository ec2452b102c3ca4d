// Building the page: every text from the server goes through textContent
// (never innerHTML), so a user name like <img src=x onerror=...> in the
// access log is shown as the text it is.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Times as the Proxmox GUI shows them: the browser's local time zone,
// YYYY-MM-DD HH:MM:SS.
export function localTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// A modal window with an input panel and OK/Cancel, as Proxmox's dialogs.
export function dialog(title, body, { okText = 'OK', onOk }) {
  const err = h('div', { class: 'dlg-error', role: 'alert' });
  const close = () => mask.remove();
  const ok = h('button', { class: 'btn primary', type: 'submit', text: okText });
  const form = h('form', { class: 'dlg', role: 'dialog', 'aria-label': title },
    h('div', { class: 'dlg-title', text: title }),
    h('div', { class: 'dlg-body' }, body, err),
    h('div', { class: 'dlg-buttons' }, ok,
      h('button', { class: 'btn', type: 'button', text: 'Cancel', onclick: close })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ok.disabled = true;
    try {
      await onOk();
      close();
    } catch (e) {
      err.textContent = e.message;
    } finally {
      ok.disabled = false;
    }
  });
  const mask = h('div', { class: 'mask' }, form);
  document.body.append(mask);
  return mask;
}

export function field(label, input) {
  return h('label', { class: 'field' }, h('span', { text: label }), input);
}
