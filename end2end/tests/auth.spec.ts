import { expect, test } from '@playwright/test';
import { goto, PASSWORD, signIn, signInOk, signOut } from './helpers';

// Runs twice: hydrated, and with JavaScript disabled (plain form posts, server rendering).

const ACCOUNTS: { user: string; name: string; role: string; dept: string; admin: boolean }[] = [
  { user: 'admin', name: '张伟', role: '系统管理员', dept: '行政审批服务管理局（大数据中心）', admin: true },
  { user: 'dispatcher', name: '赵敏', role: '受理派遣员', dept: '城市管理局', admin: false },
  { user: 'inspector', name: '钱进', role: '信息采集监督员', dept: '城市管理局', admin: false },
  { user: 'water', name: '孙涛', role: '处置人员', dept: '水务局', admin: false },
  { user: 'landscape', name: '李娜', role: '处置人员', dept: '园林局', admin: false },
  { user: 'waterhead', name: '周强', role: '部门负责人', dept: '水务局', admin: false },
  { user: 'skyeye', name: '吴磊', role: '视频值班员', dept: '公安局', admin: false },
  { user: 'energy', name: '郑洁', role: '能源分析员', dept: '发展和改革委员会', admin: false },
  { user: 'leader', name: '王刚', role: '领导小组', dept: '智慧城市建设领导小组', admin: false },
];

for (const a of ACCOUNTS) {
  test(`${a.user} signs in and out`, async ({ page }) => {
    await signInOk(page, a.user);
    await expect(page.getByTestId('user-name')).toHaveText(a.name);
    await expect(page.getByTestId('user-role')).toHaveText(a.role);
    await expect(page.getByTestId('user-dept')).toHaveText(a.dept);
    await expect(page.getByTestId('welcome')).toContainText(a.name);
    const nav = page.getByRole('navigation', { name: '主导航' });
    await expect(nav.getByRole('link', { name: '首页' })).toBeVisible();
    await expect(nav.getByRole('link', { name: '用户管理' })).toHaveCount(a.admin ? 1 : 0);
    await expect(nav.getByRole('link', { name: '审计日志' })).toHaveCount(a.admin ? 1 : 0);
    await signOut(page);
    // Signed out, the start page sends you back to sign in.
    await goto(page, '/');
    await expect(page).toHaveURL(/\/login/);
  });
}

test('a wrong password is refused with a clear message', async ({ page }) => {
  await signIn(page, 'dispatcher', 'Wrong#Pass1');
  await expect(page.getByTestId('form-error')).toHaveText('用户名或密码不正确。');
  await expect(page.getByTestId('user-name')).toHaveCount(0);
  // The right password still works (one failure does not lock).
  await signInOk(page, 'dispatcher');
});

test('after sign-in you land where you were going', async ({ page }) => {
  await goto(page, '/account');
  await expect(page).toHaveURL(/\/login\?next=\/account/);
  await page.locator('#username').fill('leader');
  await page.locator('#password').fill(PASSWORD);
  await page.getByTestId('login-form').locator('button[type=submit]').click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: '修改密码' })).toBeVisible();
});
