// Screenshots of the public open data page (phone and desktop) and the staff data catalogue,
// in both languages, for review:
//   node scripts/screenshots-opendata.js [BASE_URL] [OUT_DIR]
// Needs a running server with demo data and end2end/node_modules (make test installs it).
const { launch, signIn: signInAt } = require('./lib/browser');

const base = process.argv[2] || 'http://127.0.0.1:3000';
const out = process.argv[3] || 'end2end/screenshots';

(async () => {
  require('fs').mkdirSync(out, { recursive: true });
  const browser = await launch();
  const visit = async (page, path, sel, name) => {
    await page.goto(base + path);
    await page.waitForSelector('body[data-hydrated="true"]');
    if (sel) await page.waitForSelector(sel);
    await page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  };
  for (const [locale, suffix] of [['zh-CN', 'zh'], ['en-US', 'en']]) {
    // The public page, anonymous: a phone, then a desktop.
    const phone = await browser.newPage({ locale, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    await visit(phone, '/data', '[data-testid=dataset-cases-monthly]', `data-phone-${suffix}`);
    const desk = await browser.newPage({ locale, viewport: { width: 1366, height: 800 } });
    await visit(desk, '/data', '[data-testid=dataset-cases-monthly]', `data-desktop-${suffix}`);
    // The catalogue as an administrator (grant forms) and as a department head (reader).
    const staff = await browser.newPage({ locale, viewport: { width: 1366, height: 800 } });
    await signInAt(staff, base, 'admin');
    await visit(staff, '/catalogue', '[data-testid=catalogue-cases]', `catalogue-admin-${suffix}`);
    await signInAt(staff, base, 'waterhead');
    await visit(staff, '/catalogue', '[data-testid=catalogue-cases]', `catalogue-head-${suffix}`);
    const sphone = await browser.newPage({ locale, viewport: { width: 390, height: 844 } });
    await sphone.context().addCookies(await staff.context().cookies());
    await visit(sphone, '/catalogue', '[data-testid=catalogue-cases]', `catalogue-phone-${suffix}`);
  }
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
