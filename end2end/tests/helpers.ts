import { expect, Page, test } from '@playwright/test';

export const PASSWORD = 'Demo@2026!';

/** True in the project that runs with JavaScript (the hydrated app). */
export function jsEnabled(): boolean {
  return test.info().project.use.javaScriptEnabled !== false;
}

/** Waits until the WebAssembly app has hydrated the page (no-op without JavaScript). */
export async function hydrated(page: Page) {
  if (jsEnabled()) {
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 });
  }
}

export async function goto(page: Page, path: string) {
  await page.goto(path);
  await hydrated(page);
}

export async function signIn(page: Page, username: string, password = PASSWORD) {
  await goto(page, '/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.getByTestId('login-form').locator('button[type=submit]').click();
}

export async function signInOk(page: Page, username: string) {
  await signIn(page, username);
  await expect(page.getByTestId('user-name')).toBeVisible();
  await expect(page).not.toHaveURL(/\/login/);
  await hydrated(page);
}

export async function signOut(page: Page) {
  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByTestId('user-name')).toHaveCount(0);
}
