// Screenshots of the case workflow screens for review:
//   node scripts/screenshots-cases.js [BASE_URL] [OUT_DIR]
// Needs a running server with demo data and end2end/node_modules (make test installs it).
const { launch, signIn: signInAt } = require('./lib/browser');

const base = process.argv[2] || 'http://127.0.0.1:3000';
const out = process.argv[3] || 'end2end/screenshots';

const signIn = (page, user) => signInAt(page, base, user);

(async () => {
  require('fs').mkdirSync(out, { recursive: true });
  const browser = await launch();
  const shot = async (page, name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  const visit = async (page, path, sel, name) => {
    await page.goto(base + path);
    await page.waitForSelector('body[data-hydrated="true"]');
    if (sel) await page.waitForSelector(sel);
    await shot(page, name);
  };

  const zh = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1366, height: 800 } });
  await signIn(zh, 'dispatcher');
  await visit(zh, '/queue', '[data-testid=queue-table]', 'queue-zh');
  await visit(zh, '/cases?state=open', '[data-testid=cases-table]', 'cases-zh');
  await visit(zh, '/cases/map', '[data-testid=grid-map]', 'map-zh');
  await visit(zh, '/cases/map?metric=overdue', '[data-testid=grid-map]', 'map-overdue-zh');
  const reworked = process.env.CASE_ID || '1';
  await visit(zh, '/cases/' + reworked, '[data-testid=timeline]', 'detail-zh');
  await visit(zh, '/evaluation', '[data-testid=evaluation-table]', 'evaluation-zh');
  // The head of 水务局 on the monthly assessment: others as rank and score.
  await signIn(zh, 'waterhead');
  await visit(zh, '/evaluation/monthly', '[data-testid=evaluation-table]', 'assessment-head-zh');

  const en = await browser.newPage({ locale: 'en-US', viewport: { width: 1366, height: 800 } });
  await signIn(en, 'water');
  await visit(en, '/queue', '[data-testid=queue-table]', 'queue-water-en');
  await visit(en, '/cases/' + reworked, '[data-testid=timeline]', 'detail-en');
  await signIn(en, 'leader');
  await visit(en, '/evaluation', '[data-testid=evaluation-table]', 'evaluation-en');
  // The monthly assessment: a draft, then as printed (print media), in English.
  await visit(en, '/evaluation/monthly', '[data-testid=evaluation-table]', 'assessment-en');
  await en.emulateMedia({ media: 'print' });
  await shot(en, 'assessment-print-en');
  await en.emulateMedia({ media: 'screen' });
  await signIn(en, 'inspector');
  await visit(en, '/cases/new', '[data-testid=report-form]', 'report-en');
  await signIn(en, 'admin');
  await visit(en, '/admin/catalogue', '[data-testid=catalogue-table]', 'catalogue-en');
  await visit(en, '/admin/calendar?year=2026', '[data-testid=days-table]', 'calendar-en');
  await browser.close();
  console.log(`screenshots in ${out}`);
})().catch((e) => { console.error(e); process.exit(1); });
