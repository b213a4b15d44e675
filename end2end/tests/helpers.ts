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

const watched = new WeakSet<Page>();

/** Browser errors (a panic in the wasm, a hydration mismatch) go to the test output. */
function watch(page: Page) {
  if (watched.has(page)) return;
  watched.add(page);
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  page.on('response', async (r) => {
    if (r.request().resourceType() !== 'document') return;
    const csp = (await r.allHeaders())['content-security-policy'] ?? '';
    if (!csp.includes('nonce-') && r.status() < 300) {
      console.log(`[document without page CSP] ${r.status()} ${r.url()} ${JSON.stringify(await r.allHeaders())}`);
    }
  });
  page.on('requestfailed', (r) => console.log(`[request failed] ${r.url()} ${r.failure()?.errorText}`));
}

export async function goto(page: Page, path: string) {
  watch(page);
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

/** Signs in as admin, creates an account through the administration form, and signs out. */
export async function createUser(page: Page, username: string, password: string, role = 'inspector', dept = '城市管理局') {
  await signInOk(page, 'admin');
  await goto(page, '/admin/users/new');
  await page.locator('#username').fill(username);
  await page.locator('#display_name').fill('测试用户');
  await page.locator('#role').selectOption(role);
  await page.locator('#department_id').selectOption({ label: dept });
  await page.locator('#password').fill(password);
  await page.locator('#password_confirm').fill(password);
  await page.getByTestId('user-form').locator('button[type=submit]').click();
  await expect(page.getByTestId('saved')).toBeVisible();
  await signOut(page);
}
