// Largest contentful paint of the leadership overview in headless Chromium (goal ≤ 1 s):
//
//   node scripts/bench-lcp.js [--base http://127.0.0.1:3170] [--runs 20] [--cold 5] [--path /overview]
//                             [--start target/release/citylink --database-url sqlite:/tmp/lcp/s.db]
//
// With --start it runs the server binary itself (CITYLINK_DEMO=true, LEPTOS_SITE_ROOT=target/site,
// on the port of --base, the rest of the environment passed on), waits for /healthz and stops it
// at the end; without, it measures the server already running at --base. Needs
// end2end/node_modules (make browser-tools) and /usr/bin/chromium.
//
// Signs in as `leader` through POST /api/auth/login (so no page or asset is in the cache), then:
// --cold loads of the page, each in a new browser context (empty cache, first visit), and --runs
// loads in one context, each on a new page (the first fills the cache, the rest find the wasm,
// script and style in it). For each: LCP from PerformanceObserver('largest-contentful-paint',
// buffered) read after the page has hydrated and shown its figures, and the navigation's time to
// first byte. Prints p50 / p95 / max of each set against the goal; exits non-zero when a load
// fails (not when the goal is missed).
const { chromium } = require('../end2end/node_modules/playwright-core');
const { spawn } = require('child_process');

const GOAL_MS = 1000;
const opt = { base: 'http://127.0.0.1:3170', runs: '20', cold: '5', path: '/overview', start: '', 'database-url': '' };
for (let i = 2; i < process.argv.length; i++) {
  const [k, v] = process.argv[i].replace(/^--/, '').split('=');
  if (!(k in opt)) {
    console.error(`unknown option --${k}`);
    process.exit(2);
  }
  opt[k] = v !== undefined ? v : process.argv[++i];
}
const base = opt.base.replace(/\/$/, '');
const runs = Number(opt.runs);
const cold = Number(opt.cold);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer() {
  const port = new URL(base).port || '80';
  const env = {
    ...process.env,
    CITYLINK_DEMO: process.env.CITYLINK_DEMO || 'true',
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT || 'target/site',
    RUST_LOG: process.env.RUST_LOG || 'warn',
  };
  if (opt['database-url']) env.DATABASE_URL = opt['database-url'];
  const child = spawn(opt.start, [], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  let exited = null;
  child.on('exit', (code) => (exited = code));
  const t = Date.now();
  // A fresh demo database is written before the server listens: allow a few minutes.
  while (Date.now() - t < 600_000) {
    if (exited !== null) throw new Error(`server exited with ${exited}`);
    try {
      if ((await fetch(base + '/healthz')).ok) {
        console.log(`server up after ${((Date.now() - t) / 1000).toFixed(1)} s`);
        return child;
      }
    } catch (_) {}
    await sleep(250);
  }
  child.kill('SIGTERM');
  throw new Error('server did not answer /healthz');
}

async function signIn(ctx) {
  const r = await ctx.request.post(base + '/api/auth/login', {
    form: { username: 'leader', password: 'Demo@2026!', next: '/' },
    headers: { origin: base },
    maxRedirects: 0,
  });
  if (r.status() >= 400) throw new Error(`login: ${r.status()} ${await r.text()}`);
}

// One load of the page on a new page of `ctx`: LCP (ms from navigation start), its element, TTFB.
async function load(ctx) {
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const res = await page.goto(base + opt.path, { waitUntil: 'load' });
  if (!res || res.status() !== 200) throw new Error(`${opt.path}: ${res && res.status()}`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  await page.waitForSelector('[data-testid=generated-at]', { timeout: 30_000 });
  const m = await page.evaluate(
    () =>
      new Promise((resolve) => {
        let last = null;
        new PerformanceObserver((list) => {
          const e = list.getEntries();
          if (e.length) last = e[e.length - 1];
        }).observe({ type: 'largest-contentful-paint', buffered: true });
        const nav = performance.getEntriesByType('navigation')[0];
        // Buffered entries arrive in a task of their own; give them a frame or two.
        setTimeout(() => {
          const el = last && last.element;
          resolve({
            lcp: last ? last.startTime : null,
            size: last ? last.size : 0,
            element: el ? el.tagName.toLowerCase() + (el.dataset.testid ? `[${el.dataset.testid}]` : el.className ? '.' + String(el.className.baseVal ?? el.className).split(' ')[0] : '') : '',
            ttfb: nav ? nav.responseStart : null,
            dcl: nav ? nav.domContentLoadedEventEnd : null,
            loaded: nav ? nav.loadEventEnd : null,
            bytes: nav ? nav.transferSize : null,
          });
        }, 200);
      }),
  );
  await page.close();
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  if (m.lcp === null) throw new Error('no largest-contentful-paint entry');
  return m;
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

function report(name, rows) {
  const lcp = rows.map((r) => r.lcp).sort((a, b) => a - b);
  const ttfb = rows.map((r) => r.ttfb).sort((a, b) => a - b);
  const p95 = pct(lcp, 95);
  const elements = [...new Set(rows.map((r) => r.element))].join(', ');
  console.log(
    `${name.padEnd(38)} ${String(rows.length).padStart(4)} ${pct(lcp, 50).toFixed(0).padStart(8)} ${p95.toFixed(0).padStart(8)} ` +
      `${lcp[lcp.length - 1].toFixed(0).padStart(8)} ${pct(ttfb, 50).toFixed(0).padStart(9)} ${String(GOAL_MS).padStart(7)}  ` +
      `${p95 <= GOAL_MS ? 'ok' : 'MISSED'}  (LCP element: ${elements})`,
  );
  return p95 <= GOAL_MS;
}

(async () => {
  const server = opt.start ? await startServer() : null;
  let status = 0;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const newContext = async () => {
      const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 900 } });
      await signIn(ctx);
      return ctx;
    };
    const coldRows = [];
    for (let i = 0; i < cold; i++) {
      const ctx = await newContext();
      coldRows.push(await load(ctx));
      await ctx.close();
    }
    const ctx = await newContext();
    const warmRows = [];
    for (let i = 0; i < runs; i++) warmRows.push(await load(ctx));
    await ctx.close();
    console.log();
    console.log(`LCP of ${base}${opt.path} in headless Chromium (1400×900, zh), signed in as leader`);
    console.log(`${''.padEnd(38)} ${'runs'.padStart(4)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'TTFB p50'.padStart(9)} ${'goal'.padStart(7)}  verdict`);
    if (coldRows.length) report('first visit (new context, no cache)', coldRows);
    if (warmRows.length) {
      report('one context: its first load', warmRows.slice(0, 1));
      if (warmRows.length > 1) report('one context: later loads (cache)', warmRows.slice(1));
    }
    const first = coldRows[0] || warmRows[0];
    if (first)
      console.log(
        `first load: DOMContentLoaded ${first.dcl.toFixed(0)} ms, load ${first.loaded.toFixed(0)} ms, ${(first.bytes / 1024).toFixed(0)} kB document (transfer)`,
      );
  } catch (e) {
    console.error(`bench-lcp: ${e.message || e}`);
    status = 1;
  } finally {
    await browser.close();
    if (server) {
      server.kill('SIGTERM');
      await new Promise((r) => (server.exitCode !== null ? r() : server.on('exit', r)));
    }
  }
  process.exit(status);
})();
