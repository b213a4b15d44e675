import { expect, test } from '@playwright/test';
import { createUser, goto, signIn, signInOk, signOut } from './helpers';

test('a user changes their own password under the policy', async ({ page }) => {
  const username = `pw${Date.now() % 1_000_000}`;
  const first = 'First#Pass2026';
  await createUser(page, username, first, 'handler', '水务局');
  await signIn(page, username, first);
  await expect(page.getByTestId('user-name')).toHaveText('测试用户');
  await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '我的账户' }).click();
  await expect(page.getByRole('heading', { name: '修改密码' })).toBeVisible();
  await page.locator('#current').fill('not-it');
  await page.locator('#password').fill('Water#Head2026');
  await page.locator('#password_confirm').fill('Water#Head2026');
  await page.getByRole('button', { name: '保存' }).click();
  await expect(page.locator('#current-error')).toHaveText('当前密码不正确。');
  await page.locator('#current').fill(first);
  await page.locator('#password').fill('short1!');
  await page.locator('#password_confirm').fill('short1!');
  await page.getByRole('button', { name: '保存' }).click();
  await expect(page.locator('#password-error')).toHaveText('密码至少 8 个字符。');
  await page.locator('#password').fill('Water#Head2026');
  await page.locator('#password_confirm').fill('Water#Head2026');
  await page.getByRole('button', { name: '保存' }).click();
  await expect(page.getByRole('status')).toContainText('密码已修改');
  await signOut(page);
  await signIn(page, username, first);
  await expect(page.getByTestId('form-error')).toHaveText('用户名或密码不正确。');
  await signIn(page, username, 'Water#Head2026');
  await expect(page.getByTestId('user-name')).toHaveText('测试用户');
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  test('pages fit the screen; wide tables scroll inside their frame', async ({ page }) => {
    await goto(page, '/login');
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await fits()).toBe(true);
    await signInOk(page, 'admin');
    await goto(page, '/admin/users');
    await expect(page.getByTestId('users-table')).toBeVisible();
    expect(await fits()).toBe(true);
    await expect(page.getByTestId('user-name')).toBeVisible();
    await expect(page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '用户管理' })).toBeVisible();
  });
});
