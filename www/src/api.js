// The REST API (docs/api.md): {"data": ...} answers, errors with a status
// and a message. The Proxmox ticket travels as the PVEAuthCookie cookie the
// browser already holds; changes carry the CSRFPreventionToken.
const BASE = '/api2/json/audit';
let csrf = '';

export class ApiError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
  }
}

export function setCsrf(token) { csrf = token || ''; }

export function url(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  const s = q.toString();
  return `${BASE}/${path}${s ? `?${s}` : ''}`;
}

export async function call(method, path, params = {}, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET') {
    opts.headers.CSRFPreventionToken = csrf;
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
  }
  const r = await fetch(url(path, method === 'GET' ? params : {}), opts);
  let j = null;
  try { j = await r.json(); } catch { /* not JSON: the status says it */ }
  if (!r.ok) throw new ApiError(r.status, (j && j.message) || r.statusText);
  return j ? j.data : null;
}

export const get = (path, params) => call('GET', path, params);
