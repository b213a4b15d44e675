// Screenshots of the Sky Eye screens for review, and a check of the live list:
//   node scripts/screenshots-skyeye.js [BASE_URL] [OUT_DIR]
// Needs a running server with demo data (it changes that data: it triages, escalates,
// creates and revokes a key, and posts one alert) and end2end/node_modules.
const { launch, signIn: signInAt } = require('./lib/browser');

const base = process.argv[2] || 'http://127.0.0.1:3000';
const out = process.argv[3] || 'end2end/screenshots';

const signIn = (page, user) => signInAt(page, base, user);

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok: ' + what);
}

(async () => {
  require('fs').mkdirSync(out, { recursive: true });
  const browser = await launch();
  const shot = async (page, name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  const visit = async (page, path, sel, name) => {
    await page.goto(base + path);
    await page.waitForSelector('body[data-hydrated="true"]');
    if (sel) await page.waitForSelector(sel);
    if (name) await shot(page, name);
  };
  const errors = [];
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    // (The sign-in page asks for the navigation counts before anyone is signed in: 401.)
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/api/cases/counts')) errors.push(r.status() + ' ' + r.url());
    });
  };

  // --- Duty officer, Chinese ---
  const zh = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1366, height: 800 } });
  watch(zh);
  await signIn(zh, 'skyeye');
  await visit(zh, '/alerts', '[data-testid=incidents-table]');
  await zh.waitForSelector('[data-testid=live-state].live-on');
  await shot(zh, 'skyeye-alerts-zh');
  // Select two incidents and acknowledge them together.
  const boxes = zh.locator('tr:has([data-triage=new]) [data-testid=select-incident]');
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  check((await zh.textContent('[data-testid=bulk-count]')).includes('2'), 'two selected');
  // The bar docks to the bottom of the window while rows are selected: shoot the window.
  await zh.screenshot({ path: `${out}/skyeye-alerts-selected-zh.png` });
  await zh.click('[data-testid=bulk-dismiss]');
  await zh.waitForSelector('#bulk-reason-error');
  await zh.click('[data-testid=bulk-ack]');
  await zh.waitForSelector('[data-testid=bulk-result]');
  const bulkText = await zh.textContent('[data-testid=bulk-result]');
  check(bulkText.includes('2'), 'bulk result: ' + bulkText);
  await shot(zh, 'skyeye-alerts-bulk-zh');
  // Filters in the URL.
  await visit(zh, '/alerts?state=all&severity=critical', '[data-testid=incidents-table]', 'skyeye-alerts-critical-zh');
  await visit(zh, '/alerts?state=open&camera=NO-SUCH-CAMERA', '[data-testid=empty]', 'skyeye-alerts-empty-zh');
  // One incident with a class to escalate to: a road obstruction.
  await visit(zh, '/alerts?state=new', '[data-testid=incidents-table]');
  const firstId = await zh.getAttribute('[data-testid=incidents-table] tbody tr', 'data-id');
  await visit(zh, '/alerts/' + firstId, '[data-testid=timeline]', 'skyeye-incident-zh');
  await visit(zh, '/cameras', '[data-testid=heatmap]', 'skyeye-cameras-zh');

  // --- Live: an alert posted through the machine API shows up without reload ---
  const admin = await browser.newPage({ locale: 'en-US', viewport: { width: 1366, height: 800 } });
  watch(admin);
  await signIn(admin, 'admin');
  await visit(admin, '/admin/keys', '[data-testid=key-form]');
  await admin.fill('#key-name', 'Screenshot feed');
  await admin.fill('#key-source', 'shots-' + Date.now().toString(36));
  const psb = await admin.$$eval('#department_id option', (os) => {
    const o = os.find((o) => /Public Security/.test(o.textContent));
    return o ? o.value : os[0].value;
  });
  await admin.selectOption('#department_id', psb);
  await admin.click('[data-testid=key-create]');
  await admin.waitForSelector('[data-testid=new-secret]');
  const secret = (await admin.textContent('[data-testid=secret]')).trim();
  check(secret.startsWith('clk_'), 'secret shown once');
  await shot(admin, 'skyeye-keys-created-en');

  await visit(zh, '/alerts', '[data-testid=incidents-table]');
  await zh.waitForSelector('[data-testid=live-state].live-on');
  const camera = await (async () => {
    const p = await browser.newPage();
    await p.context().addCookies(await zh.context().cookies());
    await p.goto(base + '/cameras?status=online&department=' + psb);
    await p.waitForSelector('[data-testid=cameras-table]');
    const c = await p.getAttribute('[data-testid=cameras-table] tbody tr', 'data-code');
    await p.close();
    return c;
  })();
  // A new incident, or (when the camera had one open of that type) a grown one.
  const before = await zh.textContent('[data-testid=incidents-table] tbody');
  // A small street scene with a detection box, drawn by the browser, as the snapshot.
  const snapshot = await zh.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 320; c.height = 180;
    const g = c.getContext('2d');
    g.fillStyle = '#8fb3c9'; g.fillRect(0, 0, 320, 70);
    g.fillStyle = '#5d6a72'; g.fillRect(0, 70, 320, 110);
    g.fillStyle = '#e8e8e0'; for (let x = 0; x < 320; x += 40) g.fillRect(x, 122, 24, 4);
    g.fillStyle = '#6b4f3a'; g.fillRect(30, 30, 60, 40); g.fillRect(220, 24, 80, 46);
    g.fillStyle = '#c23b22'; g.beginPath(); g.arc(160, 92, 18, 0, 7); g.fill();
    g.fillStyle = 'rgba(90,90,90,.7)'; g.beginPath(); g.arc(166, 62, 22, 0, 7); g.fill();
    g.strokeStyle = '#ffdd00'; g.lineWidth = 3; g.strokeRect(128, 40, 66, 76);
    g.fillStyle = '#ffdd00'; g.font = '12px sans-serif'; g.fillText('smoke 0.93', 130, 36);
    return c.toDataURL('image/png').split(',')[1];
  });
  await zh.evaluate(() => { document.querySelector('[data-testid=incidents-table] tbody tr').__kept = true; });
  const t0 = Date.now();
  const at = (s) => new Date(t0 - s * 1000).toISOString();
  const res = await fetch(base + '/api/v1/alerts', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ' + secret },
    body: JSON.stringify({ // three alerts on one of the key's department's cameras, folded into one incident
      alerts: [120, 60, 0].map((s, i) => ({
        external_id: `shot-${t0}-${i}`, camera, type: 'smoke_fire', at: at(s), confidence: 0.8 + i * 0.06, snapshot,
      })),
    }),
  });
  check(res.ok, 'alert accepted (' + res.status + ' ' + (res.ok ? '' : await res.text()) + ')');
  await zh.waitForFunction(
    (b) => document.querySelector('[data-testid=incidents-table] tbody').textContent !== b,
    before,
    { timeout: 5000 },
  );
  const ms = Date.now() - t0;
  check(ms < 2000, `list updated after ${ms} ms without reload`);
  check((await zh.textContent('[data-testid=incidents-table] tbody tr')).includes(camera), 'the camera leads the list');
  const kept = await zh.evaluate(() => [...document.querySelectorAll('[data-testid=incidents-table] tbody tr')].some((r) => r.__kept));
  console.log((kept ? 'ok' : 'note') + ': rows kept their DOM across the live reload: ' + kept);
  await shot(zh, 'skyeye-alerts-live-zh');
  const liveId = await zh.getAttribute('[data-testid=incidents-table] tbody tr', 'data-id');
  await visit(zh, '/alerts/' + liveId, '[data-testid=alerts-table] img', 'skyeye-incident-snapshot-zh');

  // --- Duty officer, English: detail, dismiss with a conflict, escalate ---
  const en = await browser.newPage({ locale: 'en-US', viewport: { width: 1366, height: 800 } });
  watch(en);
  await signIn(en, 'skyeye');
  await visit(en, '/alerts', '[data-testid=incidents-table]', 'skyeye-alerts-en');
  // An incident of a type that opens a case class: road obstruction, if any is open.
  const types = await en.$$eval('select[name=type] option', (os) => os.map((o) => [o.value, o.textContent]));
  const road = (types.find((t) => /obstruction/i.test(t[1])) || types[1])[0];
  await visit(en, `/alerts?state=new&type=${road}`, '[data-testid=incidents-table], [data-testid=empty]');
  const escId = await en.getAttribute('[data-testid=incidents-table] tbody tr', 'data-id');
  await visit(en, '/alerts/' + escId, '[data-testid=step-escalate]', 'skyeye-incident-en');
  // Another officer acknowledges it meanwhile: the page says so.
  const other = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1366, height: 800 } });
  watch(other);
  await visit(admin, '/admin/users/new', '[data-testid=user-form]');
  await admin.fill('#username', 'skyeye' + Date.now().toString(36));
  await admin.fill('#display_name', '李值班');
  await admin.selectOption('#role', 'video_officer');
  await admin.selectOption('#department_id', psb);
  await admin.fill('#password', 'Demo@2026!');
  await admin.fill('#password_confirm', 'Demo@2026!');
  const otherName = await admin.inputValue('#username');
  await admin.click('[data-testid=user-form] button[type=submit]');
  await admin.waitForSelector('[data-testid=saved]');
  await signIn(other, otherName);
  await visit(other, '/alerts/' + escId, '[data-testid=incident-actions]');
  const otherAck = await other.$('[data-testid=step-acknowledge] button');
  if (otherAck) {
    await otherAck.click();
    await other.waitForSelector('[data-testid=done]');
    await en.waitForSelector('[data-testid=changed-by-other]', { timeout: 5000 });
    await shot(en, 'skyeye-incident-changed-en');
  }
  await en.fill('#description', '');
  await en.click('[data-testid=step-escalate] button[type=submit]');
  await en.waitForSelector('[data-testid=escalated]');
  await shot(en, 'skyeye-incident-escalated-en');
  await visit(en, '/cameras', '[data-testid=heatmap]', 'skyeye-cameras-en');

  // --- The case opened from the incident, seen by the dispatcher ---
  const dispatcher = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1366, height: 800 } });
  watch(dispatcher);
  await signIn(dispatcher, 'dispatcher');
  await visit(dispatcher, '/alerts/' + escId, '[data-testid=incident-actions]', 'skyeye-incident-dispatcher-zh');
  const caseHref = await dispatcher.getAttribute('[data-testid=case-link]', 'href');
  await visit(dispatcher, caseHref, '[data-testid=case-incident]', 'skyeye-case-from-incident-zh');

  // --- Leadership: read-only ---
  const leader = await browser.newPage({ locale: 'en-US', viewport: { width: 1366, height: 800 } });
  watch(leader);
  await signIn(leader, 'leader');
  await visit(leader, '/alerts/' + firstId, '[data-testid=no-actions]', 'skyeye-incident-leader-en');

  // --- Keys: list and revoke with confirmation ---
  await visit(admin, '/admin/keys', '[data-testid=keys-table]');
  await admin.click('[data-testid=revoke] >> nth=0');
  await admin.waitForSelector('[data-testid=revoke-confirm]');
  await shot(admin, 'skyeye-keys-revoke-en');
  const adminZh = await browser.newPage({ locale: 'zh-CN', viewport: { width: 1366, height: 800 } });
  await signIn(adminZh, 'admin');
  await visit(adminZh, '/admin/keys', '[data-testid=keys-table]', 'skyeye-keys-zh');

  // --- Phone width ---
  const phone = await browser.newPage({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  watch(phone);
  await signIn(phone, 'skyeye');
  await visit(phone, '/alerts', '[data-testid=incidents-table]', 'skyeye-alerts-phone-zh');
  await visit(phone, '/alerts/' + liveId, '[data-testid=timeline]', 'skyeye-incident-phone-zh');
  await visit(phone, '/cameras', '[data-testid=heatmap]', 'skyeye-cameras-phone-zh');

  // --- Without JavaScript: the list and a single step still work, and a stale form is
  // refused with a clear message (with JavaScript the live page would have updated first).
  const nojs = await browser.newContext({ javaScriptEnabled: false, locale: 'zh-CN', viewport: { width: 1366, height: 800 } });
  await nojs.addCookies(await zh.context().cookies());
  const nj = await nojs.newPage();
  await nj.goto(base + '/alerts?state=new');
  await nj.waitForSelector('[data-testid=incidents-table]');
  const newIds = await nj.$$eval('[data-testid=incidents-table] tbody tr', (rs) => rs.map((r) => r.dataset.id));
  await nj.goto(base + '/alerts/' + newIds[0]);
  await nj.click('[data-testid=step-acknowledge] button');
  await nj.waitForSelector('[data-testid=incident-state] [data-triage=acknowledged]');
  console.log('ok: acknowledge without JavaScript');
  await nj.screenshot({ path: `${out}/skyeye-incident-nojs-zh.png`, fullPage: true });
  await nj.goto(base + '/alerts/' + newIds[1]);
  await visit(en, '/alerts/' + newIds[1], '[data-testid=step-acknowledge]');
  await en.click('[data-testid=step-acknowledge] button');
  await en.waitForSelector('[data-testid=done]');
  await nj.click('[data-testid=step-acknowledge] button');
  await nj.waitForSelector('[data-testid=step-error]');
  check((await nj.textContent('[data-testid=step-error]')).includes('其他人'), 'stale step refused with a clear message');
  await nj.screenshot({ path: `${out}/skyeye-incident-conflict-zh.png`, fullPage: true });

  await browser.close();
  if (errors.length) {
    console.log('browser errors:\n' + errors.join('\n'));
  }
  console.log(`screenshots in ${out}`);
})().catch((e) => { console.error(e); process.exit(1); });
