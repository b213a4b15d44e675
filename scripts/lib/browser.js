// What the screenshot scripts share: Debian's Chromium, launched as the Playwright suite does,
// and signing in through the sign-in page with a demo account.
const { chromium } = require('../../end2end/node_modules/playwright-core');

function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Signs `user` (password `Demo@2026!`) in on `base`, after dropping any earlier session. */
async function signIn(page, base, user) {
  await page.context().clearCookies();
  await page.goto(base + '/login');
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#username', user);
  await page.fill('#password', 'Demo@2026!');
  await page.click('[data-testid=login-form] button[type=submit]');
  await page.waitForSelector('[data-testid=user-name]');
}

module.exports = { launch, signIn };
