import { APIRequestContext, BrowserContext, expect, Page, test as base } from '@playwright/test';
import { goto, signInOk, TINY_PNG } from './helpers';

// Sky Eye: alerts posted through the machine API by a video platform, triaged in the browser.
// Each test registers a camera of its own (a heartbeat with name and coordinates), so the
// incidents it makes never fold into anyone else's.

const test = base.extend<{ as: (user: string, lang?: 'zh' | 'en') => Promise<Page> }>({
  as: async ({ browser, baseURL }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (user, lang = 'zh') => {
      const ctx = await browser.newContext({ baseURL, locale: lang === 'en' ? 'en-US' : 'zh-CN' });
      contexts.push(ctx);
      const page = await ctx.newPage();
      await signInOk(page, user);
      return page;
    });
    for (const c of contexts) await c.close();
  },
});

/** Creates an integration key for the public security bureau on /admin/keys; returns the secret. */
async function createKey(admin: Page, source: string): Promise<string> {
  await goto(admin, '/admin/keys');
  await admin.locator('#key-name').fill(`e2e ${source}`);
  await admin.locator('#key-source').fill(source);
  // The public security bureau, whichever language the page is in.
  const psb = await admin.locator('#department_id option', { hasText: /公安局|Public Security Bureau/ }).getAttribute('value');
  await admin.locator('#department_id').selectOption(psb ?? '');
  await admin.getByTestId('key-create').click();
  const secret = (await admin.getByTestId('secret').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^clk_/);
  return secret;
}

let seq = 0;
function uid(): string {
  seq += 1;
  return `${Date.now().toString(36)}-${process.pid}-${seq}`;
}

async function api(request: APIRequestContext, path: string, key: string, data: unknown) {
  return request.post(path, { headers: { Authorization: `Bearer ${key}` }, data });
}

/** Registers a camera in Yingze district through a heartbeat and returns its code. */
async function newCamera(request: APIRequestContext, key: string): Promise<string> {
  const code = `E2E-${uid()}`.slice(0, 40);
  const r = await api(request, '/api/v1/cameras/heartbeat', key, {
    heartbeats: [{ camera: code, status: 'online', name: 'e2e 迎泽大街测试杆', lon: 112.565, lat: 37.855 }],
  });
  expect(r.status()).toBe(200);
  expect((await r.json()).results[0].status).toBe('registered');
  return code;
}

async function postAlert(request: APIRequestContext, key: string, camera: string, type: string, snapshot = false) {
  const alert: Record<string, unknown> = {
    external_id: `e2e-${uid()}`,
    camera,
    type,
    at: new Date().toISOString(),
    confidence: 0.91,
  };
  if (snapshot) alert.snapshot = TINY_PNG.toString('base64');
  const r = await api(request, '/api/v1/alerts', key, { alerts: [alert] });
  expect(r.status()).toBe(200);
  const body = await r.json();
  expect(body.accepted).toBe(1);
  return body.results[0].incident_id as number;
}

test('an alert posted through the API appears live; escalated, its case waits in the dispatcher queue', async ({ as, request }) => {
  const key = await createKey(await as('admin'), `e2e-live-${uid()}`.slice(0, 40));
  const camera = await newCamera(request, key);

  const officer = await as('skyeye');
  await goto(officer, '/alerts');
  await expect(officer.getByTestId('live-state')).toHaveAttribute('class', /live-on/);

  const incident = await postAlert(request, key, camera, 'illegal_parking', true);
  // No reload: the page hears about it and shows it within two seconds.
  const row = officer.locator(`tr[data-id="${incident}"]`);
  await expect(row).toBeVisible({ timeout: 2_000 });
  await expect(row).toContainText(camera);
  await expect(row.locator('img.thumb')).toBeVisible();
  // Not opened yet by this officer.
  await expect(row).toHaveClass(/unread/);

  await row.getByTestId('incident-link').click();
  await expect(officer).toHaveURL(new RegExp(`/alerts/${incident}$`));
  const form = officer.getByTestId('step-escalate');
  // The class comes from the alert type (illegal parking → 0504).
  await expect(form.locator('#class_id option:checked')).toContainText('0504');
  await form.locator('button[type=submit]').click();
  await expect(officer.getByTestId('escalated')).toBeVisible();
  const code = ((await officer.getByTestId('case-code').textContent()) ?? '').trim();
  expect(code).toMatch(/^\d{8}-\d{6}$/);
  await expect(officer.getByTestId('incident-state')).toContainText('已转案件');

  // The command centre finds it in its queue, reported from Sky Eye, with the snapshot.
  const dispatcher = await as('dispatcher');
  await goto(dispatcher, '/queue');
  const queued = dispatcher.getByTestId('queue-table').locator(`tr[data-code="${code}"]`);
  await expect(queued).toBeVisible();
  await queued.locator('a').first().click();
  await expect(dispatcher.getByTestId('case-incident')).toContainText(`#${incident}`);
  await expect(dispatcher.locator('img[src^="/photos/"]').first()).toBeVisible();
});

test('dismissing needs a reason; the reason and the officer stay on the incident', async ({ as, request }) => {
  const key = await createKey(await as('admin'), `e2e-dis-${uid()}`.slice(0, 40));
  const camera = await newCamera(request, key);
  const incident = await postAlert(request, key, camera, 'crowding');

  const officer = await as('skyeye');
  await goto(officer, `/alerts/${incident}`);
  const form = officer.getByTestId('step-dismiss');
  await form.locator('#dismiss-reason').selectOption('false_positive');
  await form.locator('#dismiss-note').fill('树影晃动误报');
  await form.locator('button[type=submit]').click();
  await expect(officer.getByTestId('incident-state')).toContainText('已排除');
  const timeline = officer.getByTestId('timeline');
  await expect(timeline).toContainText('误报');
  await expect(timeline).toContainText('树影晃动误报');
  await expect(timeline).toContainText('吴磊');
  // Finished: no further step, and the evidence is still listed.
  await expect(officer.getByTestId('no-actions')).toBeVisible();
  await expect(officer.getByTestId('alerts-table')).toContainText('e2e-');
});

test('a selection is acknowledged at once; nothing else changes', async ({ as, request }) => {
  const key = await createKey(await as('admin'), `e2e-bulk-${uid()}`.slice(0, 40));
  const camera = await newCamera(request, key);
  const a = await postAlert(request, key, camera, 'street_vending');
  const b = await postAlert(request, key, camera, 'garbage_overflow');
  const c = await postAlert(request, key, camera, 'road_obstruction');

  const officer = await as('skyeye');
  await goto(officer, `/alerts?camera=${camera}`);
  for (const id of [a, b]) {
    await officer.locator(`tr[data-id="${id}"]`).getByTestId('select-incident').check();
  }
  await expect(officer.getByTestId('bulk-count')).toContainText('2');
  await officer.getByTestId('bulk-ack').click();
  await expect(officer.getByTestId('bulk-result')).toContainText('2');
  await goto(officer, `/alerts/${a}`);
  await expect(officer.getByTestId('incident-state')).toContainText('已确认');
  await goto(officer, `/alerts/${c}`);
  await expect(officer.getByTestId('incident-state')).toContainText('待研判');
});

test('camera health, statistics, and a revoked key refused', async ({ as, request }) => {
  const admin = await as('admin', 'en');
  const key = await createKey(admin, `e2e-rev-${uid()}`.slice(0, 40));
  const camera = await newCamera(request, key);

  const officer = await as('skyeye', 'en');
  await goto(officer, '/cameras');
  await expect(officer.getByTestId('health-table')).toContainText('Public Security Bureau');
  await expect(officer.getByTestId('heatmap')).toBeVisible();
  await expect(officer.getByTestId('fp-by-type')).toContainText('Illegal parking');

  // Revoke on /admin/keys: the next post is refused with 401 and a message in English.
  await goto(admin, '/admin/keys');
  const row = admin.getByTestId('keys-table').locator('tr', { hasText: key.slice(0, 10) });
  await row.getByTestId('revoke').click();
  await admin.getByTestId('revoke-yes').click();
  await expect(admin.getByTestId('revoked')).toBeVisible();
  const r = await request.post('/api/v1/alerts', {
    headers: { Authorization: `Bearer ${key}`, 'Accept-Language': 'en' },
    data: { alerts: [{ external_id: `e2e-${uid()}`, camera, type: 'intrusion', at: new Date().toISOString() }] },
  });
  expect(r.status()).toBe(401);
  expect((await r.json()).error).toBe('revoked_key');
});
