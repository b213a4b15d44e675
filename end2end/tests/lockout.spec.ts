import { expect, test } from '@playwright/test';
import { createUser, goto, signIn, signInOk } from './helpers';

test('five wrong passwords lock an account for 30 minutes', async ({ page }) => {
  // A fresh account of its own, made through the administration pages.
  const username = `lock${Date.now() % 1_000_000}`;
  await createUser(page, username, 'Lock#Test2026');

  for (let i = 1; i <= 4; i++) {
    await signIn(page, username, `Wrong#${i}xyz`);
    await expect(page.getByTestId('form-error')).toHaveText('用户名或密码不正确。');
  }
  await signIn(page, username, 'Wrong#5xyz');
  await expect(page.getByTestId('form-error')).toContainText('账户已锁定');
  await expect(page.getByTestId('form-error')).toContainText('30');
  // Locked: even the right password is refused.
  await signIn(page, username, 'Lock#Test2026');
  await expect(page.getByTestId('form-error')).toContainText('账户已锁定');
  await expect(page.getByTestId('user-name')).toHaveCount(0);

  // The administrator sees the lock and the failures in the audit log.
  await signInOk(page, 'admin');
  await goto(page, `/admin/users?q=${username}`);
  const row = page.locator(`tr[data-username="${username}"]`);
  await expect(row.getByText('已锁定')).toBeVisible();
  await goto(page, `/admin/audit?user=${username}&outcome=failure`);
  await expect(page.getByTestId('pager-info')).toContainText(/共\s*6\s*条/);
});
