// Screenshots of the energy screens for review:
//   node scripts/screenshots-energy.js [BASE_URL] [OUT_DIR]
// Needs a running server with demo data (it uploads a small CSV and changes nothing else)
// and end2end/node_modules.
const { launch, signIn: signInAt } = require('./lib/browser');

const base = process.argv[2] || 'http://127.0.0.1:3000';
const out = process.argv[3] || 'end2end/screenshots';

const signIn = (page, user) => signInAt(page, base, user);

(async () => {
  require('fs').mkdirSync(out, { recursive: true });
  const browser = await launch();
  const errors = [];
  const open = async (lang, width = 1400) => {
    const ctx = await browser.newContext({ locale: lang === 'en' ? 'en-US' : 'zh-CN', viewport: { width, height: 900 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/api/cases/counts')) errors.push(r.status() + ' ' + r.url());
    });
    return page;
  };
  const shot = (page, name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  const visit = async (page, path, sel, name) => {
    await page.goto(base + path);
    await page.waitForSelector('body[data-hydrated="true"]');
    if (sel) await page.waitForSelector(sel);
    if (name) await shot(page, name);
  };

  let caseId = 0;
  for (const lang of ['zh', 'en']) {
    const page = await open(lang);
    await signIn(page, 'energy');
    await visit(page, '/energy', '[data-testid=chart-compare] svg', `energy-overview-${lang}`);
    await visit(page, '/energy?type=heat', '[data-testid=chart-heatmap] svg', `energy-heat-${lang}`);
    const district = await page.locator('[data-testid=district-table] tbody a').first().getAttribute('href');
    await visit(page, district, '[data-testid=chart-districts] svg', `energy-district-${lang}`);
    const entity = await page.locator('[data-testid=entity-table] tbody a').first().getAttribute('href');
    await visit(page, entity, '[data-testid=meter-table]', `energy-entity-${lang}`);
    const meter = await page.locator('[data-testid=meter-table] tbody a').first().getAttribute('href');
    await visit(page, meter, '[data-testid=chart-readings] svg', `energy-meter-${lang}`);
    await visit(page, '/energy/anomalies', '[data-testid=anomaly-table]', `energy-anomalies-${lang}`);
    const first = await page.locator('[data-testid=anomaly-table] tbody a').first().getAttribute('href');
    await visit(page, first, '[data-testid=chart-evidence] svg', `energy-anomaly-${lang}`);
    // An open anomaly of an entity in a grid: the case form; in English the case is opened.
    await visit(page, '/energy/anomalies?state=open', '[data-testid=anomaly-table]');
    const opens = await page.locator('[data-testid=anomaly-table] tbody th a').evaluateAll((l) => l.map((a) => a.getAttribute('href')));
    for (const href of opens) {
      await visit(page, href, '[data-testid=chart-evidence] svg');
      if (await page.locator('[data-testid=anomaly-open-case]').count()) break;
    }
    await shot(page, `energy-anomaly-case-form-${lang}`);
    if (lang === 'en') {
      await page.click('[data-testid=anomaly-open-case] button[type=submit]');
      await page.waitForSelector('[data-testid=anomaly-case]');
      await shot(page, 'energy-anomaly-case-opened-en');
      const code = (await page.locator('[data-testid=anomaly-case] .mono').textContent()).trim();
      caseId = Number(code.split('-')[1]);
    }
    // An upload with a refused line: the report.
    const code = (await page.goto(base + meter), await page.waitForSelector('h1'), (await page.locator('h1').textContent()).trim().split(' ')[0]);
    const day = new Date(Date.now() + 8 * 3600_000 - 86400_000).toISOString().slice(0, 10);
    const csv = `表计编号,时间,用量,备注\n${code},${day} 09:00,12.5,\n${code},${day} 09:30,3,半点\n${code},${day} 10:00,-1,\nNOPE-1,${day} 10:00,2,\n`;
    await visit(page, '/energy/upload', '[data-testid=upload-form]');
    await page.setInputFiles('#file', { name: 'readings.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.click('[data-testid=upload-check]');
    await page.waitForSelector('[data-testid=upload-report]');
    await shot(page, `energy-upload-report-${lang}`);
    await page.context().close();
  }
  // The dispatcher's view of the case opened from the anomaly: source and routing.
  const disp = await open('zh');
  await signIn(disp, 'dispatcher');
  await visit(disp, `/cases/${caseId}`, '[data-testid=case-anomaly]', 'energy-case-routed-zh');
  await disp.context().close();
  // Phone width and a department head.
  const phone = await open('zh', 390);
  await signIn(phone, 'waterhead');
  await visit(phone, '/energy', '[data-testid=chart-compare] svg', 'energy-overview-phone-head');
  await browser.close();
  if (errors.length) {
    console.log('browser errors:\n' + errors.join('\n'));
    process.exit(1);
  }
  console.log('screenshots in ' + out);
})();
