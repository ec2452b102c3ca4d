// The web UI end to end in real headless Chromium (Debian's chromium,
// driven by playwright-core), against the real pveauditd, which starts
// the real pveaudit-web, on loopback, with a generated data set:
//   - a local account logs in through the login form;
//   - Datacenter -> Logs -> Access filtered by user shows exactly the
//     events `pveam access log` prints for the same filter;
//   - a user name holding HTML renders as text (no script runs);
//   - the Failed Login rule added through the Add dialog fires on three
//     failed logins appended to the watched auth log, and the alert shows
//     up without a reload;
//   - the CSV download is byte for byte the CLI's;
//   - the charts count what the CLI counts (an hour's bar, the top users
//     and addresses by failures), and a click on a bar, a user or a heat
//     map cell narrows the grid;
//   - the reports' downloads (user, permission, quarterly review) are the
//     bytes `pveum` writes;
//   - logins, reads, the download and the rule change are audit events in
//     the web user's name; no Content-Security-Policy violation;
//   - each view is saved as a screenshot in the build directory.
// Run by ctest (www/CMakeLists.txt); the setup is in harness.mjs:
//   node www/test/ui_test.mjs BIN_DIR OUT_DIR
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { login, openBrowser, startSite, until } from './harness.mjs';

const BIN = resolve(process.argv[2] || 'build/bin');
const OUT = resolve(process.argv[3] || 'build/browser-test');

// A failed Proxmox login as pvedaemon logs it (classic syslog date, UTC).
function authFailure(date, user, ip) {
  const mon = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(date.getUTCDate()).padStart(2, ' ');
  const t = date.toISOString().slice(11, 19);
  return `${mon} ${day} ${t} pve1 pvedaemon[1234]: authentication failure; rhost=::ffff:${ip} user=${user} msg=invalid credentials\n`;
}

test('the web UI in Chromium against pveauditd and pveaudit-web', async (t) => {
  mkdirSync(OUT, { recursive: true });
  const site = await startSite(BIN);
  let passed = false;
  // On a failure, what pveauditd and pveaudit-web said.
  t.after(() => { if (!passed) console.log(`--- pveauditd and pveaudit-web:\n${site.log}`); return site.stop(); });
  const { port, auth, env, run } = site;
  // An event whose user name is HTML.
  const evil = '<img src=x onerror=window.__xss=1>@pve';
  appendFileSync(auth, authFailure(new Date(Date.now() - 60000), evil, '198.51.100.66'));
  const { page } = await openBrowser(site);
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  const cspErrors = [];
  page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) cspErrors.push(m.text()); });
  await page.reload();

  // The login form of a local account.
  await page.waitForSelector('#login-form');
  await page.screenshot({ path: join(OUT, 'login.png') });
  await login(page, 'admin', 'wrong-password');
  await page.waitForFunction(() => document.querySelector('#login-error')?.textContent.length > 0);
  await login(page);
  await page.waitForSelector('#userid');
  assert.equal(await page.textContent('#userid'), 'admin@pveaudit');

  // Access, filtered by user: the same events as the CLI.
  const cli = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'log', '--user', 'admin@pve', '--limit', '100',
    '--output-format', 'json'], { env }));
  assert.ok(cli.length > 0, 'the data set has events of admin@pve');
  await page.waitForSelector('#access-grid table');
  await page.fill('input[name=user]', 'admin@pve');
  await page.click('#access-filter button[type=submit]');
  await page.waitForFunction(() => /admin@pve/.test(document.querySelector('#access-status')?.textContent || '')
    || document.querySelectorAll('#access-grid tbody tr').length > 0);
  await until('the filtered grid', async () => {
    const users = await page.$$eval('#access-grid tbody tr td.c-user', (tds) => tds.map((td) => td.textContent));
    return users.length > 0 && users.every((u) => u === 'admin@pve');
  });
  const shown = await page.$$eval('#access-grid tbody tr', (trs) => trs.length);
  assert.equal(shown, cli.length, 'the grid shows as many rows as the CLI prints');
  const times = await page.$$eval('#access-grid tbody tr td.c-time', (tds) => tds.map((td) => td.textContent));
  const cliTimes = cli.map((e) => e.time.replace('T', ' ').replace(/(\.\d+)?Z$/, '')).sort().reverse();
  assert.deepEqual(times, cliTimes, 'the same events, newest first (times in the browser zone, UTC here)');
  await page.screenshot({ path: join(OUT, 'access.png') });

  // The filtered view as CSV: byte for byte what the CLI prints.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const csv = readFileSync(await download.path(), 'utf8');
  const cliCsv = run([join(site.bin, 'pveam'), 'access', 'log', '--user', 'admin@pve', '--output-format', 'csv'], { env });
  assert.ok(csv.split('\r\n').length > 2, 'the download holds events');
  assert.equal(csv, cliCsv, 'the CSV download equals `pveam access log --output-format csv`');

  // Charts: the numbers the CLI gives; a click narrows the grid.
  const chartsDone = () => page.waitForSelector('#access-chart-holder:not(.loading) #access-charts');
  await page.click('#filter-reset');
  await chartsDone();
  const bars = await page.$$eval('#chart-hours g.bar', (gs) => gs.map((g) =>
    ({ time: g.dataset.time, count: Number(g.dataset.count), failed: Number(g.dataset.failed) })));
  // The busiest hour of the generated data that is over (the current hour
  // grows with the audit events of this test's own requests).
  const hourMs = 3600000;
  const past = bars.filter((b) => Date.parse(b.time) + hourMs < Date.now() - 60000);
  const busiest = past.reduce((a, b) => (b.count > a.count ? b : a));
  const hourEnd = new Date(Date.parse(busiest.time) + hourMs).toISOString().replace('.000Z', 'Z');
  const cliCount = (extra) => JSON.parse(run([join(site.bin, 'pveam'), 'access', 'log', '--start', busiest.time,
    '--end', hourEnd, '--count', '1', '--group-by', 'action', ...extra, '--output-format', 'json'], { env }))
    .reduce((n, g) => n + g.count, 0);
  assert.ok(busiest.count > 0);
  assert.equal(busiest.count, cliCount([]), `the bar of ${busiest.time} counts what the CLI counts`);
  assert.equal(busiest.failed, cliCount(['--failed', '1']), 'its failed part too');
  // Top users by failures: `pveam access log --failed 1 --count 1 --group-by user`.
  const topUsers = await page.$$eval('#chart-users li', (lis) => lis.map((li) =>
    ({ label: li.querySelector('.top-label').textContent, count: Number(li.dataset.count) })));
  const cliUsers = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'log', '--failed', '1', '--count', '1',
    '--group-by', 'user', '--limit', '10', '--output-format', 'json'], { env }));
  assert.deepEqual(topUsers, cliUsers.map((g) => ({ label: g.user || `- (${g.ip})`, count: g.count })));
  const topIps = await page.$$eval('#chart-ips li', (lis) => lis.map((li) => Number(li.dataset.count)));
  const cliIps = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'log', '--failed', '1', '--count', '1',
    '--group-by', 'ip', '--limit', '10', '--output-format', 'json'], { env }));
  assert.deepEqual(topIps, cliIps.map((g) => g.count));
  await page.screenshot({ path: join(OUT, 'access-charts.png') });
  // The top user narrows the grid to their failures.
  await page.click('#chart-users li');
  const topUser = cliUsers[0].user;
  if (topUser) assert.equal(await page.inputValue('input[name=user]'), topUser);
  assert.equal(await page.inputValue('select[name=failed]'), '1');
  await until('the top user\'s failures in the grid', async () => {
    const results = await page.$$eval('#access-grid tbody tr td.c-result', (tds) => tds.map((td) => td.textContent));
    return results.length > 0 && results.every((r) => r === 'failure');
  });
  await page.click('#filter-reset');
  await chartsDone();
  // A bar narrows the grid to its hour: the events the CLI lists for it.
  await page.click(`#chart-hours g.bar[data-time="${busiest.time}"] rect.hit`);
  assert.equal(await page.inputValue('input[name=start]'), busiest.time);
  assert.equal(await page.inputValue('input[name=end]'), hourEnd);
  const hourRows = Math.min(busiest.count, 100);
  await until('the grid of that hour', async () =>
    (await page.$$eval('#access-grid tbody tr td.c-time', (tds) => tds.length)) === hourRows &&
    (await page.$$('#chart-hours g.bar')).length === 1);
  const hourTimes = await page.$$eval('#access-grid tbody tr td.c-time', (tds) => tds.map((td) => td.textContent));
  const prefix = busiest.time.slice(0, 13).replace('T', ' ');
  assert.ok(hourTimes.every((x) => x.startsWith(prefix)), `${hourTimes} within ${prefix}`);
  // A heat map cell narrows the grid to that hour of the day.
  await page.click('#filter-reset');
  await chartsDone();
  const cell = await page.$eval('#chart-heat rect.cell:not([data-count="0"])',
    (c) => ({ day: c.dataset.day, hour: Number(c.dataset.hour) }));
  await page.click(`#chart-heat rect.cell[data-day="${cell.day}"][data-hour="${cell.hour}"]`);
  const hh = String(cell.hour).padStart(2, '0');
  assert.equal(await page.inputValue('input[name=start]'), `${hh}:00`);
  assert.equal(await page.inputValue('input[name=end]'), `${String((cell.hour + 1) % 24).padStart(2, '0')}:00`);
  await until(`the ${hh}:00 window in the grid`, async () => {
    const ts = await page.$$eval('#access-grid tbody tr td.c-time', (tds) => tds.map((td) => td.textContent));
    return ts.length > 0 && ts.every((x) => x.slice(11, 13) === hh);
  });
  await page.click('#filter-reset');

  // HTML in a user name is text.
  await page.fill('input[name=user]', evil);
  await page.click('#access-filter button[type=submit]');
  await until('the event with HTML in its user name', async () =>
    (await page.$$eval('#access-grid tbody tr td.c-user', (tds) => tds.map((td) => td.textContent))).includes(evil));
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
  assert.equal(await page.$$eval('#access-grid img', (imgs) => imgs.length), 0, 'no element was made of it');
  assert.deepEqual(dialogs, []);

  // A change with the session cookie but without the CSRF token (what
  // another site's page could send) is refused and changes nothing.
  const forged = await page.evaluate(async () => {
    const r = await fetch('/api2/json/audit/rules', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'failed-login' }) });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(forged.status, 401);
  assert.match(forged.body.message, /csrf/);
  assert.equal(JSON.parse(run([join(site.bin, 'pveam'), 'access', 'alert', 'list', '--output-format', 'json'])).length, 0);

  // Alerts: the Failed Login rule through the Add dialog.
  await page.click('a[data-id=alerts]');
  await page.waitForSelector('#rule-add');
  await page.click('#rule-add');
  await page.waitForSelector('form.dlg');
  assert.equal(await page.inputValue('select[name=type]'), 'failed-login');
  assert.equal(await page.inputValue('input[name=threshold]'), '3');
  assert.equal(await page.inputValue('select[name=window]'), '15m');
  await page.screenshot({ path: join(OUT, 'alert-add.png') });
  await page.click('form.dlg button[type=submit]');
  await page.waitForSelector('form.dlg', { state: 'detached' });
  await until('the rule in the grid', async () =>
    (await page.$$eval('#alerts-rules tbody tr', (trs) => trs.map((tr) => tr.textContent))).some((x) => /Failed Login/.test(x)));
  const rules = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'alert', 'list', '--output-format', 'json'], { env }));
  assert.equal(rules.length, 1);
  assert.equal(rules[0].type, 'failed-login');
  // The change is audited in the web user's name.
  const audit = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'log', '--action', 'pveaudit:alert-add',
    '--output-format', 'json'], { env }));
  assert.equal(audit.length, 1);
  assert.equal(audit[0].user, 'admin@pveaudit');

  // Destinations over the API: pveauditd checks them as the CLI does,
  // files are refused (pveauditd would read them as root), each change is
  // audited in the web user's name.
  const dest = await page.evaluate(async () => {
    const who = await (await fetch('/api2/json/audit/whoami', { credentials: 'same-origin' })).json();
    const headers = { 'Content-Type': 'application/json', CSRFPreventionToken: who.data.CSRFPreventionToken };
    const call = async (method, path, body) => {
      const r = await fetch(path, { method, credentials: 'same-origin', headers,
        body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, body: await r.json() };
    };
    const api = '/api2/json/audit/syslog';
    return {
      add: await call('POST', api, { server: '127.0.0.1', port: '9', protocol: 'tcp', name: 'web' }),
      file: await call('POST', api, { server: '127.0.0.1', protocol: 'tls', name: 'web2', ca: '/etc/shadow' }),
      bad: await call('POST', api, { server: '127.0.0.1', protocol: 'carrier-pigeon', name: 'web3' }),
      off: await call('DELETE', `${api}/web`),
    };
  });
  assert.equal(dest.add.status, 200, JSON.stringify(dest.add));
  assert.equal(dest.file.status, 400, JSON.stringify(dest.file));
  assert.match(dest.file.body.message, /'ca'/);
  assert.equal(dest.bad.status, 400, JSON.stringify(dest.bad));
  assert.match(dest.bad.body.message, /carrier-pigeon/);
  assert.equal(dest.off.status, 200, JSON.stringify(dest.off));
  const syslogs = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'syslog', '--output-format', 'json'], { env }));
  assert.deepEqual(syslogs.map((d) => [d.name, d.state, d.server, d.protocol]),
    [['web', 'disabled', '127.0.0.1', 'tcp']]);
  for (const action of ['pveaudit:syslog-enable', 'pveaudit:syslog-disable']) {
    const ev = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'log', '--action', action,
      '--output-format', 'json'], { env }));
    assert.deepEqual(ev.map((e) => e.user), ['admin@pveaudit'], action);
  }

  // Rules apply within 2 s; then three failed logins, and the alert
  // appears without a reload.
  await new Promise((r) => setTimeout(r, 2500));
  const now = Date.now();
  for (let i = 0; i < 3; i++)
    appendFileSync(auth, authFailure(new Date(now - 30000 + i * 1000), 'mallory@pve', '203.0.113.9'));
  await until('the alert in the Fired grid without a reload', async () =>
    (await page.$$eval('#alerts-fired tbody tr', (trs) => trs.map((tr) => tr.textContent))).some((x) => /mallory@pve/.test(x)),
  30000).catch((e) => { throw new Error(`${e.message}\n${site.log}`); });
  await page.screenshot({ path: join(OUT, 'alerts.png') });

  // Acknowledge it: select the row, the dialog with a comment; the grid
  // shows who, and the CLI agrees (an audit event in the web user's name).
  await page.click('#alerts-fired tbody tr >> text=mallory@pve');
  await page.click('#alert-ack:not([disabled])');
  await page.waitForSelector('form.dlg input[name=comment]');
  await page.fill('form.dlg input[name=comment]', 'known scanner');
  await page.click('form.dlg button[type=submit]');
  await page.waitForSelector('form.dlg', { state: 'detached' });
  await until('the acknowledgement in the Fired grid', async () =>
    (await page.$$eval('#alerts-fired tbody tr', (trs) => trs.map((tr) => tr.textContent)))
      .some((x) => /mallory@pve/.test(x) && /admin@pveaudit/.test(x)));
  const fired = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'alerts', '--output-format', 'json'], { env }));
  const acked = fired.filter((a) => a.acknowledged);
  assert.equal(acked.length, 1, JSON.stringify(fired));
  assert.equal(acked[0].acknowledged.by, 'admin@pveaudit');
  assert.equal(acked[0].acknowledged.comment, 'known scanner');
  await page.screenshot({ path: join(OUT, 'alert-ack.png') });

  // Reports: the downloads are the CLI's bytes (at the moment the view
  // pinned in its links).
  await page.click('a[data-id=report-users]');
  await page.waitForSelector('#report-users table');
  const usersHref = await page.getAttribute('#download-users-csv', 'href');
  const reportNow = new URL(usersHref, site.base).searchParams.get('now');
  assert.match(reportNow, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const [usersDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-users-csv')]);
  assert.equal(usersDl.suggestedFilename(), 'user-report.csv');
  assert.equal(readFileSync(await usersDl.path(), 'utf8'),
    run([join(site.bin, 'pveum'), 'user', 'report', '--output-format', 'csv', '--now', reportNow], { env }),
    'the user report download equals `pveum user report --output-format csv`');
  await page.screenshot({ path: join(OUT, 'report-users.png') });
  await page.click('a[data-id=report-acl]');
  await page.waitForSelector('#report-acl table');
  const [aclDl] = await Promise.all([page.waitForEvent('download'), page.click('#download-acl-html')]);
  assert.equal(aclDl.suggestedFilename(), 'permission-report.html');
  const aclNow = new URL(await page.getAttribute('#download-acl-html', 'href'), site.base).searchParams.get('now');
  assert.equal(readFileSync(await aclDl.path(), 'utf8'),
    run([join(site.bin, 'pveum'), 'acl', 'report', '--output-format', 'html', '--now', aclNow], { env }));
  // The quarterly review: the files `pveum audit quarterly` writes, with the
  // web user as reviewer.
  await page.click('a[data-id=report-quarterly]');
  await page.waitForSelector('#report-quarterly table');
  const qHref = new URL(await page.getAttribute('#download-quarterly-html', 'href'), site.base);
  const quarter = qHref.searchParams.get('quarter');
  const qNow = qHref.searchParams.get('now');
  const reviewDir = join(site.dir, 'review');
  run([join(site.bin, 'pveum'), 'audit', 'quarterly', '--quarter', quarter, '--now', qNow, '--user', 'admin@pveaudit',
    '--output', reviewDir], { env });
  // The review names the store's time range ("events: FIRST to LAST"), and
  // every API request adds its own audit event to the store (the watchers
  // are watched), so LAST (and the HTML's digest) moves between the CLI's
  // run and each download: those are set aside; all else is the same bytes.
  let last = '';
  const settled = (text) => text
    .replace(/(events:? \S+ to )(\d{4}-\d\d-\d\dT[\d:.]+Z)/g, (m, a, t) => { if (t > last) last = t; return `${a}LAST`; })
    .replace(/\b[0-9a-f]{64}\b/g, 'SHA256');
  for (const [f, file] of [['html', '.html'], ['csv', '-findings.csv'], ['json', '-findings.json']]) {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`#download-quarterly-${f}`)]);
    assert.equal(dl.suggestedFilename(), `access-review-${quarter}${file}`);
    const cliFile = settled(readFileSync(join(reviewDir, `access-review-${quarter}${file}`), 'utf8'));
    const cliLast = last;
    const web = settled(readFileSync(await dl.path(), 'utf8'));
    assert.equal(web, cliFile, `the review's ${f} equals the CLI's file`);
    assert.ok(!cliLast || last > cliLast, `the store only grew between the CLI's run and the download (${cliLast}, ${last})`);
    last = '';
  }
  const findings = JSON.parse(readFileSync(join(reviewDir, `access-review-${quarter}-findings.json`), 'utf8')).findings;
  assert.equal(await page.$$eval('#report-quarterly tbody tr:not(.empty)', (trs) => trs.length), findings.length);
  // The CLI's run and the downloaded page are recorded with their digests,
  // and listed when the view opens again.
  const cliDigest = JSON.parse(readFileSync(join(reviewDir, `access-review-${quarter}-findings.json`), 'utf8'))
    .review[0].html_sha256;
  await page.click('a[data-id=report-users]');
  await page.click('a[data-id=report-quarterly]');
  await until('the recorded reviews in the list', async () => {
    const rows = await page.$$eval('#report-reviews tbody tr', (trs) => trs.map((tr) => tr.textContent));
    return rows.some((x) => x.includes(quarter) && x.includes('pveum') && x.includes(cliDigest)) &&
      rows.some((x) => x.includes(quarter) && x.includes('web') && x.includes('admin@pveaudit'));
  });
  const recorded = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'log', '--action', 'pveaudit:api-review',
    '--output-format', 'json'], { env }));
  assert.equal(recorded.length, 1);
  assert.equal(recorded[0].user, 'admin@pveaudit');
  assert.match(recorded[0].detail, new RegExp(`^quarter=${quarter} sha256=[0-9a-f]{64} `));
  await page.screenshot({ path: join(OUT, 'report-quarterly.png') });

  // pveam access status tells that pveauditd runs the web server.
  const status = run([join(site.bin, 'pveam'), 'access', 'status'], { env });
  assert.match(status, new RegExp(`web: pveaudit-web \\(pid \\d+\\) on https://127\\.0\\.0\\.1:${port}, started once`));

  // The other views render.
  for (const id of ['sessions', 'status']) {
    await page.click(`a[data-id=${id}]`);
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(OUT, `${id}.png`) });
  }
  // The watchers are watched: the reads, the download and the failed and
  // successful logins of the UI are audit events in the web user's name.
  const watched = JSON.parse(run([join(site.bin, 'pveam'), 'access', 'log', '--user', 'admin@pveaudit',
    '--output-format', 'json'], { env }));
  const actions = new Set(watched.map((e) => `${e.action} ${e.result}`));
  for (const a of ['pveaudit:web-login failure', 'pveaudit:web-login success', 'pveaudit:api-read success',
    'pveaudit:api-export success', 'pveaudit:api-change success'])
    assert.ok(actions.has(a), `${a} in ${[...actions].join(', ')}`);
  assert.deepEqual(cspErrors, [], 'the page runs under the strict Content-Security-Policy');
  assert.deepEqual(dialogs, []);
  passed = true;
});
