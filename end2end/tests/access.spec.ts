import { expect, test } from '@playwright/test';
import { goto, signInOk } from './helpers';

for (const user of ['water', 'leader']) {
  test(`${user} is refused the administration pages`, async ({ page }) => {
    await signInOk(page, user);
    const nav = page.getByRole('navigation', { name: '主导航' });
    await expect(nav.getByRole('link', { name: '用户管理' })).toHaveCount(0);
    for (const path of ['/admin/users', '/admin/departments', '/admin/audit', '/admin/users/1']) {
      const res = await page.goto(path);
      expect(res?.status(), path).toBe(403);
      await expect(page.getByTestId('forbidden')).toBeVisible();
      await expect(page.getByTestId('users-table')).toHaveCount(0);
    }
  });
}

test('signed out, administration sends you to sign in and back', async ({ page }) => {
  await goto(page, '/admin/audit');
  await expect(page).toHaveURL(/\/login\?next=\/admin\/audit/);
  await page.locator('#username').fill('admin');
  await page.locator('#password').fill('Demo@2026!');
  await page.getByTestId('login-form').locator('button[type=submit]').click();
  await expect(page).toHaveURL(/\/admin\/audit$/);
  await expect(page.getByTestId('audit-table')).toBeVisible();
});
