// The web UI's first load, measured in Chromium (bench/RESULTS.md, issue
// 10): from navigation start to a filled Access grid (100 rows), read from
// the page's own clock (performance.now()), over RUNS fresh page loads
// with the session cookie kept; and the gzip size of the JS and CSS.
//   node www/test/page_bench.mjs BIN_DIR [EVENTS] [RUNS]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { login, openBrowser, startSite } from './harness.mjs';

const BIN = resolve(process.argv[2] || 'build/bin');
const EVENTS = Number(process.argv[3] || 100000);
const RUNS = Number(process.argv[4] || 30);

const www = resolve(BIN, '..', 'www');
const js = gzipSync(readFileSync(join(www, 'app.js'))).length;
const css = gzipSync(readFileSync(join(www, 'app.css'))).length;
console.log(`bundle: app.js ${js} B gzip, app.css ${css} B gzip, together ${js + css} B`);

const site = await startSite(BIN, { events: EVENTS, days: 30 });
try {
  const { context, page } = await openBrowser(site);
  await login(page);
  await page.waitForSelector('#access-grid tbody tr');
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const p = await context.newPage();
    await p.goto(`${site.base}/#access`);
    const t = await p.waitForFunction(
      () => document.querySelectorAll('#access-grid tbody tr').length >= 100 && performance.now(),
      null, { polling: 'raf', timeout: 30000 });
    times.push(await t.jsonValue());
    await p.close();
  }
  times.sort((a, b) => a - b);
  const q = (f) => times[Math.min(times.length - 1, Math.floor(f * times.length))];
  const info = JSON.parse(site.run([join(site.bin, 'pveam'), 'access', 'status', '--output-format', 'json']));
  console.log(`store: ${info.events ?? info.store?.events ?? '?'} events; ${RUNS} loads`);
  console.log(`first load to a filled grid (ms): min ${times[0].toFixed(0)}, p50 ${q(0.5).toFixed(0)}, ` +
    `p95 ${q(0.95).toFixed(0)}, max ${times[times.length - 1].toFixed(0)}`);
} finally {
  await site.stop();
}
