// What the browser test and the page benchmark share: a data set made with
// pveaudit-gen and imported, a local admin account, pveauditd running with
// [web] listen on a free loopback port (it starts pveaudit-web), and
// headless Chromium (Debian's, driven by playwright-core) logged in.
// As root (CI), every process runs as `nobody` in a directory of its own:
// pveauditd starts pveaudit-web as its own user when it is not root.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import {
  chmodSync, chownSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const root = process.getuid() === 0;
const NOBODY = 65534;
const AS_NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
export const PASSWORD = 'Browser-test-pass-1';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

export async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// Starts everything; `stop()` ends it and removes the directory. `site.bin`
// is where the binaries it runs are (see below).
// events: lines of the generated data set (pve1's files are imported).
export async function startSite(bin, { events = 3000, days = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pveaudit-ui-'));
  if (root) {
    chownSync(dir, NOBODY, 65534);
    chmodSync(dir, 0o700);
    // A checkout under a 0700 directory (mktemp -d as root) hides the
    // binaries from nobody. Then the test runs copies of them, and of www/,
    // from its own directory (pveauditd finds pveaudit-web beside itself).
    const reachable = (p) => {
      try {
        execFileSync(AS_NOBODY[0], [...AS_NOBODY.slice(1), 'test', '-x', p], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    };
    if (!reachable(join(bin, 'pveaudit-web'))) {
      mkdirSync(join(dir, 'bin'));
      for (const name of ['pveaudit-gen', 'pveam', 'pveauditd', 'pveaudit-web']) {
        copyFileSync(join(bin, name), join(dir, 'bin', name));
        chmodSync(join(dir, 'bin', name), 0o755);
      }
      symlinkSync('pveam', join(dir, 'bin', 'pveum'));
      cpSync(resolve(bin, '..', 'www'), join(dir, 'www'), { recursive: true });
      bin = join(dir, 'bin');
      if (!reachable(join(bin, 'pveaudit-web'))) {
        throw new Error(`the user nobody cannot run ${join(bin, 'pveaudit-web')} even when copied `
          + `to ${dir}: is ${tmpdir()} mounted noexec?`);
      }
    }
  }
  const port = await freePort();
  const cfg = join(dir, 'pveaudit.toml');
  const auth = join(dir, 'auth.log');
  const env = { PVEAUDIT_CONFIG: cfg, TZ: 'UTC' };
  // Runs a program as the test's user (nobody when root).
  const run = (args, opts = {}) => {
    const [cmd, ...rest] = root ? [...AS_NOBODY, ...args] : args;
    return execFileSync(cmd, rest, { encoding: 'utf8', env: { ...process.env, ...env, ...opts.env },
      input: opts.input, maxBuffer: 1 << 28 });
  };
  const site = { dir, bin, port, cfg, auth, env, run, base: `https://127.0.0.1:${port}`, log: '',
    daemon: null, browser: null };
  site.stop = async () => {
    if (site.browser) await site.browser.close();
    if (site.daemon) {
      site.daemon.kill('SIGTERM');
      await new Promise((r) => { site.daemon.once('exit', r); setTimeout(r, 10000); });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  run([join(bin, 'pveaudit-gen'), '--events', String(events), '--days', String(days), '--end-date', 'today',
    '--out', join(dir, 'logs'), '--pve-dir', join(dir, 'pve')]);
  writeFileSync(cfg, [
    `data_dir = "${dir}/store"`, `pve_dir = "${dir}/pve"`, 'timezone = "UTC"', '',
    '[sources.auth]', `path = "${auth}"`, '',
    '[sources.access_log]', 'enabled = false', '',
    '[sources.tasks]', 'enabled = false', '',
    '[sources.journal]', 'enabled = false', '',
    '[web]', `listen = "127.0.0.1:${port}"`, `www = "${resolve(bin, '..', 'www')}"`, '',
  ].join('\n'));
  writeFileSync(auth, '');
  if (root) { chownSync(cfg, NOBODY, 65534); chownSync(auth, NOBODY, 65534); }
  run([join(bin, 'pveam'), 'access', 'import', '--node', 'pve1', join(dir, 'logs/pve1/access.log'),
    join(dir, 'logs/pve1/auth.log'), join(dir, 'logs/pve1/tasks/index')]);
  run([join(bin, 'pveam'), 'access', 'web-user', 'add', 'admin', '--role', 'admin',
    '--password-file', '-'], { input: `${PASSWORD}\n` });
  return site;
}

// pveauditd (which starts pveaudit-web), then Chromium on the login page.
export async function openBrowser(site) {
  const [cmd, ...rest] = [...(root ? AS_NOBODY : []), join(site.bin, 'pveauditd'), '--config', site.cfg];
  site.daemon = spawn(cmd, rest, { env: { ...process.env, ...site.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  site.daemon.stdout.on('data', (d) => { site.log += d; });
  site.daemon.stderr.on('data', (d) => { site.log += d; });
  // Chromium trusts exactly the key of the certificate pveaudit-web
  // serves. ignoreHTTPSErrors alone is not enough: a download that needs
  // a new connection is cancelled on the certificate error (the CSV
  // download failed so, now and then, on a loaded machine).
  const served = await until('pveaudit-web to name its certificate',
    async () => /listening on https:\S+ \(certificate: \S+ (\S+)\)/.exec(site.log), 60000)
    .catch((e) => { throw new Error(`${e.message}\n${site.log}`); });
  const spki = createHash('sha256')
    .update(new X509Certificate(readFileSync(served[1])).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  site.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', `--ignore-certificate-errors-spki-list=${spki}`] });
  const context = await site.browser.newContext({ ignoreHTTPSErrors: true,
    viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await until('pveaudit-web to answer', async () => {
    const r = await page.goto(`${site.base}/`, { timeout: 5000 });
    return r && r.status() === 200;
  }, 60000).catch((e) => { throw new Error(`${e.message}\n${site.log}`); });
  return { context, page };
}

export async function login(page, user = 'admin', password = PASSWORD) {
  await page.waitForSelector('#login-form');
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
}
