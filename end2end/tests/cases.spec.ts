import { BrowserContext, expect, Page, test as base } from '@playwright/test';
import { caseState, goto, NewCase, openCase, photo, reportCase, signInOk, step } from './helpers';

// Each test makes its own cases and signs every user in in a browser context of its own
// (`as('dispatcher')`), so several users work on one case side by side. All tests share one
// server and database with another worker: nothing here depends on counts others change.

type Lang = 'zh' | 'en';

const test = base.extend<{ as: (user: string, lang?: Lang) => Promise<Page> }>({
  as: async ({ browser, baseURL, javaScriptEnabled }, use) => {
    const open = new Map<string, Page>();
    const contexts: BrowserContext[] = [];
    await use(async (user, lang = 'zh') => {
      const key = `${user}/${lang}`;
      const known = open.get(key);
      if (known) return known;
      const ctx = await browser.newContext({ baseURL, javaScriptEnabled, locale: lang === 'en' ? 'en-US' : 'zh-CN' });
      contexts.push(ctx);
      const page = await ctx.newPage();
      await signInOk(page, user);
      open.set(key, page);
      return page;
    });
    for (const c of contexts) await c.close();
  },
});

const TEXT = {
  zh: {
    reportedOk: '案件已上报，等待指挥中心立案。',
    state: {
      reported: '待立案',
      filed: '待派遣',
      dispatched: '待受理',
      handling: '处置中',
      reported_back: '待核查',
      verified: '待结案',
      closed: '已结案',
    } as Record<string, string>,
    act: { file: '立案', dispatch: '派遣', accept: '受理', report_back: '处置反馈', verify_pass: '核查通过', close: '结案' } as Record<string, string>,
    water: '水务局',
    holder: { command: '指挥中心', supervision: '监督中心（待核查）', nobody: '无（已办结）' },
    photosNone: '暂无照片',
  },
  en: {
    reportedOk: 'Case reported; it now waits for the command centre to file it.',
    state: {
      reported: 'Awaiting filing',
      filed: 'Awaiting dispatch',
      dispatched: 'Awaiting acceptance',
      handling: 'Being handled',
      reported_back: 'Awaiting verification',
      verified: 'Awaiting closure',
      closed: 'Closed',
    } as Record<string, string>,
    act: {
      file: 'File',
      dispatch: 'Dispatch',
      accept: 'Accept',
      report_back: 'Report back',
      verify_pass: 'Verified: fixed',
      close: 'Close',
    } as Record<string, string>,
    water: 'Water Affairs Bureau',
    holder: { command: 'Command centre', supervision: 'Supervision centre (verification)', nobody: 'Nobody (finished)' },
    photosNone: 'No photos',
  },
};

/** Opens the case from the user's queue (it must be there) and returns the row's page. */
async function fromQueue(page: Page, c: NewCase) {
  await goto(page, '/queue');
  const row = page.getByTestId('queue-table').locator(`tr[data-code="${c.code}"]`);
  await expect(row).toBeVisible();
  await row.getByRole('link', { name: c.code }).click();
  await expect(page).toHaveURL(new RegExp(`/cases/${c.id}$`));
  await expect(page.getByTestId('case-code')).toHaveText(c.code);
}

/** The step forms the page offers, by test id. */
function stepForms(page: Page) {
  return page.locator('form[data-testid^=step-]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
}

/** The images of the "before" (report) and "after" (handling and verification) columns. */
function photoColumn(page: Page, n: 0 | 1) {
  return page.locator('.photo-cols > div').nth(n).locator('img');
}

async function expectImagesLoaded(page: Page, n: 0 | 1, count: number) {
  const imgs = photoColumn(page, n);
  await expect(imgs).toHaveCount(count);
  for (const img of await imgs.all()) {
    await img.scrollIntoViewIfNeeded();
    await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(1);
  }
}

/** Report → file → dispatch (to 水务局) → accept: the case is being handled by `water`. */
async function toHandling(as: (user: string, lang?: Lang) => Promise<Page>, description: string) {
  const inspector = await as('inspector');
  const c = await reportCase(inspector, description);
  const dispatcher = await as('dispatcher');
  await openCase(dispatcher, c.id);
  await step(dispatcher, 'file', 'filed');
  await step(dispatcher, 'dispatch', 'dispatched');
  const water = await as('water');
  await openCase(water, c.id);
  await step(water, 'accept', 'handling');
  return c;
}

for (const lang of ['en', 'zh'] as Lang[]) {
  test(`a case goes from report to closure through every role (${lang})`, async ({ as }) => {
    const T = TEXT[lang];
    const badge = (p: Page, state: string) => expect(caseState(p)).toHaveText(T.state[state]);
    const done = async (p: Page, action: string, state: string) => {
      await expect(p.getByTestId('done')).toContainText(T.act[action]);
      await expect(p.getByTestId('done')).toContainText(T.state[state]);
    };

    // The inspector reports through the form.
    const inspector = await as('inspector', lang);
    const c = await reportCase(inspector, `井盖缺失 lifecycle ${lang} ${Date.now()}`);
    await expect(inspector.getByTestId('done')).toHaveText(T.reportedOk);
    await expect(caseState(inspector)).toHaveAttribute('data-state', 'reported');
    await badge(inspector, 'reported');
    await expect(inspector.getByTestId('case-holder')).toHaveText(T.holder.command);
    await expect(inspector.getByTestId('no-actions')).toBeVisible();
    await expect(photoColumn(inspector, 0)).toHaveCount(1);
    await expect(inspector.locator('.photo-cols > div').nth(1)).toContainText(T.photosNone);

    // The command centre finds it in its queue, files it and dispatches it.
    const dispatcher = await as('dispatcher', lang);
    await fromQueue(dispatcher, c);
    expect(await stepForms(dispatcher)).toEqual(['step-file', 'step-reject']);
    await step(dispatcher, 'file', 'filed');
    await done(dispatcher, 'file', 'filed');
    await badge(dispatcher, 'filed');
    const dept = dispatcher.locator('#department_id');
    await expect(dept.locator('option:checked')).toHaveText(T.water);
    await step(dispatcher, 'dispatch', 'dispatched', { note: 'please fix today' });
    await done(dispatcher, 'dispatch', 'dispatched');
    await badge(dispatcher, 'dispatched');
    await expect(dispatcher.getByTestId('case-holder')).toHaveText(T.water);
    // While the department holds it, the command centre may only put it on hold.
    await expect.poll(() => stepForms(dispatcher)).toEqual(['step-hold']);

    // 水务局 accepts and reports back with a photo.
    const water = await as('water', lang);
    await fromQueue(water, c);
    expect(await stepForms(water)).toEqual(['step-accept', 'step-return']);
    await step(water, 'accept', 'handling');
    await done(water, 'accept', 'handling');
    await badge(water, 'handling');
    expect(await stepForms(water)).toEqual(['step-report_back']);
    await step(water, 'report_back', 'reported_back', { note: 'cover replaced', photo: true });
    await done(water, 'report_back', 'reported_back');
    await badge(water, 'reported_back');
    await expect(water.getByTestId('case-holder')).toHaveText(T.holder.supervision);

    // The inspector checks on site, with a photo.
    await fromQueue(inspector, c);
    expect(await stepForms(inspector)).toEqual(['step-verify_pass', 'step-verify_fail']);
    await step(inspector, 'verify_pass', 'verified', { photo: true });
    await done(inspector, 'verify_pass', 'verified');
    await badge(inspector, 'verified');

    // The command centre closes it.
    await fromQueue(dispatcher, c);
    expect(await stepForms(dispatcher)).toEqual(['step-close', 'step-rework']);
    await step(dispatcher, 'close', 'closed');
    await done(dispatcher, 'close', 'closed');
    await badge(dispatcher, 'closed');
    await expect(dispatcher.getByTestId('case-holder')).toHaveText(T.holder.nobody);
    await expect(dispatcher.getByTestId('no-actions')).toBeVisible();
    await expect(dispatcher.getByTestId('rework-count')).toHaveText('0');

    // Seven entries on the timeline, in order, with the photos where they were taken.
    const timeline = dispatcher.getByTestId('timeline').locator('li[data-action]');
    await expect(timeline).toHaveCount(7);
    expect(await timeline.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))).toEqual([
      'report',
      'file',
      'dispatch',
      'accept',
      'report_back',
      'verify_pass',
      'close',
    ]);
    for (const [action, n] of [['report', 1], ['report_back', 1], ['verify_pass', 1], ['file', 0], ['close', 0]] as const) {
      await expect(timeline.and(dispatcher.locator(`[data-action=${action}]`)).locator('img'), action).toHaveCount(n);
    }
    await expect(timeline.and(dispatcher.locator('[data-action=report_back]'))).toContainText('cover replaced');
    await expect(timeline.and(dispatcher.locator('[data-action=dispatch]'))).toContainText(T.water);
    // Before: the report's photo; after: the handler's and the inspector's.
    await expectImagesLoaded(dispatcher, 0, 1);
    await expectImagesLoaded(dispatcher, 1, 2);

    // Closed cases leave every queue.
    for (const p of [dispatcher, water, inspector]) {
      await goto(p, '/queue');
      await expect(p.locator(`tr[data-code="${c.code}"]`)).toHaveCount(0);
    }
  });
}

test('a failed verification sends the case back for rework', async ({ as }) => {
  const c = await toHandling(as, `rework ${Date.now()}`);
  const water = await as('water');
  await step(water, 'report_back', 'reported_back', { note: '已处理', photo: true });

  // Verification failed: the reason is required, by the server too.
  const inspector = await as('inspector');
  await openCase(inspector, c.id);
  const fail = inspector.getByTestId('step-verify_fail');
  await expect(fail.locator('#note-verify_fail')).toHaveAttribute('required', '');
  await fail.locator('#note-verify_fail').evaluate((el) => el.removeAttribute('required'));
  await fail.locator('#photos-verify_fail').setInputFiles(photo());
  await fail.locator('button[type=submit]').click();
  await expect(fail.locator('#note-error')).toHaveText('此项必填。');
  await expect(caseState(inspector)).toHaveAttribute('data-state', 'reported_back');
  // The photo already chosen is kept: only the note needs adding.
  await inspector.waitForLoadState('networkidle');
  expect(await fail.locator('#photos-verify_fail').evaluate((i: HTMLInputElement) => i.files?.length)).toBe(1);
  await step(inspector, 'verify_fail', 'verified', { note: '井盖仍未复位' });

  // The command centre cannot close it, only send it back.
  const dispatcher = await as('dispatcher');
  await openCase(dispatcher, c.id);
  await expect(dispatcher.getByTestId('step-close')).toHaveCount(0);
  await expect(dispatcher.getByTestId('rework-count')).toHaveText('0');
  await step(dispatcher, 'rework', 'handling', { note: '请重新复位井盖' });
  await expect(dispatcher.getByTestId('rework-count')).toHaveText('1');
  await expect(caseState(dispatcher)).toHaveText('处置中');

  // Back with 水务局, in its queue again, and round once more to closure.
  await goto(water, '/queue');
  await expect(water.locator(`tr[data-code="${c.code}"]`)).toBeVisible();
  await openCase(water, c.id);
  await expect(water.getByTestId('step-accept')).toHaveCount(0);
  await step(water, 'report_back', 'reported_back', { note: '已重新复位', photo: true });
  await openCase(inspector, c.id);
  await step(inspector, 'verify_pass', 'verified', { photo: true });
  await openCase(dispatcher, c.id);
  await step(dispatcher, 'close', 'closed');
  await expect(dispatcher.getByTestId('rework-count')).toHaveText('1');
  const timeline = dispatcher.getByTestId('timeline').locator('li[data-action]');
  expect(await timeline.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))).toEqual([
    'report',
    'file',
    'dispatch',
    'accept',
    'report_back',
    'verify_fail',
    'rework',
    'report_back',
    'verify_pass',
    'close',
  ]);
  await expect(timeline.and(dispatcher.locator('[data-action=verify_fail]'))).toContainText('井盖仍未复位');
  await expect(timeline.and(dispatcher.locator('[data-action=rework]'))).toContainText('请重新复位井盖');
  await expect(dispatcher.locator('.photo-cols > div').nth(1).locator('img')).toHaveCount(4);
});

test('another department neither sees nor acts on a case', async ({ as }) => {
  const inspector = await as('inspector');
  const c = await reportCase(inspector, `refusal ${Date.now()}`);
  const dispatcher = await as('dispatcher');
  await openCase(dispatcher, c.id);
  await step(dispatcher, 'file', 'filed');
  await step(dispatcher, 'dispatch', 'dispatched');

  // 园林局 does not see it: not in its list, its queue, nor at its address.
  const landscape = await as('landscape');
  await goto(landscape, `/cases?q=${c.code}`);
  await expect(landscape.getByTestId('empty')).toBeVisible();
  await expect(landscape.locator(`tr[data-code="${c.code}"]`)).toHaveCount(0);
  await goto(landscape, '/queue');
  await expect(landscape.locator(`tr[data-code="${c.code}"]`)).toHaveCount(0);
  const res = await landscape.goto(`/cases/${c.id}`);
  expect(res?.status()).toBe(404);
  await expect(landscape.getByTestId('not-found')).toBeVisible();
  await expect(landscape.getByTestId('case-code')).toHaveCount(0);

  // A step posted directly finds no such case: another department's case does not exist
  // for it, not even as a refusal.
  const post = await landscape.request.post('/api/cases/step', {
    multipart: { case_id: String(c.id), version: '0', action: 'accept' },
  });
  expect(post.status()).toBe(404);

  // 水务局 sees it and may accept or return it. With the case open in a second tab, it
  // returns the case as wrongly dispatched; the first tab's accept form is now stale.
  const water = await as('water');
  await goto(water, `/cases?q=${c.code}`);
  await expect(water.locator(`tr[data-code="${c.code}"]`)).toBeVisible();
  await openCase(water, c.id);
  const stale = await water.context().newPage();
  await openCase(stale, c.id);
  await expect(stale.getByTestId('step-accept')).toBeVisible();
  await step(water, 'return', 'filed', { note: '不属于本部门' });
  // It still sees the case it once held, but has nothing to do on it.
  await expect(water.getByTestId('no-actions')).toHaveText('此案件当前没有需要您执行的操作。');
  await expect(water.locator('form[data-testid^=step-]')).toHaveCount(0);
  // The stale form is refused with the reason, and nothing changes.
  await stale.getByTestId('step-accept').locator('button[type=submit]').click();
  await expect(stale.getByTestId('form-error')).toHaveText('该案件未派遣给您的部门，不能操作。');
  // The refused tab reloads the case: nothing left to do, and the reason stays in view.
  await expect(caseState(stale)).toHaveAttribute('data-state', 'filed');
  await expect(stale.getByTestId('no-actions')).toBeVisible();
  await expect(stale.getByTestId('form-error')).toHaveText('该案件未派遣给您的部门，不能操作。');
  await openCase(dispatcher, c.id);
  await expect(caseState(dispatcher)).toHaveAttribute('data-state', 'filed');
  await expect(dispatcher.getByTestId('step-dispatch')).toBeVisible();
});

test('a map cell opens the open cases of that grid', async ({ as }) => {
  // Cases made by the tests all lie in one grid; its count moves while other tests run.
  const inspector = await as('inspector');
  await reportCase(inspector, `map ${Date.now()}`);
  const testGrid = (await inspector.locator('a[href^="/cases?grid="]').textContent())!.trim();

  const dispatcher = await as('dispatcher');
  await goto(dispatcher, '/cases/map');
  const map = dispatcher.getByTestId('grid-map');
  await expect(map).toBeVisible();
  await expect(map.locator(`a[data-grid="${testGrid}"]`)).not.toHaveAttribute('data-count', '0');
  const cells = map.locator('a[data-grid]');
  expect(await cells.count()).toBeGreaterThan(10);
  const counts = await cells.evaluateAll((els) =>
    els.map((e) => ({ grid: e.getAttribute('data-grid')!, count: Number(e.getAttribute('data-count')) })),
  );
  // A busy cell other than the tests' own.
  const cell = counts.filter((x) => x.count > 0 && x.grid !== testGrid).sort((a, b) => b.count - a.count)[0];
  expect(cell, 'a cell with open cases').toBeTruthy();
  await map.locator(`a[data-grid="${cell.grid}"]`).click();
  await expect(dispatcher).toHaveURL(new RegExp(`/cases\\?grid=${cell.grid}&state=open$`));
  await expect(dispatcher.locator('input[name=grid]')).toHaveValue(cell.grid);
  const rows = dispatcher.getByTestId('cases-table').locator('tbody tr');
  await expect(rows.first()).toBeVisible();
  await expect(dispatcher.getByTestId('pager-info')).toContainText(`共 ${cell.count} 条`);
  const n = await rows.count();
  expect(n).toBe(Math.min(cell.count, 25));
  for (const row of await rows.all()) {
    await expect(row.locator('td').nth(2)).toContainText(cell.grid);
    await expect(row.locator('[data-state]')).not.toHaveAttribute('data-state', /^(closed|rejected)$/);
  }
});

test('the dispatcher queue badge counts a new report', async ({ as }) => {
  test.setTimeout(60_000);
  const dispatcher = await as('dispatcher');
  const inspector = await as('inspector');
  const nav = dispatcher.getByRole('navigation', { name: '主导航' });
  const badge = nav.getByTestId('badge-queue');
  // Other tests move cases in and out of the queue meanwhile: retry if one left it in between.
  await expect(async () => {
    await goto(dispatcher, '/queue');
    const before = Number(await badge.textContent());
    expect(before).toBeGreaterThan(0);
    const c = await reportCase(inspector, `badge ${Date.now()}`);
    await goto(dispatcher, '/queue');
    await expect(dispatcher.locator(`tr[data-code="${c.code}"]`)).toBeVisible();
    const after = Number(await badge.textContent());
    expect(after).toBeGreaterThanOrEqual(before + 1);
  }).toPass({ timeout: 45_000, intervals: [500] });
  await expect(badge).toHaveText(/^\d+$/);
});

test('the leader sees the evaluation and a department’s deductions', async ({ as }) => {
  const leader = await as('leader');
  await goto(leader, '/evaluation');
  const table = leader.getByTestId('evaluation-table');
  await expect(table).toBeVisible();
  expect(await table.locator('tbody tr').count()).toBeGreaterThan(1);
  await expect(leader.getByTestId('deductions')).toHaveCount(0);
  await table.getByRole('link', { name: '水务局', exact: true }).click();
  await expect(leader).toHaveURL(/\/evaluation\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d&dept=\d+$/);
  const deds = leader.getByTestId('deductions');
  await expect(deds).toBeVisible();
  await expect(deds.getByRole('heading')).toContainText('水务局');
  await expect(deds.getByRole('heading')).toContainText('扣分案件');
});

test('a department head appeals a rework deduction and the command centre accepts it', async ({ as }) => {
  const c = await toHandling(as, `appeal ${Date.now()}`);
  const water = await as('water');
  await step(water, 'report_back', 'reported_back', { note: '已处理', photo: true });
  const inspector = await as('inspector');
  await openCase(inspector, c.id);
  await step(inspector, 'verify_fail', 'verified', { note: '未修好', photo: true });
  const dispatcher = await as('dispatcher');
  await openCase(dispatcher, c.id);
  await step(dispatcher, 'rework', 'handling', { note: '返工' });

  // The handler cannot appeal; the head of 水务局 can.
  await openCase(water, c.id);
  await expect(water.getByTestId('appeal-form')).toHaveCount(0);
  const head = await as('waterhead');
  await openCase(head, c.id);
  const form = head.getByTestId('appeal-form');
  await expect(form).toBeVisible();
  const reason = `上报井盖位置有误，现场为燃气井盖 ${Date.now()}`;
  await form.locator('#reason').fill(reason);
  const [filed] = await Promise.all([
    head.waitForResponse((r) => r.url().endsWith('/api/appeals/file')),
    form.locator('button[type=submit]').click(),
  ]);
  expect(filed.status()).toBe(200);
  // Filed once: the form is gone from the case.
  await expect(form).toHaveCount(0);
  await goto(head, '/appeals');
  const headRow = head.getByTestId('appeals-table').locator('tr', { hasText: c.code });
  await expect(headRow.locator('[data-appeal=pending]')).toBeVisible();
  await expect(headRow.getByRole('button')).toHaveCount(0);

  // The command centre decides.
  await goto(dispatcher, '/appeals');
  const row = dispatcher.getByTestId('appeals-table').locator('tr', { hasText: c.code });
  await expect(row).toContainText(reason);
  await expect(row.locator('[data-appeal=pending]')).toBeVisible();
  await row.getByRole('button', { name: '申诉成立' }).click();
  await expect(row.locator('[data-appeal=accepted]')).toBeVisible();
  await expect(row.getByRole('button')).toHaveCount(0);
  await goto(head, '/appeals');
  await expect(headRow.locator('[data-appeal=accepted]')).toBeVisible();
});
