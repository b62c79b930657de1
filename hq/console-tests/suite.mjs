// The console in a real browser: Debian's chromium driven by playwright-core against a real
// `gridpatrol hq serve` on a temporary folder, a phone played by the terminal shell, axe-core
// on every page. Run by run.sh (scripts/test.sh). Screenshots go to test-artifacts/.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const bin = process.env.GRIDPATROL_BIN || join(repo, 'target', 'debug', 'gridpatrol');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const artifacts = join(here, 'test-artifacts');
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'gp-console-'));
const data = join(work, 'hq-data');
const ADMIN_TOKEN = 'console-suite-admin-token-0123456789';

let passed = 0;
let failed = 0;
const axeFindings = [];
const overflows = [];
function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name} ${detail}`);
  }
}

// ---- HQ ----
let hq = null;
function startHq() {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['hq', 'serve', '--listen', '127.0.0.1:0', '--database', data], {
      env: { ...process.env, GRIDPATROL_ADMIN_TOKEN: ADMIN_TOKEN, RUST_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) resolve({ child, url: m[1], out: () => out });
    });
    child.on('exit', (code) => reject(new Error(`hq exited ${code}: ${out}`)));
    setTimeout(() => reject(new Error('hq did not start in 60 s')), 60000);
  });
}
async function stopHq() {
  const done = new Promise((r) => hq.child.once('exit', r));
  hq.child.kill('SIGTERM');
  await done;
}
async function api(method, path, body) {
  const r = await fetch(hq.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}
function shell(store, ...args) {
  return execFileSync(bin, ['device', '--store', store, '--json', ...args], {
    env: { ...process.env, GRIDPATROL_INSTALLATION_ID: undefined },
    encoding: 'utf8',
  });
}

// ---- browser ----
const args = [
  '--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
let context;
let page;
const dialogs = [];
async function openBrowser() {
  context = await chromium.launchPersistentContext(mkdtempSync(join(work, 'profile-')), {
    executablePath: chromiumPath,
    args,
    viewport: { width: 1366, height: 768 },
    acceptDownloads: true,
    // axe-core is injected as a script; the console's CSP rightly refuses inline scripts.
    bypassCSP: true,
  });
  page = context.pages()[0] || (await context.newPage());
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
}
async function shot(name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}
async function axe(name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) axeFindings.push(`${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
async function visit(path, name) {
  const resp = await page.goto(hq.url + path);
  if (name) {
    await shot(name);
    await axe(name);
    // Laid out for the window: nothing wider than it (wide tables scroll inside the page).
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (wide > 0) overflows.push(`${name}: ${wide}px too wide at ${page.viewportSize().width}px`);
  }
  return resp;
}
async function signIn(user, password) {
  await page.goto(hq.url + '/login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  const [resp] = await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button[type=submit]')]);
  return resp;
}
async function signOut() {
  await Promise.all([page.waitForNavigation(), page.click('form[action="/logout"] button')]);
}
async function sessionCookie() {
  return (await context.cookies()).find((c) => c.name === 'gp_session');
}

async function main() {
  hq = await startHq();
  const printed = hq.out();
  const pw = printed.match(/user `admin`, password `([^`]+)`/);
  check('first start prints the admin user and a generated password once', !!pw, printed);
  const adminPassword = pw ? pw[1] : '';
  await openBrowser();

  // Sign-in page, then the admin.
  await visit('/login', '01-login');
  const resp = await signIn('admin', adminPassword);
  check('the admin signs in with the printed password', page.url().endsWith('/board'), page.url());
  const cookie = await sessionCookie();
  check('the session cookie is HttpOnly and SameSite=Strict', cookie && cookie.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));
  void resp;

  // The street from an XLSX workbook: the console's template (a sample street), uploaded back.
  await visit('/import', '01b-import');
  const [tpl] = await Promise.all([page.waitForEvent('download'), page.click('a[href="/import/template.xlsx"]')]);
  const workbook = join(work, 'street.xlsx');
  await tpl.saveAs(workbook);
  await page.setInputFiles('#import input[type=file]', workbook);
  await Promise.all([page.waitForNavigation(), page.click('#import button[type=submit]')]);
  await shot('01c-imported');
  const imported = await page.textContent('#import-done').catch(() => '');
  check('a small street is imported from an XLSX workbook', imported.includes('2'), imported);
  await visit('/people', '01e-people');
  check('the people page lists the imported workers and households', (await page.textContent('#people-workers')).includes('李网格') && (await page.textContent('#households')).includes('138****5678'));
  // A unit the 110 desk can route to, added in the console.
  await visit('/units', '01d-units');
  await page.fill('#new-unit input[name=name]', '东湖司法所');
  await page.selectOption('#new-unit select[name=kind]', 'justice');
  await page.check('#new-unit input[name=community_ids][value=c-01]');
  await Promise.all([page.waitForNavigation(), page.click('#new-unit button[type=submit]')]);
  const unit = (await api('GET', '/v1/admin/units')).find((u) => u.name === '东湖司法所');
  check('a unit is added in the console', !!unit);

  // Enrolment sheet: two workers, one A4 page of QR codes.
  await visit('/enrol', '02-enrol');
  await page.check('input[name=worker][value=w-001]');
  await page.check('input[name=worker][value=w-201]');
  await page.selectOption('select[name=ttl_seconds]', '3600');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/enrol"] button[type=submit]')]);
  await shot('03-enrol-sheet');
  await axe('enrol-sheet');
  const codes = await page.$$eval('.card .code', (els) => els.map((e) => e.textContent.trim()));
  const qrs = await page.$$eval('.card svg', (els) => els.length);
  check('the sheet has a QR code and a one-time code per worker', codes.length === 2 && qrs === 2, JSON.stringify(codes));
  await page.emulateMedia({ media: 'print' });
  const pdf = await page.pdf({ format: 'A4' });
  writeFileSync(join(artifacts, 'enrol-sheet.pdf'), pdf);
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  check('the enrolment sheet prints on one A4 page', pages === 1, `${pages} pages`);
  await page.emulateMedia({ media: 'screen' });

  // Phones: the terminal shell enrols with the printed codes, reports and syncs.
  const photo = join(work, 'photo.jpg');
  await page.screenshot({ path: photo, type: 'jpeg', quality: 60, clip: { x: 0, y: 0, width: 64, height: 48 } });
  const storeA = join(work, 'phone-a');
  const storeB = join(work, 'phone-b');
  shell(storeA, 'enrol', '--hq', hq.url, '--code', codes[0]);
  shell(storeB, 'enrol', '--hq', hq.url, '--code', codes[1]);
  const xss = "<script>alert('xss')</script> 楼道堆物";
  const repA = JSON.parse(shell(storeA, 'report', '--grid', 'g-0101', '--category', 'safety_hazard', '--lat', '31.005', '--lng', '121.005', '--description', xss, '--photo', photo));
  JSON.parse(shell(storeB, 'report', '--grid', 'g-0201', '--category', 'dispute', '--lat', '31.005', '--lng', '121.205', '--description', '西湖邻里纠纷'));
  shell(storeA, 'sync');
  shell(storeB, 'sync');
  const cases = await api('GET', '/v1/admin/cases');
  const caseA = cases.find((c) => c.grid_id === 'g-0101');
  const caseB = cases.find((c) => c.grid_id === 'g-0201');
  check('the phones enrolled with the sheet\'s codes and synced their reports', !!caseA && !!caseB, JSON.stringify(repA).slice(0, 200));
  let again = null;
  try { shell(join(work, 'phone-c'), 'enrol', '--hq', hq.url, '--code', codes[0]); } catch (e) { again = e; }
  check('an enrolment code works once', again !== null);

  // Board.
  await visit('/board', '04-board');
  check('the board shows the communities', (await page.textContent('#board')).includes('东湖社区'));
  await Promise.all([page.waitForNavigation(), page.click('#board a:has-text("东湖社区")')]);
  check('the board drills down to the grids', (await page.textContent('main')).includes('东湖一网格'));
  await shot('05-board-grids');
  await visit('/board/trend', '05b-board-trend');
  check('the board\'s trend charts twelve months of each figure', (await page.$$('#trends figure.trend svg')).length === 8);

  // Cases: the inbox, the case page, a step.
  await visit('/cases', '06-cases');
  check('the inbox lists both cases for the admin', (await page.$$('#cases tbody tr')).length === 2);
  await visit(`/cases/${caseA.id}`, '07-case');
  const desc = await page.textContent('#report-description');
  check('a report\'s <script> shows as text and never runs', desc.includes("<script>alert('xss')</script>") && dialogs.length === 0, JSON.stringify(dialogs));
  const img = await page.$eval('.photos img', (i) => ({ w: i.naturalWidth, src: i.src }));
  check('the photo is shown inline', img.w > 0, JSON.stringify(img));
  const photoResp = await page.request.get(img.src);
  check('the photo is served as image/jpeg', photoResp.headers()['content-type'] === 'image/jpeg', photoResp.headers()['content-type']);
  await page.fill('form:has(input[value=accept]) input[name=facts]', '楼道堆放杂物');
  await Promise.all([page.waitForNavigation(), page.click('form:has(input[value=accept]) button[type=submit]')]);
  check('the admin accepts the case with a form', (await page.textContent('#case-state')).includes('受理'));
  await shot('08-case-accepted');
  // Opened, dispatched with a responsible unit and a deadline; the worker handles it on the
  // phone with the outcome and an after-photo; the office verifies and closes it with all six.
  async function step(action, fields = {}) {
    for (const [name, value] of Object.entries(fields)) {
      await page.fill(`form:has(input[value=${action}]) input[name=${name}]`, value);
    }
    await Promise.all([page.waitForNavigation(), page.click(`form:has(input[value=${action}]) button[type=submit]`)]);
  }
  await step('open');
  const due = new Date(Date.now() + 3 * 86400 * 1000 + 8 * 3600 * 1000).toISOString().slice(0, 16);
  await step('dispatch', { responsible_unit: '东湖物业', deadline: due });
  shell(storeA, 'sync');
  const afterPhoto = join(work, 'after.jpg');
  await page.screenshot({ path: afterPhoto, type: 'jpeg', quality: 50, clip: { x: 0, y: 0, width: 48, height: 48 } });
  shell(storeA, 'case', 'move', caseA.id, '--to', 'handling', '--outcome', '杂物已清理', '--photo', afterPhoto);
  shell(storeA, 'sync');
  await page.reload();
  await step('verify');
  await step('close', { feedback: '居民满意', ledger_ref: 'TZ-2026-001' });
  const items = await page.textContent('#clear-items');
  check('a case is closed with its six clear items', (await page.textContent('#case-state')).includes('结案') && !items.includes('未清'), items);
  await shot('08b-case-closed');

  // Users: a unit's account and a community office's.
  await visit('/users', '09-users');
  async function createUser(name, username, role, scope) {
    await page.goto(hq.url + '/users');
    await page.fill('#new-user input[name=name]', name);
    await page.fill('#new-user input[name=username]', username);
    await page.selectOption('#new-user select[name=role]', role);
    await page.fill('#new-user input[name=scope_ids]', scope);
    await Promise.all([page.waitForNavigation(), page.click('#new-user button[type=submit]')]);
    return (await page.textContent('#new-password code')).trim();
  }
  const unitPassword = await createUser('司法所值班', 'justice', 'unit', unit.id);
  const communityPassword = await createUser('东湖社区值班', 'donghu', 'community', 'c-01');
  check('the admin creates console users, each password shown once', unitPassword.length === 16 && communityPassword.length === 16);

  // 110 desk: a task to the unit.
  await visit('/desk', '10-desk');
  const deadline = new Date(Date.now() + 30 * 3600 * 1000 + 8 * 3600 * 1000).toISOString().slice(0, 16);
  await page.fill('#new-task input[name=title]', '邻里噪音纠纷');
  await page.fill('#new-task input[name=caller]', '13812345678');
  await page.fill('#new-task input[name=address]', '东湖小区3栋');
  await page.selectOption('#new-task select[name=category]', 'dispute');
  await page.selectOption('#new-task select[name=unit_id]', unit.id);
  await page.selectOption('#new-task select[name=assignee_id]', 'w-001');
  await page.fill('#new-task input[name=deadline]', deadline);
  await Promise.all([page.waitForNavigation(), page.click('#new-task button[type=submit]')]);
  const queue = await page.textContent('#tasks');
  check('a 110 task is dispatched to the unit, the caller masked', queue.includes('邻里噪音纠纷') && queue.includes('138****5678') && !queue.includes('13812345678'));
  await shot('11-desk-queue');

  // Exports from the desk.
  const [csvDl] = await Promise.all([page.waitForEvent('download'), page.click('a[href="/export/tasks.csv"]')]);
  const csv = readFileSync(await csvDl.path(), 'utf8');
  check('the CSV export holds the task', csv.includes('邻里噪音纠纷') && csv.includes('东湖司法所'), csv.slice(0, 300));
  const [xlsxDl] = await Promise.all([page.waitForEvent('download'), page.click('a[href="/export/tasks.xlsx"]')]);
  const xlsxPath = join(work, 'tasks.xlsx');
  await xlsxDl.saveAs(xlsxPath);
  const rows = JSON.parse(execFileSync('python3', [join(here, 'read_xlsx.py'), xlsxPath], { encoding: 'utf8' }));
  check('the XLSX export opens in a reader with a heading and the task', rows.length === 2 && rows[1].includes('邻里噪音纠纷'), JSON.stringify(rows).slice(0, 300));

  // CSRF: a form posted without its token is refused.
  const csrf = await page.evaluate(async () => {
    const r = await fetch('/desk', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'title=forged&deadline=2030-01-01T00:00' });
    return { status: r.status, code: r.headers.get('x-gridpatrol-error') };
  });
  check('a form posted without the CSRF token is refused', csrf.status === 403 && csrf.code === 'csrf_failed', JSON.stringify(csrf));

  // English switch.
  await Promise.all([page.waitForNavigation(), page.click('a:has-text("English")')]);
  check('the English switch', (await page.textContent('header nav')).includes('Board'));
  await shot('12-desk-english');
  await Promise.all([page.waitForNavigation(), page.click('a:has-text("中文")')]);
  await visit('/map', '13a-map');
  check('the map draws the grids and marks the open cases', (await page.$$('#map g.grid')).length === 2 && (await page.$$('#map circle.case')).length >= 1);
  await visit('/meetings', '13b-meetings');
  await visit('/templates', '13c-templates');
  const before = await page.$$eval('#templates tbody tr', (rows) => rows.length);
  await Promise.all([page.waitForNavigation(), page.click('#publish button[type=submit]')]);
  const versions = await page.$$eval('#templates tbody tr', (rows) => rows.map((r) => r.textContent));
  check('the admin publishes a new template version', versions.length === before + 1 && versions.some((v) => v.includes('当前使用')), JSON.stringify(versions));
  await visit('/devices', '13-devices');
  check('the devices list shows the enrolled phones', (await page.$$('#devices tbody tr')).length >= 2);
  await visit('/audit', '14-audit');
  check('the audit log shows the console\'s work', (await page.textContent('#audit')).includes('task.dispatch'));
  await signOut();

  // The unit acknowledges, arrives and closes its task.
  await signIn('justice', unitPassword);
  check('the unit lands on its queue', page.url().endsWith('/desk'));
  await shot('15-unit-desk');
  await axe('unit-desk');
  await Promise.all([page.waitForNavigation(), page.click('button[data-step=acknowledge]')]);
  await page.fill('form:has(button[data-step=arrive]) input[name=lat]', '31.005');
  await page.fill('form:has(button[data-step=arrive]) input[name=lng]', '121.005');
  await Promise.all([page.waitForNavigation(), page.click('button[data-step=arrive]')]);
  await page.fill('form:has(button[data-step=complete]) input[name=result]', '已调解');
  await Promise.all([page.waitForNavigation(), page.click('button[data-step=complete]')]);
  check('the unit closes its task', (await page.textContent('#tasks td.status')).includes('已办结'));
  await shot('16-unit-done');
  const unitCases = await page.goto(hq.url + '/cases');
  check('a unit cannot open the case inbox', unitCases.status() === 403);
  await page.goto(hq.url + '/desk');
  await signOut();

  // A community office cannot open another community's case by URL.
  await signIn('donghu', communityPassword);
  const own = await page.goto(hq.url + `/cases/${caseA.id}`);
  const far = await page.goto(hq.url + `/cases/${caseB.id}`);
  check('a community office opens its own case but not another community\'s by URL', own.status() === 200 && far.status() === 403, `${own.status()} ${far.status()}`);
  await shot('17-forbidden-case');

  // The session survives an HQ restart and dies at sign-out.
  await stopHq();
  hq = await startHq();
  check('a restart prints no password again', !/password `/.test(hq.out()), hq.out());
  const after = await page.goto(hq.url + '/board');
  check('the session survives an HQ restart', after.status() === 200 && page.url().endsWith('/board'), page.url());
  const saved = await sessionCookie();
  await signOut();
  await context.addCookies([saved]);
  await page.goto(hq.url + '/board');
  check('the session dies at sign-out (its cookie no longer works)', page.url().endsWith('/login'), page.url());

  // Five wrong passwords lock the account.
  for (let i = 0; i < 5; i++) await signIn('donghu', 'wrong password');
  const locked = await page.textContent('#login-error');
  await signIn('donghu', communityPassword);
  check('five wrong passwords lock the account, even against the right one', locked.includes('锁定') && page.url().endsWith('/login'), locked);
  await shot('18-locked');

  // ===== Console features (issue 15): people and places one by one, row imports, exports with
  // coordinates and photo links, the 110 desk's map and timeliness, the template form. =====
  await signIn('admin', adminPassword);
  await visit('/people', '30-people-edit');
  const adds = await page.$$eval('a[data-add]', (as) => as.map((a) => a.dataset.add));
  check('the people page offers an add form for each kind', ['communities', 'grids', 'buildings', 'workers', 'units', 'teams', 'households'].every((k) => adds.includes(k)), JSON.stringify(adds));
  await visit('/people/households/new', '31-household-form');
  await page.fill('#edit input[name=id]', 'h-0901');
  await page.selectOption('#edit select[name=grid_id]', 'g-0101');
  await page.fill('#edit input[name=name]', '吴阿婆');
  await page.check('#edit input[name=care_tags][value=elderly]');
  await Promise.all([page.waitForNavigation(), page.click('#edit button[type=submit]')]);
  const fieldError = await page.textContent('.field-error[data-field=label]').catch(() => '');
  check('a household without a door is refused, the message beside its field', fieldError.includes('label') || fieldError.length > 0, fieldError);
  await shot('32-household-field-error');
  await axe('household-field-error');
  await page.fill('#edit input[name=label]', '3栋2单元501');
  await Promise.all([page.waitForNavigation(), page.click('#edit button[type=submit]')]);
  check('the household is added and listed', page.url().includes('/people') && (await page.textContent('#households')).includes('3栋2单元501'), page.url());
  await visit('/people/grids/g-0101', '33-grid-form');
  check('a grid\'s form shows its boundary as corners', (await page.inputValue('#edit textarea[name=boundary]')).includes('121 31'));

  // Rows from a CSV file: all or nothing, every bad row named.
  await visit('/import', '34-import-rows');
  const goodCsv = join(work, 'buildings.csv');
  writeFileSync(goodCsv, '\ufeffid,grid_id,name\nb-0101-5,g-0101,5栋\nb-0201-1,g-0201,1栋\n');
  await page.setInputFiles('#import input[type=file]', goodCsv);
  await page.selectOption('#import select[name=kind]', 'buildings');
  await Promise.all([page.waitForNavigation(), page.click('#import button[type=submit]')]);
  check('buildings are imported from a CSV file', (await page.textContent('#import-done').catch(() => '')).includes('2'));
  const badCsv = join(work, 'bad-households.csv');
  writeFileSync(badCsv, 'id,grid_id,label,name\nh-0902,g-0101,1栋,好\nh-0903,g-9999,2栋,坏网格\nh-0904,g-0101,,无门牌\n');
  await page.setInputFiles('#import input[type=file]', badCsv);
  await page.selectOption('#import select[name=kind]', 'households');
  await Promise.all([page.waitForNavigation(), page.click('#import button[type=submit]')]);
  const rowErrors = await page.textContent('#import-errors').catch(() => '');
  const h0902 = (await api('GET', '/v1/admin/households')).some((h) => h.id === 'h-0902');
  check('a CSV with bad rows names each one and imports nothing', rowErrors.includes('第3行') && rowErrors.includes('第4行') && !h0902, rowErrors);
  await shot('35-import-row-errors');
  await axe('import-row-errors');

  // Exports: every list, with coordinates and photo links the signed-in browser opens.
  await visit('/people');
  const [hhDl] = await Promise.all([page.waitForEvent('download'), page.click('a[href="/export/households.xlsx"]')]);
  const hhPath = join(work, 'households.xlsx');
  await hhDl.saveAs(hhPath);
  const hhRows = JSON.parse(execFileSync('python3', [join(here, 'read_xlsx.py'), hhPath], { encoding: 'utf8' }));
  check('the households export opens in a reader, phones masked', hhRows.length === 3 && JSON.stringify(hhRows).includes('138****5678') && !JSON.stringify(hhRows).includes('13812345678'), JSON.stringify(hhRows).slice(0, 300));
  const reportsCsv = await page.evaluate(async () => (await fetch('/export/reports.csv')).text());
  const link = (reportsCsv.match(/https?:\/\/[^\s,"]+\/photos\/[0-9a-f]{64}/) || [])[0];
  check('the reports export carries coordinates and a photo link', !!link && reportsCsv.includes('纬度'), reportsCsv.slice(0, 300));
  const linked = link ? await page.request.get(link) : null;
  check('the photo link opens as an image for the signed-in operator', linked && linked.status() === 200 && linked.headers()['content-type'] === 'image/jpeg', linked ? `${linked.status()} ${linked.headers()['content-type']}` : 'no link');
  await visit('/audit?action=photo.view', '36-audit-photo-views');
  check('photo views are in the audit log', (await page.$$('#audit tbody tr')).length >= 1);

  // The 110 desk: a click on the map fills the place; each task's timeliness.
  await visit('/desk', '37-desk-map');
  const box = await page.locator('#pick-map polygon[data-grid="g-0101"]').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const lat = Number(await page.inputValue('#new-task input[name=lat]'));
  const lng = Number(await page.inputValue('#new-task input[name=lng]'));
  check('a click on the grid map fills WGS-84 coordinates inside that grid', lat > 31.0 && lat < 31.01 && lng > 121.0 && lng < 121.01, `${lat} ${lng}`);
  check('the queue shows acknowledge, arrive and close timeliness', (await page.$$('#tasks li[data-timely]')).length >= 3);
  await shot('38-desk-picked');

  // Templates: edited in a form, previewed as the phone shows it, published.
  await visit('/templates', '39-template-form');
  const versionsBefore = await page.$$eval('#templates tbody tr', (rows) => rows.length);
  const firstEmpty = await page.$$eval('#template-items input[name=item_id]', (is) => is.findIndex((i) => i.value === ''));
  await page.locator('#template-items input[name=item_id]').nth(firstEmpty).fill('fire_lane');
  await page.locator('#template-items input[name=item_zh]').nth(firstEmpty).fill('消防通道畅通');
  await page.locator('#template-items input[name=item_en]').nth(firstEmpty).fill('fire lane clear');
  await Promise.all([page.waitForNavigation(), page.click('#publish button[value=preview]')]);
  check('the draft is previewed as the phone shows it', (await page.textContent('#phone-preview')).includes('消防通道畅通'));
  await shot('40-template-preview');
  await axe('template-preview');
  await Promise.all([page.waitForNavigation(), page.click('#publish button[value=publish]')]);
  const versionsAfter = await page.$$eval('#templates tbody tr', (rows) => rows.length);
  check('the edited template is published as the next version', versionsAfter === versionsBefore + 1 && (await page.textContent('#phone-preview')).includes('消防通道畅通'));
  await signOut();
  // ===== end of console features (issue 15) =====

  // A tablet held upright: the same pages fit its width.
  await signIn('admin', adminPassword);
  await page.setViewportSize({ width: 768, height: 1024 });
  for (const [path, name] of [['/board', '19-tablet-board'], ['/cases', '20-tablet-cases'], ['/desk', '21-tablet-desk'], ['/map', '22-tablet-map']]) {
    await visit(path, name);
  }
  // ---- console-speed: the map's marker layers (reports by category, flagged check-ins) ----
  await visit('/map', '23-map-layers');
  const reportMarks = await page.$$eval('#map rect.report', (els) => els.map((e) => e.getAttribute('data-category')));
  check('the map marks the period\'s reports by category, each linked to its case',
    reportMarks.length >= 1 && reportMarks.every((c) => c) && (await page.$$('#map a[href^="/cases/"] rect.report')).length === reportMarks.length,
    JSON.stringify(reportMarks));
  const legend = await page.textContent('#map-legend');
  check('the map\'s legend names the report categories and flagged check-ins', ['安全隐患', '矛盾纠纷', '异常打卡'].every((w) => legend.includes(w)), legend);
  await page.uncheck('#map-layers input[name=cases]');
  await page.uncheck('#map-layers input[name=flagged]');
  await Promise.all([page.waitForNavigation(), page.click('form.filters button[type=submit]')]);
  check('the layer filter draws only the layers ticked',
    (await page.$$('#map rect.report')).length === reportMarks.length && (await page.$$('#map circle.case')).length === 0
      && (await page.$$('#layer-flagged')).length === 0 && (await page.isChecked('#map-layers input[name=reports]')),
    page.url());
  await shot('24-map-reports-only');
  await axe('map-reports-only');
  check('the map loads nothing from outside HQ without a tile server', (await page.$$('#map image')).length === 0);
  // ---- end console-speed ----

  check('every page fits 1366x768 and a 768 px tablet without sideways scrolling', overflows.length === 0, '\n  ' + overflows.join('\n  '));
  check('axe-core finds no serious or critical violation', axeFindings.length === 0, '\n  ' + axeFindings.join('\n  '));
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`not ok - the suite ran to its end: ${e.stack}`);
  if (page) await page.screenshot({ path: join(artifacts, 'failure.png') }).catch(() => {});
} finally {
  if (context) await context.close().catch(() => {});
  if (hq) await stopHq().catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
console.log(`console browser suite: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
