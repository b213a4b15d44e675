// Screenshots of the citizen pages for review, on a phone (390×844) in both languages:
//   node scripts/screenshots-citizen.js [BASE_URL] [OUT_DIR]
// The report page empty and filled in, a new report's status page, a closed report's status
// page with its before and after photos. Needs a running server with demo data and
// end2end/node_modules (make test installs it). Posts one report and takes a demo case
// through the workflow as the demo staff.
const { launch, signIn } = require('./lib/browser');

const base = process.argv[2] || 'http://127.0.0.1:3000';
const out = process.argv[3] || 'end2end/screenshots';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
  'base64',
);

/** Takes one workflow step on the open case page. */
async function step(page, action, opts = {}) {
  const form = page.locator(`[data-testid=step-${action}]`);
  if (opts.note) await form.locator(`#note-${action}`).fill(opts.note);
  if (opts.pub) await form.locator(`#public-note-${action}`).fill(opts.pub);
  if (opts.photo) await form.locator(`#photos-${action}`).setInputFiles({ name: 'p.png', mimeType: 'image/png', buffer: PNG });
  await form.locator('button[type=submit]').click();
  await page.waitForURL(new RegExp(`done=${action}$`));
  await page.waitForSelector('body[data-hydrated="true"]');
}

(async () => {
  require('fs').mkdirSync(out, { recursive: true });
  const browser = await launch();
  const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
  let code;
  for (const [locale, suffix] of [['zh-CN', 'zh'], ['en-US', 'en']]) {
    const page = await browser.newPage({ locale, ...phone });
    await page.goto(base + '/report');
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.screenshot({ path: `${out}/citizen-report-${suffix}.png`, fullPage: true });
    if (suffix === 'zh') {
      await page.locator('label.cat', { hasText: '井盖破损或丢失' }).tap();
      await page.locator('[data-testid=question-danger] label.choice').first().tap();
      await page.locator('[data-testid=grid-picker] rect.pick-cell.d140106').nth(12).tap();
      await page.fill('#description', '人行道上的井盖缺了一角，晚上路过很危险。');
      await page.setInputFiles('#photos', { name: 'p.png', mimeType: 'image/png', buffer: PNG });
      await page.screenshot({ path: `${out}/citizen-report-filled-${suffix}.png`, fullPage: true });
      await page.locator('[data-testid=citizen-submit]').tap();
      await page.waitForURL(/\/track\/TY-/);
      await page.waitForSelector('[data-testid=tracking-code]');
      code = (await page.locator('[data-testid=tracking-code]').textContent()).trim();
      await page.screenshot({ path: `${out}/citizen-status-new-${suffix}.png`, fullPage: true });
    }
    await page.close();
  }

  // Staff take the report to closure, with a note for the citizen on the way.
  const staff = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await signIn(staff, base, 'dispatcher');
  await staff.goto(`${base}/cases?q=${encodeURIComponent('井盖缺了一角')}`);
  await staff.waitForSelector('body[data-hydrated="true"]');
  const href = await staff.locator('tr[data-code] a').first().getAttribute('href');
  await staff.goto(base + href);
  await staff.waitForSelector('body[data-hydrated="true"]');
  await step(staff, 'file', { pub: '已核实，已安排水务局处理。' });
  await step(staff, 'dispatch');
  await signIn(staff, base, 'water');
  await staff.goto(base + href);
  await staff.waitForSelector('body[data-hydrated="true"]');
  await step(staff, 'accept');
  await step(staff, 'report_back', { note: '已更换井盖', photo: true });
  await signIn(staff, base, 'inspector');
  await staff.goto(base + href);
  await staff.waitForSelector('body[data-hydrated="true"]');
  await step(staff, 'verify_pass', { photo: true });
  await signIn(staff, base, 'dispatcher');
  await staff.goto(base + href);
  await staff.waitForSelector('body[data-hydrated="true"]');
  await step(staff, 'close', { pub: '井盖已更换，感谢您的反映！' });
  await staff.screenshot({ path: `${out}/citizen-case-staff-zh.png`, fullPage: true });

  for (const [locale, suffix] of [['zh-CN', 'zh'], ['en-US', 'en']]) {
    const page = await browser.newPage({ locale, ...phone });
    await page.goto(`${base}/track/${code}`);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.waitForSelector('[data-testid=track-state][data-state=closed]');
    await page.screenshot({ path: `${out}/citizen-status-closed-${suffix}.png`, fullPage: true });
    await page.goto(`${base}/track?code=TY-12`);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.screenshot({ path: `${out}/citizen-track-bad-${suffix}.png` });
  }
  await browser.close();
  console.log(`tracking code ${code}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
