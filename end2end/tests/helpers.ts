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

// ---- Cases ----

/** A valid 1×1 PNG: the server checks that photos are real JPEG or PNG files. */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
  'base64',
);

export function photo(name = 'p.png') {
  return { name, mimeType: 'image/png', buffer: TINY_PNG };
}

/** A place in Yingze district (迎泽区), inside the unit grids. */
export const PLACE = { lat: '37.855', lon: '112.565' };

export type NewCase = { id: number; code: string };

/**
 * Reports a water-supply manhole cover (component 0101, dispatched to 水务局 by default)
 * through `/cases/new` as the signed-in inspector, and waits for the new case's page.
 */
export async function reportCase(page: Page, description = `e2e ${Date.now()}`): Promise<NewCase> {
  await goto(page, '/cases/new');
  // Component 0101 and event 0101 share the code; the component is the manhole cover.
  const option = page.locator('#class_id option').filter({ hasText: /^0101 (上水井盖|Water-supply manhole cover)/ });
  await expect(option).toHaveCount(1);
  await page.locator('#class_id').selectOption((await option.getAttribute('value'))!);
  await page.locator('input[name=lat]').fill(PLACE.lat);
  await page.locator('input[name=lon]').fill(PLACE.lon);
  await page.locator('#address').fill('迎泽大街 1 号 / 1 Yingze Street');
  await page.locator('#description').fill(description);
  await page.setInputFiles('#photos', photo());
  await page.getByTestId('report-form').locator('button[type=submit]').click();
  await expect(page).toHaveURL(/\/cases\/\d+\?done=report$/);
  await expect(page.getByTestId('done')).toBeVisible();
  const id = Number(new URL(page.url()).pathname.split('/').pop());
  const code = (await page.getByTestId('case-code').textContent())!.trim();
  expect(code).toMatch(/^\d{8}-\d{6}$/);
  return { id, code };
}

/** The state badge of the open case page. */
export function caseState(page: Page) {
  return page.locator('[data-testid=case-state] [data-state]');
}

export async function openCase(page: Page, id: number) {
  await goto(page, `/cases/${id}`);
  await expect(page.getByTestId('case-code')).toBeVisible();
}

/**
 * Takes one workflow step through its form on the open case page (`step-{action}`): an
 * optional note, a photo where the step takes one, then waits for `?done={action}` and the
 * state the step leads to.
 */
export async function step(page: Page, action: string, to: string, opts: { note?: string; photo?: boolean } = {}) {
  const form = page.getByTestId(`step-${action}`);
  await expect(form).toBeVisible();
  if (opts.note !== undefined) await form.locator(`#note-${action}`).fill(opts.note);
  if (opts.photo) await form.locator(`#photos-${action}`).setInputFiles(photo(`${action}.png`));
  await form.locator('button[type=submit]').click();
  await expect(page).toHaveURL(new RegExp(`\\?done=${action}$`));
  await expect(page.getByTestId('done')).toBeVisible();
  await expect(caseState(page)).toHaveAttribute('data-state', to);
}
