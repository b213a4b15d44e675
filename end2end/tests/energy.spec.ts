import { BrowserContext, expect, Page, test as base } from '@playwright/test';
import { goto, openCase, signInOk, step } from './helpers';

// Energy and carbon: the overview and its drill-down, a CSV upload with a bad line, an
// anomaly dismissed and another turned into a case routed to the entity's department. The demo (40 meters, six weeks) provides the data.
// They run in the hydrated project only (playwright.config.ts: the no-JS project matches the
// sign-in and plain-form case specs).

const test = base.extend<{ as: (user: string, lang?: 'zh' | 'en') => Promise<Page> }>({
  as: async ({ browser, baseURL }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (user, lang = 'zh') => {
      const ctx = await browser.newContext({ baseURL, locale: lang === 'en' ? 'en-US' : 'zh-CN' });
      contexts.push(ctx);
      const page = await ctx.newPage();
      await signInOk(page, user);
      return page;
    });
    for (const c of contexts) await c.close();
  },
});

/** Shanghai's date `days` ago, YYYY-MM-DD. */
function shanghaiDate(daysAgo: number): string {
  return new Date(Date.now() + 8 * 3600_000 - daysAgo * 86400_000).toISOString().slice(0, 10);
}

function numberIn(text: string | null): number {
  return Number((text ?? '').replace(/[^0-9.\-]/g, ''));
}

test('the overview drills down from the city to a district, an entity and a meter', async ({ as }) => {
  const page = await as('energy', 'en');
  await goto(page, '/energy');
  await expect(page.getByRole('heading', { level: 1, name: 'Energy and carbon' })).toBeVisible();
  await expect(page.getByTestId('energy-figures').locator('li')).toHaveCount(3);
  for (const id of ['compare', 'districts', 'top', 'heatmap']) {
    await expect(page.getByTestId(`chart-${id}`).locator('svg')).toHaveCount(1);
  }
  // Charts speak the page's language, and their numbers are a table away.
  await expect(page.getByTestId('chart-compare').locator('svg title')).toContainText('This month against last month');
  await page.getByTestId('chart-top').getByText('Show the numbers').click();
  await expect(page.getByTestId('chart-top').locator('table tbody tr').first()).toBeVisible();
  // Heat, then back to electricity; the type is in the URL.
  await page.getByTestId('type-heat').click();
  await expect(page).toHaveURL(/type=heat/);
  await expect(page.getByTestId('chart-compare').locator('svg title')).toContainText('Heat');
  await page.getByTestId('type-electricity').click();
  // A district from the table, then its largest consumer, then one of its meters.
  await page.getByTestId('district-table').locator('tbody a').first().click();
  await expect(page).toHaveURL(/\/energy\/districts\/\d+/);
  await expect(page.getByTestId('chart-districts').locator('svg')).toHaveCount(1);
  await page.getByTestId('entity-table').locator('tbody a').first().click();
  await expect(page).toHaveURL(/\/energy\/entities\/\d+/);
  await expect(page.getByTestId('meter-table')).toBeVisible();
  await expect(page.getByTestId('chart-hourly').locator('svg')).toHaveCount(1);
  await page.getByTestId('meter-table').locator('tbody a').first().click();
  await expect(page).toHaveURL(/\/energy\/meters\/\d+/);
  await expect(page.getByTestId('chart-readings').locator('svg')).toHaveCount(1);
});

test('a CSV with one bad line: read the report, import the good lines, see the chart change', async ({ as }) => {
  const page = await as('energy', 'en');
  // A meter of the demo: the first of the largest consumer.
  await goto(page, '/energy');
  await page.getByTestId('entity-table').locator('tbody a').first().click();
  const meterLink = page.getByTestId('meter-table').locator('tbody a').first();
  const meter = ((await meterLink.textContent()) ?? '').trim();
  expect(meter).toMatch(/^TY-/);
  await meterLink.click();
  await expect(page).toHaveURL(/\/energy\/meters\/\d+/);
  const meterUrl = page.url();
  const day = shanghaiDate(1);
  const cell = () => page.getByTestId('chart-daily').locator('tbody tr', { hasText: day }).locator('td').first();
  await page.getByTestId('chart-daily').getByText('Show the numbers').click();
  const before = numberIn(await cell().textContent());

  // Three hours of yesterday raised to 50,000 kWh each, and a line with a bad number.
  const csv = [
    'meter,timestamp,value',
    `${meter},${day} 10:00,50000`,
    `${meter},${day} 11:00,50000`,
    `${meter},${day} 12:00,abc`,
    `${meter},${day} 13:00,50000`,
  ].join('\n');
  await goto(page, '/energy/upload');
  await page.locator('#file').setInputFiles({ name: 'raise.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByTestId('upload-check').click();
  const report = page.getByTestId('upload-report');
  await expect(report).toBeVisible();
  await expect(page.getByTestId('upload-total')).toHaveText('4');
  await expect(page.getByTestId('upload-good')).toHaveText('3');
  await expect(page.getByTestId('upload-bad')).toHaveText('1');
  const problem = page.getByTestId('upload-errors').locator('tbody tr');
  await expect(problem).toHaveCount(1);
  await expect(problem).toContainText('4');
  await expect(problem).toContainText('The value must be a number');
  // Nothing is stored before the import.
  await goto(page, meterUrl);
  await page.getByTestId('chart-daily').getByText('Show the numbers').click();
  expect(numberIn(await cell().textContent())).toBe(before);

  await goto(page, '/energy/upload');
  await page.locator('#file').setInputFiles({ name: 'raise.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByTestId('upload-check').click();
  await page.getByTestId('upload-import').click();
  await expect(page.getByTestId('upload-state')).toHaveText('Imported');
  await expect(page.getByTestId('upload-progress')).toHaveAttribute('value', '3');

  await goto(page, meterUrl);
  await page.getByTestId('chart-daily').getByText('Show the numbers').click();
  const after = numberIn(await cell().textContent());
  expect(after).toBeGreaterThan(before + 100_000);
});

test('a file that is not UTF-8 is refused whole, with its line', async ({ as }) => {
  const page = await as('energy', 'zh');
  await goto(page, '/energy/upload');
  await page.locator('#file').setInputFiles({
    name: 'gbk.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from([0xb1, 0xed, 0xbc, 0xc6, 0x2c, 0x31, 0x0a]),
  });
  await page.getByTestId('upload-check').click();
  await expect(page.getByTestId('upload-refused')).toContainText('编码');
  await expect(page.getByTestId('upload-report')).toHaveCount(0);
});

test('the energy office dismisses an anomaly; a department head cannot upload', async ({ as }) => {
  const page = await as('energy', 'en');
  await goto(page, '/energy/anomalies');
  const rows = page.getByTestId('anomaly-table').locator('tbody tr');
  await expect(rows.first()).toBeVisible();
  await rows.first().locator('a').click();
  await expect(page).toHaveURL(/\/energy\/anomalies\/\d+/);
  await expect(page.getByTestId('chart-evidence').locator('svg')).toHaveCount(1);
  await expect(page.getByTestId('anomaly-state')).toHaveText('Open');
  await page.getByTestId('anomaly-dismiss').click();
  await expect(page.getByTestId('anomaly-state')).toHaveText('Dismissed');
  await expect(page.getByTestId('anomaly-dismiss')).toHaveCount(0);

  const head = await as('waterhead', 'en');
  await goto(head, '/energy');
  await expect(head.getByTestId('energy-figures')).toBeVisible();
  await expect(head.getByRole('link', { name: 'Upload readings' })).toHaveCount(0);
  // The server refuses the upload whatever the page shows.
  const r = await head.request.post('/api/energy/uploads', { form: {}, headers: { origin: new URL(head.url()).origin } });
  expect(r.status()).toBe(403);
});

test('the energy office opens a case from an anomaly; the dispatcher finds it routed', async ({ as }) => {
  const page = await as('energy');
  await goto(page, '/energy/anomalies?state=open');
  const hrefs = await page
    .getByTestId('anomaly-table')
    .locator('tbody th a')
    .evaluateAll((links) => links.map((a) => a.getAttribute('href')!));
  // The first open anomaly of an entity inside the unit grids (a county's has none).
  let found = false;
  for (const href of hrefs) {
    await goto(page, href);
    if ((await page.getByTestId('anomaly-open-case').count()) > 0) {
      found = true;
      break;
    }
    await expect(page.getByTestId('anomaly-no-grid')).toBeVisible();
  }
  expect(found, 'an open anomaly of an entity in a grid').toBe(true);
  const dept = (await page.getByTestId('anomaly-department').textContent())!.trim();
  const form = page.getByTestId('anomaly-open-case');
  // The catalogue's energy class comes preselected.
  await expect(form.locator('#class_id option:checked')).toHaveText('0607 能耗异常');
  await form.locator('button[type=submit]').click();
  await expect(page.getByTestId('anomaly-state')).toHaveText('已转案件');
  await expect(page.getByTestId('anomaly-case-opened')).toBeVisible();
  await expect(page.getByTestId('anomaly-case')).toContainText('待立案');
  const code = ((await page.getByTestId('anomaly-case').locator('.mono').textContent()) ?? '').trim();
  expect(code).toMatch(/^\d{8}-\d{6}$/);
  await expect(page.getByTestId('anomaly-open-case')).toHaveCount(0);
  await expect(page.getByTestId('anomaly-dismiss')).toHaveCount(0);

  // In the command centre: where it came from, where it is routed, and dispatch preselected.
  const d = await as('dispatcher');
  await openCase(d, Number(code.split('-')[1]));
  await expect(d.getByTestId('case-anomaly')).toContainText('能耗异常');
  await expect(d.getByTestId('case-route')).toHaveText(dept);
  await step(d, 'file', 'filed');
  await expect(d.getByTestId('step-dispatch').locator('select[name=department_id] option:checked')).toHaveText(dept);
  await step(d, 'dispatch', 'dispatched');
  await expect(d.getByTestId('case-holder')).toContainText(dept);
});
