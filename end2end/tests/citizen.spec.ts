import { expect, test } from '@playwright/test';
import { goto, photo, signInOk, step } from './helpers';

// A phone: the report page is built for one.
test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });

test('a citizen reports on a phone, gets a code; the dispatcher files it; the citizen sees the new state', async ({ page, browser }) => {
  await goto(page, '/report');
  // Nothing wider than the phone.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  const description = `e2e citizen ${Date.now()}`;
  // Category: a large card; its question appears once chosen.
  await expect(page.getByTestId('question-danger')).toHaveCount(0);
  await page.locator('label.cat', { hasText: '井盖破损或丢失' }).tap();
  await page.getByTestId('question-danger').getByText('是', { exact: true }).tap();
  // Place: tapping a Yingze cell of the grid map fills the coordinates.
  await page.locator('[data-testid=grid-picker] rect.pick-cell.d140106').nth(5).tap();
  await expect(page.locator('input[name=lat]')).not.toHaveValue('');
  await expect(page.locator('input[name=lon]')).not.toHaveValue('');
  await page.locator('#description').fill(description);
  await page.setInputFiles('#photos', photo());
  await page.getByTestId('citizen-submit').tap();

  // The status page with the tracking code.
  await expect(page).toHaveURL(/\/track\/TY-[2-9A-Z]{4}-[2-9A-Z]{4}\?new=1$/);
  const code = (await page.getByTestId('tracking-code').textContent())!.trim();
  expect(code).toMatch(/^TY-[2-9A-Z]{4}-[2-9A-Z]{4}$/);
  await expect(page.getByTestId('track-state')).toHaveAttribute('data-state', 'received');
  await expect(page.getByTestId('track-timeline').locator('li')).toHaveCount(1);

  // The dispatcher finds it in the case list, sees where it came from, and files it with a
  // note for the citizen.
  const staff = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  await signInOk(staff, 'dispatcher');
  await goto(staff, `/cases?q=${encodeURIComponent(description)}`);
  const row = staff.locator('tr[data-code]');
  await expect(row).toHaveCount(1);
  await row.locator('a').first().click();
  await expect(staff.getByTestId('case-citizen')).toContainText(code);
  await staff.getByTestId('step-file').locator('#public-note-file').fill('已核实，正在安排处理');
  await step(staff, 'file', 'filed', { note: '内部备注：现场有警示牌' });

  // The citizen looks again: accepted, with the public note and not the internal one.
  await page.reload();
  await expect(page.getByTestId('track-state')).toHaveAttribute('data-state', 'accepted');
  await expect(page.getByTestId('track-timeline')).toContainText('已核实，正在安排处理');
  await expect(page.locator('body')).not.toContainText('内部备注');
  await expect(page.getByTestId('track-timeline').locator('li')).toHaveCount(2);

  // Looking the code up from the form, typed in lower case without dashes, finds it too.
  await goto(page, '/track');
  await page.locator('#code').fill(code.toLowerCase().replace(/-/g, ''));
  await page.getByTestId('track-form').locator('button[type=submit]').tap();
  await expect(page).toHaveURL(new RegExp(`/track/${code}$`));
  await expect(page.getByTestId('track-state')).toHaveAttribute('data-state', 'accepted');
});

test('the report page explains what is missing, and unknown codes get a clear answer', async ({ page }) => {
  await goto(page, '/report');
  // A category and a place outside the city: the server says where it went wrong.
  await page.locator('label.cat', { hasText: '垃圾堆积' }).tap();
  await page.locator('input[name=lat]').fill('39.90');
  await page.locator('input[name=lon]').fill('116.40');
  await page.locator('#description').fill('路边有垃圾');
  await page.getByTestId('citizen-submit').tap();
  await expect(page.locator('#lon-error')).toBeVisible();
  await expect(page).toHaveURL(/\/report$/);

  await goto(page, '/track?code=hello');
  await expect(page.locator('.field-error')).toContainText('TY-XXXX-XXXX');
  await goto(page, '/track/TY-2222-2222');
  await expect(page.getByTestId('track-unknown')).toBeVisible();
});
