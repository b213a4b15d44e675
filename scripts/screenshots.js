// Takes screenshots of the main screens for review: node scripts/screenshots.js [BASE_URL] [OUT_DIR]
// Needs a running server with demo data and end2end/node_modules (make test installs it).
const { launch, signIn: signInAt } = require('./lib/browser');

const base = process.argv[2] || 'http://127.0.0.1:3000';
const out = process.argv[3] || 'end2end/screenshots';

const signIn = (page, user) => signInAt(page, base, user);

(async () => {
  require('fs').mkdirSync(out, { recursive: true });
  const browser = await launch();
  const shot = async (page, name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });

  const zh = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1280, height: 760 } });
  await zh.goto(base + '/login');
  await zh.waitForSelector('body[data-hydrated="true"]');
  await shot(zh, 'login-zh');
  await zh.fill('#username', 'admin');
  await zh.fill('#password', 'wrong');
  await zh.click('[data-testid=login-form] button[type=submit]');
  await zh.waitForSelector('[data-testid=form-error]');
  await shot(zh, 'login-error-zh');
  await signIn(zh, 'admin');
  await shot(zh, 'home-zh');
  await zh.goto(base + '/account');
  await zh.waitForSelector('#current');
  await shot(zh, 'account-zh');
  await zh.goto(base + '/admin/users/2');
  await zh.waitForSelector('[data-testid=user-form]');
  await shot(zh, 'user-edit-zh');
  await zh.goto(base + '/admin/audit');
  await zh.waitForSelector('[data-testid=audit-table]');
  await shot(zh, 'audit-zh');
  await zh.goto(base + '/admin/users/new');
  await zh.waitForSelector('body[data-hydrated="true"]');
  await zh.fill('#username', '1x');
  await zh.fill('#display_name', '测试');
  await zh.fill('#password', 'weakpass');
  await zh.fill('#password_confirm', 'weakpass2');
  await zh.click('[data-testid=user-form] button[type=submit]');
  await zh.waitForSelector('#username-error');
  await shot(zh, 'user-new-errors-zh');

  const en = await browser.newPage({ locale: 'en-US', viewport: { width: 1280, height: 760 } });
  await signIn(en, 'admin');
  await en.goto(base + '/admin/users');
  await en.waitForSelector('[data-testid=users-table]');
  await shot(en, 'users-en');
  await en.goto(base + '/admin/departments');
  await en.waitForSelector('[data-testid=departments-table]');
  await shot(en, 'departments-en');
  await en.goto(base + '/admin/departments/2');
  await en.waitForSelector('[data-testid=department-form]');
  await shot(en, 'department-edit-en');

  const phone = await browser.newPage({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.goto(base + '/login');
  await phone.waitForSelector('body[data-hydrated="true"]');
  await shot(phone, 'phone-login-zh');
  await signIn(phone, 'admin');
  await phone.goto(base + '/admin/users');
  await phone.waitForSelector('[data-testid=users-table]');
  await shot(phone, 'phone-users-zh');
  const handler = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1280, height: 760 } });
  await signIn(handler, 'water');
  await handler.goto(base + '/admin/users');
  await shot(handler, 'forbidden-zh');
  await browser.close();
  console.log(`screenshots in ${out}`);
})().catch((e) => { console.error(e); process.exit(1); });
