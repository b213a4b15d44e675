import { expect, test } from '@playwright/test';
import { goto, reportCase, signInOk } from './helpers';

// The leadership overview and the big screen.

test('a leader reads the overview and drills from a district to its open cases', async ({ page }) => {
  await signInOk(page, 'leader');
  await goto(page, '/overview');
  // Every panel says whose data it shows and how fresh it is.
  for (const id of ['cases', 'alerts', 'energy']) {
    await expect(page.getByTestId(`provenance-${id}`)).toContainText('数据来源');
  }
  await expect(page.getByTestId('provenance-alerts')).toContainText('公安局');
  await expect(page.getByTestId('source-cameras')).toBeVisible();
  // Key figures link to the lists behind them.
  await expect(page.locator('[data-figure=cases_open] a')).toHaveAttribute('href', '/cases?state=open');
  const open = Number((await page.getByTestId('fig-cases_open').textContent())!.replace(/[^\d]/g, ''));
  expect(open).toBeGreaterThan(0);

  // Xiaodian on the map, shaded by open cases: its figure, then its list.
  const row = page.getByTestId('district-table').locator('tr[data-district="140105"]');
  const n = Number((await row.locator('td').first().textContent())!.replace(/[^\d]/g, ''));
  expect(n).toBeGreaterThan(0);
  await page.getByTestId('district-map').locator('a[data-district="0"]').click();
  await expect(page).toHaveURL(/\/cases\?state=open&district=140105$/);
  await expect(page.getByTestId('pager-info')).toContainText(`共 ${n} 条`);
  const places = await page.getByTestId('cases-table').locator('tbody tr td:nth-child(3)').allTextContents();
  expect(places.length).toBeGreaterThan(0);
  for (const p of places) expect(p).toContain('小店区');

  // Shaded by overdue cases, the map's links lead to the overdue list.
  await goto(page, '/overview?by=overdue');
  await expect(page.getByTestId('by-overdue')).toHaveClass(/active/);
  await expect(page.getByTestId('district-map').locator('a[data-district="0"]')).toHaveAttribute(
    'href',
    '/cases?state=open&overdue=1&district=140105',
  );
});

test('the big screen fills 1920×1080 without scrolling, rotates and shows a new case live', async ({ browser, baseURL }) => {
  const ctx = await browser.newContext({ baseURL, locale: 'zh-CN', viewport: { width: 1920, height: 1080 } });
  const wall = await ctx.newPage();
  await signInOk(wall, 'leader');
  await goto(wall, '/wall?rotate=2');
  await expect(wall.getByTestId('wall')).toBeVisible();
  await expect(wall.getByTestId('live-state')).toHaveAttribute('class', /live-on/);
  // Nothing scrolls: not the page, not the wall.
  const sizes = await wall.evaluate(() => {
    const w = document.querySelector('[data-testid=wall]') as HTMLElement;
    const d = document.documentElement;
    return { sh: d.scrollHeight, ch: d.clientHeight, sw: d.scrollWidth, cw: d.clientWidth, wsh: w.scrollHeight, wch: w.clientHeight };
  });
  expect(sizes.sh).toBeLessThanOrEqual(sizes.ch);
  expect(sizes.sw).toBeLessThanOrEqual(sizes.cw);
  expect(sizes.wsh).toBeLessThanOrEqual(sizes.wch);
  expect(sizes.ch).toBe(1080);
  // Nine key figures in view.
  await expect(wall.locator('.wall-kf')).toHaveCount(9);
  // The panels rotate on their own (every 2 s here).
  await expect(wall.getByTestId('wall-panel-0')).toBeVisible();
  await expect(wall.getByTestId('wall-panel-1')).toBeVisible({ timeout: 5_000 });
  await expect(wall.getByTestId('wall-panel-0')).toBeHidden();
  await expect(wall.getByTestId('wall-panel-2')).toBeVisible({ timeout: 5_000 });

  // An inspector reports a case: it appears in the feed without a reload.
  const ictx = await browser.newContext({ baseURL, locale: 'zh-CN' });
  const inspector = await ictx.newPage();
  await signInOk(inspector, 'inspector');
  const { code } = await reportCase(inspector);
  await expect(wall.getByTestId('wall-feed').locator(`li[data-code="${code}"]`)).toBeVisible({ timeout: 5_000 });
  await ctx.close();
  await ictx.close();
});

test('a department head cannot open the overview', async ({ page }) => {
  await signInOk(page, 'waterhead');
  await goto(page, '/overview');
  await expect(page.getByTestId('forbidden')).toBeVisible();
  await expect(page.getByTestId('panel-cases')).toHaveCount(0);
  // Not in the sidebar either.
  await expect(page.locator('.sidenav a[href="/overview"]')).toHaveCount(0);
});
