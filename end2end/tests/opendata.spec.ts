import { BrowserContext, expect, Page, test as base } from '@playwright/test';
import * as fs from 'fs';
import { goto, signInOk } from './helpers';

// Open data and the data catalogue: an anonymous visitor on a phone downloads a dataset from
// /data; an administrator grants the water bureau the case records on /catalogue and the
// bureau's head then reads every case, until the grant is revoked.

const test = base.extend<{ as: (user: string | null) => Promise<Page> }>({
  as: async ({ browser, baseURL }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (user) => {
      const ctx = await browser.newContext({ baseURL, locale: 'zh-CN', acceptDownloads: true,
        viewport: user ? { width: 1280, height: 900 } : { width: 390, height: 844 } });
      contexts.push(ctx);
      const page = await ctx.newPage();
      if (user) await signInOk(page, user);
      return page;
    });
    for (const c of contexts) await c.close();
  },
});

/** Rows of a CSV text (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

test('an anonymous visitor on a phone downloads a dataset', async ({ as }) => {
  const page = await as(null);
  await goto(page, '/data');
  await expect(page.getByRole('heading', { level: 1, name: '开放数据' })).toBeVisible();
  await expect(page.getByTestId('userbox')).toHaveCount(0);
  for (const code of ['cases-monthly', 'energy-monthly', 'rankings']) {
    await expect(page.getByTestId(`dataset-${code}`)).toBeVisible();
  }
  await expect(page.getByTestId('dataset-cases')).toHaveCount(0);
  const card = page.getByTestId('dataset-cases-monthly');
  await expect(card).toContainText('CC BY 4.0');
  await expect(card).toContainText('城市管理局');
  // Nothing wider than the phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-cases-monthly-csv').click(),
  ]);
  expect(download.suggestedFilename()).toBe('citylink-cases-monthly.csv');
  const csv = fs.readFileSync((await download.path())!, 'utf8');
  expect(csv.charCodeAt(0)).toBe(0xfeff);
  const lines = parseCsv(csv.slice(1));
  expect(lines[0].join(',')).toBe('月份,区县代码,区县,区县（英文）,类型,小类编码,小类,小类（英文）,上报数,立案数,结案数,按期结案数');
  // The demo's earlier months are there, the current one is not.
  expect(lines.length).toBeGreaterThan(1);
  const thisMonth = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 7);
  expect(lines.slice(1).every((l) => l[0] < thisMonth)).toBe(true);
  expect(csv).not.toContain('描述');
  // The JSON says the same.
  const json = await (await page.request.get('/data/cases-monthly.json')).json();
  expect(json.rows.length).toBe(lines.length - 1);
  const total = json.rows.reduce((s: number, r: { reported: number }) => s + r.reported, 0);
  const csvTotal = lines.slice(1).reduce((s, l) => s + Number(l[8]), 0);
  expect(total).toBe(csvTotal);
  // Restricted data is not there.
  expect((await page.request.get('/data/cases.csv')).status()).toBe(404);
});

test('an administrator grants and revokes the case records; the grantee sees the change', async ({ as }) => {
  // Cases reported up to yesterday (Shanghai): other specs running meanwhile add today's.
  const until = new Date(Date.now() + 8 * 3600_000 - 86400_000).toISOString().slice(0, 10);
  const list = `/cases?to=${until}`;
  const head = await as('waterhead');
  await goto(head, list);
  const narrowed = (await head.getByTestId('pager-info').textContent()) ?? '';

  const admin = await as('admin');
  await goto(admin, '/catalogue');
  const entry = admin.getByTestId('catalogue-cases');
  await expect(entry.getByTestId('owner')).toHaveText('城市管理局');
  await entry.getByTestId('grant-department').selectOption({ label: '水务局' });
  await entry.getByTestId('grant').click();
  await expect(admin.getByTestId('granted')).toBeVisible();
  await expect(admin.getByTestId('catalogue-cases').getByTestId('grantee')).toHaveText(['水务局']);

  await goto(head, list);
  await expect(head.getByTestId('pager-info')).not.toHaveText(narrowed);
  const widened = (await head.getByTestId('pager-info').textContent()) ?? '';
  await goto(head, '/catalogue');
  await expect(head.getByTestId('catalogue-cases').getByTestId('mine')).toBeVisible();
  await expect(head.getByTestId('catalogue-cases').getByTestId('grant-form')).toHaveCount(0);

  await goto(admin, '/catalogue');
  await admin.getByTestId('catalogue-cases').getByTestId('revoke').click();
  await expect(admin.getByTestId('revoked')).toBeVisible();
  await expect(admin.getByTestId('catalogue-cases').getByTestId('grantee')).toHaveCount(0);

  await goto(head, list);
  await expect(head.getByTestId('pager-info')).toHaveText(narrowed);
  expect(widened).not.toBe(narrowed);
});
