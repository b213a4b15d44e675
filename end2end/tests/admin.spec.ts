import { expect, test } from '@playwright/test';
import { goto, signInOk } from './helpers';

test('administrator lists, filters, creates and edits users', async ({ page }) => {
  await signInOk(page, 'admin');
  await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '用户管理' }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  const table = page.getByTestId('users-table');
  await expect(table.locator('tr[data-username="dispatcher"]')).toBeVisible();

  // Filter by role: only handlers remain.
  await page.getByRole('combobox', { name: '角色' }).selectOption('handler');
  await page.getByRole('button', { name: '筛选' }).click();
  await expect(page).toHaveURL(/role=handler/);
  await expect(table.locator('tr[data-username="water"]')).toBeVisible();
  await expect(table.locator('tr[data-username="dispatcher"]')).toHaveCount(0);

  // Create: errors appear beside the fields, nothing is saved until they are fixed.
  const username = `qa${Date.now() % 1_000_000}`;
  await goto(page, '/admin/users/new');
  await page.locator('#username').fill('9bad name');
  await page.locator('#display_name').fill('质检员');
  await page.locator('#role').selectOption('handler');
  await page.locator('#department_id').selectOption({ label: '水务局' });
  await page.locator('#password').fill('weakpassword');
  await page.locator('#password_confirm').fill('weakpassword');
  await page.getByTestId('user-form').locator('button[type=submit]').click();
  await expect(page.locator('#username-error')).toContainText('以字母开头');
  await expect(page.locator('#password-error')).toContainText('至少三类');
  await expect(page.locator('#username')).toHaveAttribute('aria-invalid', 'true');

  await page.locator('#username').fill(username);
  await page.locator('#password').fill('Strong#Pass1');
  await page.locator('#password_confirm').fill('Strong#Pass1');
  await page.getByTestId('user-form').locator('button[type=submit]').click();
  await expect(page.getByTestId('saved')).toBeVisible();
  await expect(page).toHaveURL(/\/admin\/users\/\d+/);

  // Edit: deactivate through the form. (The "saved" notice still shows from the creation,
  // so wait for the update's own answer.)
  await page.locator('#active').selectOption('false');
  const [updated] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/admin/user/update')),
    page.getByTestId('user-form').locator('button[type=submit]').click(),
  ]);
  expect(updated.status()).toBe(200);
  await expect(page.locator('#active')).toHaveValue('false');
  await goto(page, `/admin/users?q=${username}`);
  await expect(table.locator(`tr[data-username="${username}"]`).getByText('停用').first()).toBeVisible();

  // Every change is in the audit log.
  await goto(page, '/admin/audit?action=admin.users');
  await expect(page.getByTestId('audit-table')).toContainText('admin.users.create');
  await expect(page.getByTestId('audit-table')).toContainText('admin.users.update');
});

test('administrator edits a department and sees validation', async ({ page }) => {
  await signInOk(page, 'admin');
  await goto(page, '/admin/departments/new');
  await page.locator('#code').fill('water');
  await page.locator('#name_zh').fill('重复');
  await page.locator('#name_en').fill('Duplicate');
  await page.getByTestId('department-form').locator('button[type=submit]').click();
  await expect(page.locator('#code-error')).toHaveText('该编码已被使用。');
  const code = `d${Date.now() % 1_000_000}`;
  await page.locator('#code').fill(code);
  await page.getByTestId('department-form').locator('button[type=submit]').click();
  await expect(page.getByTestId('saved')).toBeVisible();
  await expect(page.getByTestId('departments-table')).toContainText(code);
});

test('an empty sign-in form is refused beside each field', async ({ page }) => {
  await goto(page, '/login');
  // Remove the browser's own required check to reach the server's.
  await page.locator('#username').evaluate((el) => el.removeAttribute('required'));
  await page.locator('#password').evaluate((el) => el.removeAttribute('required'));
  await page.getByTestId('login-form').locator('button[type=submit]').click();
  await expect(page.locator('#username-error')).toHaveText('此项必填。');
  await expect(page.locator('#password-error')).toHaveText('此项必填。');
});
