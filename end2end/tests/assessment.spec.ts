import { expect, test } from '@playwright/test';
import { goto, signInOk } from './helpers';

// The monthly assessment: a leader publishes last month (the demo has cases in it and no
// appeals), the ranking is frozen, and a department head sees other departments as rank and
// score only.

test('a leader publishes last month and the ranking is frozen', async ({ page, browser, baseURL }) => {
  await signInOk(page, 'leader');
  await goto(page, '/evaluation/monthly');
  await expect(page.getByTestId('assessment-draft')).toBeVisible();
  const rows = page.getByTestId('evaluation-table').locator('tbody tr');
  await expect(rows.first()).toBeVisible();
  const scores = await page.getByTestId('score').allTextContents();
  expect(scores.length).toBeGreaterThan(1);
  await page.getByTestId('assessment-publish').locator('button[type=submit]').click();
  await expect(page.getByTestId('assessment-published')).toHaveText('已发布');
  await expect(page.getByTestId('assessment-publish')).toHaveCount(0);
  await expect(page.getByTestId('assessment-refusal')).toHaveText('本月考核已发布，不能再更改。');
  expect(await page.getByTestId('score').allTextContents()).toEqual(scores);
  // The CSV download holds the same ranking, best first.
  const href = (await page.getByTestId('assessment-csv').getAttribute('href'))!;
  const csv = decodeURIComponent(href.slice(href.indexOf(',') + 1));
  const lines = csv.trim().split('\r\n');
  expect(lines[0]).toContain('排名');
  expect(lines.length).toBe(scores.length + 1);
  expect(lines[1].split(',')[2]).toBe(scores[0].trim());
  // Still frozen after a reload, and listed among the published months.
  await page.reload();
  await expect(page.getByTestId('assessment-published')).toBeVisible();
  const month = await page.locator('input[name=month]').inputValue();
  await expect(page.locator('.filters a', { hasText: month })).toBeVisible();

  // The head of 水务局: no publishing, and other departments as rank and score only.
  const ctx = await browser.newContext({ baseURL, locale: 'zh-CN' });
  const head = await ctx.newPage();
  await signInOk(head, 'waterhead');
  await goto(head, `/evaluation/monthly?month=${month}`);
  await expect(head.getByTestId('assessment-published')).toBeVisible();
  await expect(head.getByTestId('assessment-publish')).toHaveCount(0);
  const headRows = head.getByTestId('evaluation-table').locator('tbody tr');
  expect(await headRows.count()).toBe(scores.length);
  // Only the own department's row links to its deductions.
  expect(await head.getByTestId('evaluation-table').locator('tbody td a').count()).toBeLessThanOrEqual(1);
  await expect(headRows.filter({ hasNotText: '水务局' }).first().locator('td').nth(3)).toHaveText('—');
  await ctx.close();
});

test("a department head sees their own scorecard and not another department's", async ({ page, browser, baseURL }) => {
  // Another department's id and one of its open cases, as the command centre sees them.
  const ctx = await browser.newContext({ baseURL, locale: 'zh-CN' });
  const d = await ctx.newPage();
  await signInOk(d, 'dispatcher');
  await goto(d, '/cases?state=open');
  const landscape = await d.locator('select[name=department] option', { hasText: '园林局' }).getAttribute('value');
  await goto(d, `/cases?state=open&department=${landscape}`);
  const other = await d.getByTestId('cases-table').locator('tbody tr a').first().getAttribute('href');
  await ctx.close();

  await signInOk(page, 'waterhead');
  await goto(page, '/scorecard');
  await expect(page.getByTestId('scorecard-dept')).toHaveText('水务局');
  await expect(page.getByTestId('scorecard-trend').locator('tbody tr')).toHaveCount(9);
  await expect(page.getByTestId('scorecard-trend').locator('tr[data-indicator=score] th')).toHaveText('得分');
  // The overdue cases listed are the department's own.
  const overdue = Number(await page.getByTestId('scorecard-overdue').textContent());
  const rows = page.getByTestId('scorecard-overdue-table').locator('tbody tr');
  expect(await rows.count()).toBe(Math.min(overdue, 10));
  for (const cell of await rows.locator('td:nth-child(5)').allTextContents()) expect(cell).toBe('水务局');
  // Another department: its scorecard is refused, its case is not there.
  await goto(page, `/scorecard?dept=${landscape}`);
  await expect(page.getByTestId('scorecard-dept')).toHaveCount(0);
  await expect(page.locator('.notice-error, [role=alert]').first()).toBeVisible();
  await goto(page, other!);
  await expect(page.getByTestId('not-found')).toBeVisible();
});
