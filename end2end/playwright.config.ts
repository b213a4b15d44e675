import { defineConfig } from '@playwright/test';

// The server is started by scripts/e2e.sh on a fresh demo database; it passes BASE_URL.
const baseURL = process.env.BASE_URL ?? 'http://127.0.0.1:3000';

const launchOptions = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
};

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    launchOptions,
    locale: 'zh-CN',
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  projects: [
    // Everything, with the hydrated app.
    { name: 'hydrated', use: { javaScriptEnabled: true } },
    // The sign-in form again with JavaScript disabled: server rendering and plain form posts.
    { name: 'no-js', use: { javaScriptEnabled: false }, testMatch: /(auth|cases-nojs)\.spec\.ts/ },
  ],
});
