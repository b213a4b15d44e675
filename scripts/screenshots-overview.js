// Screenshots of the leadership overview and the big screen for review:
//   node scripts/screenshots-overview.js [BASE_URL] [OUT_DIR]
// Needs a running server with demo data and end2end/node_modules (make test installs it).
const { launch, signIn: signInAt } = require('./lib/browser');

const base = process.argv[2] || 'http://127.0.0.1:3000';
const out = process.argv[3] || 'end2end/screenshots';

const signIn = (page, user) => signInAt(page, base, user);

(async () => {
  require('fs').mkdirSync(out, { recursive: true });
  const browser = await launch();
  const visit = async (page, path, sel, name, fullPage = true) => {
    await page.goto(base + path);
    await page.waitForSelector('body[data-hydrated="true"]');
    if (sel) await page.waitForSelector(sel);
    await page.screenshot({ path: `${out}/${name}.png`, fullPage });
  };
  for (const [locale, suffix] of [['zh-CN', 'zh'], ['en-US', 'en']]) {
    const page = await browser.newPage({ locale, viewport: { width: 1366, height: 800 } });
    await signIn(page, 'leader');
    await visit(page, '/overview', '[data-testid=district-map]', `overview-${suffix}`);
    const wall = await browser.newPage({ locale, viewport: { width: 1920, height: 1080 } });
    await wall.context().addCookies(await page.context().cookies());
    for (const i of [0, 1, 2]) {
      await wall.goto(base + '/wall');
      await wall.waitForSelector('body[data-hydrated="true"]');
      await wall.click(`[data-testid=wall-dot-${i}]`);
      await wall.waitForTimeout(300);
      await wall.screenshot({ path: `${out}/wall-${i}-${suffix}.png` });
    }
  }
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
