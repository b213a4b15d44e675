import { expect, test } from '@playwright/test';
import { goto, signInOk } from './helpers';

test('the language switch is remembered across pages and visits', async ({ page }) => {
  await goto(page, '/login');
  await expect(page.locator('html')).toHaveAttribute('lang', /zh/);
  await expect(page.getByRole('heading', { name: '登录' })).toBeVisible();
  await page.getByTestId('lang-switch').click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', /en/);
  await expect(page.locator('label[for=username]')).toHaveText('Username');
  // Remembered: a reload renders English on the server.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await signInOk(page, 'admin');
  await expect(page.getByTestId('user-role')).toHaveText('Administrator');
  await expect(page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Users' })).toBeVisible();
  // And back to Chinese.
  await page.getByTestId('lang-switch').click();
  await expect(page.getByTestId('user-role')).toHaveText('系统管理员');
});

test.describe('a browser that prefers English', () => {
  test.use({ locale: 'en-US' });
  test('gets English on the first visit', async ({ page }) => {
    await goto(page, '/login');
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    await expect(page.getByTestId('lang-switch')).toHaveText('中文');
  });
});
