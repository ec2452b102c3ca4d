// pveaudit's web UI: the Proxmox VE GUI's layout (top bar, navigation
// list, a grid with a toolbar) around Datacenter -> Logs -> Access, Alerts,
// Sessions; Reports; Status. The URL fragment names the view, so a reload
// returns to it.
import './app.css';
import { ApiError, call, get, setCsrf } from './api.js';
import { clear, field, h } from './dom.js';
import { accessView } from './views/access.js';
import { alertsView } from './views/alerts.js';
import { sessionsView } from './views/sessions.js';
import { statusView } from './views/status.js';
import { reportsView } from './views/reports.js';

const NAV = [
  { group: 'Logs', items: [
    { id: 'access', text: 'Access', view: accessView },
    { id: 'alerts', text: 'Alerts', view: alertsView },
    { id: 'sessions', text: 'Sessions', view: sessionsView },
  ] },
  { group: 'Reports', items: [
    { id: 'report-users', text: 'User access', view: (el, ctx) => reportsView(el, ctx, 'users') },
    { id: 'report-acl', text: 'Permissions', view: (el, ctx) => reportsView(el, ctx, 'acl') },
    { id: 'report-quarterly', text: 'Quarterly review',
      view: (el, ctx) => reportsView(el, ctx, 'quarterly') },
  ] },
  { group: null, items: [{ id: 'status', text: 'Status', view: statusView }] },
];

function findView(id) {
  for (const g of NAV) for (const it of g.items) if (it.id === id) return it;
  return NAV[0].items[0];
}

function loginScreen(reason) {
  clear(document.body);
  // On a Proxmox node pveaudit never sees a Proxmox password: the Proxmox
  // GUI of this host logs in, and its ticket cookie comes with the next
  // request. Off a node (a central server, the demo), pveaudit's own
  // accounts (`pveam access web-user add`) log in here.
  const back = encodeURIComponent(location.href);
  const user = h('input', { name: 'username', id: 'login-user', autocomplete: 'username', required: true });
  const pass = h('input', { name: 'password', id: 'login-password', type: 'password',
    autocomplete: 'current-password', required: true });
  const err = h('div', { class: 'error', role: 'alert', id: 'login-error' });
  const form = h('form', { class: 'login-form', id: 'login-form' },
    field('User name:', user), field('Password:', pass), err,
    h('button', { class: 'btn primary', type: 'submit', text: 'Login' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      await call('POST', 'login', {}, { username: user.value, password: pass.value });
      main();
    } catch (e) {
      err.textContent = e.status === 401 ? 'Login failed. Please try again' : e.message;
      pass.value = '';
    }
  });
  document.body.append(h('div', { class: 'login' },
    h('div', { class: 'login-box' },
      h('div', { class: 'login-title', text: 'pveaudit' }),
      h('p', { text: reason || 'You are not logged in.' }),
      h('p', {}, 'On a Proxmox VE node: ',
        h('a', { id: 'pve-login', href: `https://${location.hostname}:8006/?pveaudit-return=${back}`,
          text: 'log in to the Proxmox VE web interface' }),
        ', then reload this page. With a pveaudit account:'),
      form)));
  user.focus();
}

async function main() {
  let me;
  try {
    me = await get('whoami');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return loginScreen();
    return loginScreen(`The server did not answer: ${e.message}`);
  }
  setCsrf(me.CSRFPreventionToken || me.csrf || '');
  const ctx = { me };
  clear(document.body);
  const content = h('main', { class: 'content', id: 'content' });
  const nav = h('nav', { class: 'nav', 'aria-label': 'Datacenter' });
  const top = h('header', { class: 'topbar' },
    h('span', { class: 'logo', text: 'pveaudit' }),
    h('span', { class: 'crumb', text: 'Datacenter' }),
    h('span', { class: 'spacer' }),
    h('span', { class: 'user', id: 'userid', text: me.userid }));
  document.body.append(top, h('div', { class: 'body' }, nav, content));

  let current = null;
  const show = (id) => {
    const it = findView(id);
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('selected', a.dataset.id === it.id);
    if (current && current.destroy) current.destroy();
    clear(content);
    current = it.view(content, ctx) || null;
  };
  nav.append(h('div', { class: 'nav-root', text: 'Datacenter' }));
  for (const g of NAV) {
    if (g.group) nav.append(h('div', { class: 'nav-group', text: g.group }));
    for (const it of g.items)
      nav.append(h('a', { href: `#${it.id}`, class: g.group ? 'nav-item sub' : 'nav-item',
        dataset: { id: it.id }, text: it.text }));
  }
  window.addEventListener('hashchange', () => show(location.hash.slice(1)));
  show(location.hash.slice(1) || 'access');
}

main();
