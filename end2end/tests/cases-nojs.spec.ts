import { expect, test } from '@playwright/test';
import { caseState, openCase, reportCase, signInOk, signOut, step } from './helpers';

// Runs twice: hydrated, and with JavaScript disabled, where the report and step forms are
// plain multipart posts to /api/cases/report and /api/cases/step and the server redirects
// back to the case.

test('a case is reported, filed and dispatched with plain form posts', async ({ page }) => {
  await signInOk(page, 'inspector');
  const c = await reportCase(page, `no-js ${Date.now()}`);
  await expect(page.getByTestId('done')).toHaveText('案件已上报，等待指挥中心立案。');
  await expect(caseState(page)).toHaveAttribute('data-state', 'reported');
  await expect(page.locator('.photo-cols > div').first().locator('img')).toHaveCount(1);
  await signOut(page);

  await signInOk(page, 'dispatcher');
  await openCase(page, c.id);
  await step(page, 'file', 'filed', { note: '符合立案条件' });
  await expect(page.getByTestId('done')).toContainText('立案');
  await expect(page.locator('#department_id option:checked')).toHaveText('水务局');
  await step(page, 'dispatch', 'dispatched');
  await expect(page.getByTestId('case-holder')).toHaveText('水务局');
  const timeline = page.getByTestId('timeline').locator('li[data-action]');
  await expect(timeline).toHaveCount(3);
  await expect(timeline.nth(1)).toContainText('符合立案条件');
});
