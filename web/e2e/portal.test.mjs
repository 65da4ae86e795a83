// The portal in a real browser: Debian's Chromium driven by Playwright.
// scripts/e2e starts `soyaku serve` on the bundled demo library and makes
// the accounts these tests sign in with; SOYAKU_URL and SOYAKU_PASSWORD say
// where and how.
import { test as nodeTest, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const base = process.env.SOYAKU_URL ?? "http://127.0.0.1:18080";
const password = process.env.SOYAKU_PASSWORD;
const shots = process.env.SOYAKU_SCREENSHOTS; // a folder, or unset
let browser;

async function launch() {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

before(launch);

/**
 * A test in the shared browser. Chromium's own process has died under a test
 * on a CI machine (2611699: it crashed while a page loaded the structure
 * editor, and the nine tests after it failed with "browser has been closed").
 * A test whose browser died is therefore run once more in a new browser,
 * after saying so; a test that fails while the browser lives fails at once,
 * and one whose rerun fails too fails with the rerun's error.
 */
function test(name, body) {
  nodeTest(name, async () => {
    try {
      await body();
    } catch (error) {
      if (browser.isConnected()) throw error;
      console.error(`e2e: Chromium died during "${name}":\n${error.message}\ne2e: running it again in a new browser`);
      await launch();
      await body();
    }
  });
}

after(async () => {
  await browser?.close();
});

async function signedIn(username, lang = "en") {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 900 } });
  await context.addCookies([{ name: "lang", value: lang, url: base }]);
  const page = await context.newPage();
  await page.goto(`${base}/search`);
  assert.match(page.url(), /\/login\?next=/);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/search/), page.click("#sign-in")]);
  assert.equal(await page.textContent("#whoami"), username);
  return { context, page };
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });
}

/** Every depiction on the page loads as an image once scrolled to (they are lazy). */
async function depictionsLoaded(page) {
  for (const img of await page.locator("img.depiction").all()) await img.scrollIntoViewIfNeeded();
  await page.waitForFunction(() =>
    [...document.querySelectorAll("img.depiction")].every((i) => i.complete && i.naturalWidth > 0),
  );
  return page.locator("img.depiction").count();
}

test("a wrong password is refused with a message", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill("#username", "rita");
  await page.fill("#password", "not the password");
  await Promise.all([page.waitForURL(/failed=1/), page.click("#sign-in")]);
  assert.ok(await page.isVisible("#login-error"));
  await context.close();
});

test("similarity search: typed query, depictions, sorting, paging, compound page, export", async () => {
  const { context, page } = await signedIn("rita");
  // Diazepam, typed.
  await page.fill("#query", "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21");
  await page.fill("#top", "60");
  await Promise.all([page.waitForURL(/query=/), page.click("#search")]);
  assert.equal(Number(await page.textContent("#hit-count")), 60);
  assert.equal(await depictionsLoaded(page), 25, "first page shows 25 hits");
  assert.equal(await page.locator("#hits td.pains").count(), 25, "PAINS flags for the shown page");
  const scores = await page.$$eval("#hits td.score", (tds) => tds.map((t) => Number(t.textContent)));
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), "best score first");
  await shot(page, "similarity-results");

  await Promise.all([page.waitForURL(/sort=mol_wt/), page.click("a[data-sort=mol_wt]")]);
  const weights = await page.$$eval("#hits td.mol-wt", (tds) => tds.map((t) => Number(t.textContent)));
  assert.deepEqual(weights, [...weights].sort((a, b) => a - b), "sorted by MW");
  await Promise.all([page.waitForURL(/page=2/), page.click("#next-page")]);
  assert.match(await page.textContent("#page"), /2 \/ 3/);

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
  const csv = await readFile(await download.path(), "utf8");
  const lines = csv.trim().split("\n");
  assert.equal(lines.length, 61);
  assert.match(lines[0], /^id,smiles,score,mol_wt/);
  const [sdfDownload] = await Promise.all([page.waitForEvent("download"), page.click("#export-sdf")]);
  const sdf = await readFile(await sdfDownload.path(), "utf8");
  assert.equal(sdf.split("$$$$").length - 1, 60);

  const id = (await page.textContent("#hits tbody tr:first-child a.compound-link")).trim();
  await Promise.all([page.waitForURL(/\/compounds\//), page.click("#hits tbody tr:first-child a.compound-link")]);
  assert.equal((await page.textContent("#compound-id")).trim(), id);
  assert.equal(await depictionsLoaded(page), 1);
  assert.ok(await page.isVisible("#flags"));
  assert.ok(await page.isVisible("#batches"));
  await shot(page, "compound-page");
  await context.close();
});

test("a compound page shows its predicted ADMET profile with percentiles and its likely targets, and docks it", async () => {
  const { context, page } = await signedIn("rita");
  // Praziquantel, a library compound: open its page from a search.
  await page.fill("#query", "O=C(C1CCCCC1)N1CC(=O)N2CCc3ccccc3C2C1");
  await page.fill("#top", "1");
  await Promise.all([page.waitForURL(/query=/), page.click("#search")]);
  await Promise.all([page.waitForURL(/\/compounds\//), page.click("#hits tbody tr:first-child a.compound-link")]);
  const id = (await page.textContent("#compound-id")).trim();

  const rows = page.locator("#admet tbody tr");
  assert.equal(await rows.count(), 41, "every ADMET-AI endpoint");
  const ames = page.locator("#admet tr[data-endpoint=AMES]");
  const probability = Number(await ames.locator("td.num").first().textContent());
  assert.ok(probability >= 0 && probability <= 1, `AMES is a probability: ${probability}`);
  const percentile = Number((await ames.locator("td.percentile").textContent()).trim());
  assert.ok(percentile >= 0 && percentile <= 100, `percentile among approved drugs: ${percentile}`);
  assert.ok(await page.isVisible("#admet tr[data-endpoint=VDss_Lombardo] .badge"), "weak endpoints are marked");

  const targets = page.locator("#targets tbody tr");
  assert.equal(await targets.count(), 10);
  const probabilities = await page.$$eval("#targets tbody td.num:last-child", (tds) => tds.map((t) => Number(t.textContent)));
  assert.deepEqual(probabilities, [...probabilities].sort((a, b) => b - a), "most likely target first");
  assert.match(await targets.first().locator("a").getAttribute("href"), /ebi\.ac\.uk\/chembl\/target_report_card\/CHEMBL\d+/);
  // Every target carries ChEMBL's name and its organism, not only an id.
  const names = await page.$$eval("#targets tbody .target-name", (spans) => spans.map((s) => s.textContent.trim()));
  assert.equal(names.filter((n) => n.length > 0).length, 10, JSON.stringify(names));
  assert.ok((await page.$$eval("#targets tbody td.organism", (tds) => tds.map((t) => t.textContent.trim()))).every((o) => o.length > 0));
  // The explanation: the compound itself is its nearest library neighbour.
  assert.match(await page.textContent("#nearest li:first-child"), new RegExp(id));
  // One species: the human targets only, the choice marked as current. All
  // species first, which for praziquantel includes rat receptors.
  const mixed = await page.$$eval("#targets tbody td.organism", (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(mixed.some((o) => o !== "Homo sapiens"), JSON.stringify(mixed));
  await Promise.all([page.waitForURL(/taxon=9606/), page.click('#species a[href*="taxon=9606"]')]);
  assert.equal(await targets.count(), 10);
  const organisms = await page.$$eval("#targets tbody td.organism", (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(organisms.every((o) => o === "Homo sapiens"), JSON.stringify(organisms));
  assert.equal(await page.locator('#species [aria-current="true"]').count(), 1);
  await page.locator("#admet").scrollIntoViewIfNeeded();
  await shot(page, "compound-predictions");

  // Dock it into DRD2 (quick search): a job whose page ranks the ligand and offers its pose.
  await page.selectOption("#dock-target", "DRD2");
  await page.selectOption("#dock-exhaustiveness", "1");
  await Promise.all([page.waitForURL(/\/jobs\/\d+$/), page.click("#start-docking")]);
  await page.waitForSelector("#job-status[data-final=true]", { timeout: 120000 });
  assert.equal((await page.textContent("#job-status")).trim(), "succeeded");
  assert.equal(await page.locator("#ranking tbody tr").count(), 1);
  assert.equal((await page.textContent("#ranking tbody tr td a")).trim(), id);
  const score = Number(await page.textContent("#ranking td.score"));
  assert.ok(score < -4 && score > -15, `a Vina score in kcal/mol: ${score}`);
  const [poses] = await Promise.all([page.waitForEvent("download"), page.click("#job-output")]);
  assert.match(await readFile(await poses.path(), "utf8"), /REMARK VINA RESULT/);
  const [sdf] = await Promise.all([page.waitForEvent("download"), page.click("#job-output-sdf")]);
  const record = await readFile(await sdf.path(), "utf8");
  assert.ok(record.startsWith(`${id}\n`), "the pose is titled with the compound's id");
  assert.match(record, /V2000[\s\S]*M {2}END[\s\S]*> {2}<minimizedAffinity>\n-?\d/);
  await shot(page, "docking-job");
  // Back on the compound page, the docking is listed with its score.
  await page.goto(`${base}/compounds/${id}`);
  assert.equal((await page.textContent("#docked tbody tr td")).trim(), "DRD2");
  assert.equal(Number(await page.textContent("#docked td.score")).toFixed(2), score.toFixed(2));
  await context.close();

  // The admin runs the platform, not models: no predictions on its pages.
  const admin = await signedIn("ada");
  await admin.page.goto(`${base}/compounds/${id}`);
  assert.equal(await admin.page.locator("#admet").count(), 0);
  await admin.context.close();
});

test("virtual screen: dock a selection of hits, then request the best-ranked compounds", async () => {
  const { context, page } = await signedIn("rita");
  await page.fill("#query", "O=C(C1CCCCC1)N1CC(=O)N2CCc3ccccc3C2C1");
  await page.fill("#top", "3");
  await Promise.all([page.waitForURL(/query=/), page.click("#search")]);
  const picked = [];
  for (const row of (await page.locator("#hits tbody tr").all()).slice(0, 2)) {
    await row.locator("input.pick").check();
    picked.push((await row.locator("a.compound-link").textContent()).trim());
  }
  await Promise.all([page.waitForURL(/\/docking\/new\?/), page.click("#dock-selected")]);
  assert.equal((await page.textContent("#dock-count")).trim(), "2");
  await page.selectOption("#dock-target", "ADRB2");
  await page.selectOption("#dock-exhaustiveness", "1");
  await Promise.all([page.waitForURL(/\/jobs\/\d+$/), page.click("#start-docking")]);
  await page.waitForSelector("#job-status[data-final=true]", { timeout: 180000 });
  assert.equal((await page.textContent("#job-status")).trim(), "succeeded");
  const ranked = await page.$$eval("#ranking tbody tr td a", (as) => as.map((a) => a.textContent.trim()));
  assert.deepEqual([...ranked].sort(), [...picked].sort(), "both picked compounds are ranked");
  const scores = await page.$$eval("#ranking td.score", (tds) => tds.map((t) => Number(t.textContent)));
  assert.deepEqual(scores, [...scores].sort((a, b) => a - b), "best (lowest) score first");
  await Promise.all([page.waitForURL(/\/requests\/new\?/), page.click("#request-ranked")]);
  assert.equal((await page.textContent("#request-count")).trim(), "2");
  await context.close();
});

test("substructure search with a structure drawn in the editor", async () => {
  const { context, page } = await signedIn("rita");
  await page.check("#mode-substructure");
  await page.click("#draw");
  await page.waitForSelector("#jsme[data-ready=true]", { timeout: 30000 });
  // Put a pyridine into the editor through its own API (what drawing does
  // to its model) with the text field empty: the form sends the drawing.
  await page.fill("#query", "");
  await page.evaluate(() => window.soyakuEditor.readGenericMolecularInput("c1ccncc1"));
  // JSME may take the structure in on a later tick on a loaded machine; a
  // person clicks Search only once the drawing shows.
  await page.waitForFunction(() => window.soyakuEditor.smiles() !== "", null, { timeout: 10000 });
  await shot(page, "structure-editor");
  await Promise.all([page.waitForURL(/mode=substructure/), page.click("#search")]);
  const drawn = await page.inputValue("#query");
  assert.match(drawn, /^[a-zA-Z0-9()=#\[\]]+$/, `editor produced ${drawn}`);
  assert.match(drawn, /n/i, `the drawn pyridine was sent: ${drawn}`);
  const hits = Number(await page.textContent("#hit-count"));
  assert.ok(hits > 0, "pyridines found");
  assert.ok((await depictionsLoaded(page)) > 0);
  const smiles = await page.$$eval("#hits code.smiles", (c) => c.map((x) => x.textContent));
  for (const s of smiles) assert.match(s, /n/, `${s} has an aromatic nitrogen`);
  await shot(page, "substructure-results");
  await context.close();
});

test("Japanese is the default and the switch changes language", async () => {
  const { context, page } = await signedIn("rita", "ja");
  assert.equal(await page.getAttribute("html", "lang"), "ja");
  assert.equal((await page.textContent("#sign-out")).trim(), "ログアウト");
  await shot(page, "search-ja");
  await Promise.all([page.waitForURL(/\/search/), page.click("#lang-switch")]);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal((await page.textContent("#sign-out")).trim(), "Sign out");
  await context.close();
});

test("a researcher cannot open the audit log; an admin sees the researcher's searches", async () => {
  const { context, page } = await signedIn("rita");
  assert.equal(await page.locator("a[href='/audit']").count(), 0, "no link offered");
  const refused = await page.goto(`${base}/audit`);
  assert.equal(refused.status(), 403);
  const api = await page.goto(`${base}/api/v1/audit`);
  assert.equal(api.status(), 403);
  await context.close();

  const admin = await signedIn("ada");
  await admin.page.click("a[href='/audit']");
  const rows = await admin.page.$$eval("#audit tbody tr", (trs) => trs.map((tr) => tr.textContent));
  assert.ok(rows.some((r) => r.includes("rita") && r.includes("search.similar")));
  assert.ok(rows.some((r) => r.includes("rita") && r.includes("search.substructure")));
  assert.ok(rows.some((r) => r.includes("rita") && r.includes("compound.view")));
  await shot(admin.page, "audit-log");
  await admin.context.close();
});

test("signing out ends the session", async () => {
  const { context, page } = await signedIn("sam");
  await Promise.all([page.waitForURL(/\/login/), page.click("#sign-out")]);
  await page.goto(`${base}/search`);
  assert.match(page.url(), /\/login/);
  await context.close();
});

test("a diversity pick fills the grid in MaxMin order and can be requested", async () => {
  const { context, page } = await signedIn("rob");
  await page.check("#mode-pick");
  await page.fill("#query", "");
  await page.fill("#top", "12");
  await Promise.all([page.waitForURL(/mode=pick/), page.click("#search")]);
  assert.equal(Number(await page.textContent("#hit-count")), 12);
  const scores = await page.$$eval("#hits td.score", (tds) => tds.map((t) => Number(t.textContent)));
  assert.equal(scores[0], 0, "the first pick has nothing before it");
  // MaxMin: each pick is the one farthest from all before it, so the
  // similarity to the nearest earlier pick never falls.
  assert.deepEqual(scores, [...scores].sort((a, b) => a - b), scores.join(" "));
  assert.ok(scores.every((s) => s < 1), "no pick repeats an earlier one");
  await page.locator("#hits input.pick").nth(0).check();
  await Promise.all([page.waitForURL(/\/requests\/new/), page.click("#request-selected")]);
  assert.equal(Number(await page.textContent("#request-count")), 1);
  await context.close();
});

test("request compounds from results; staff approve and ship; others cannot look", async () => {
  const rita = await signedIn("rita");
  await rita.page.fill("#query", "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1");
  await Promise.all([rita.page.waitForURL(/query=/), rita.page.click("#search")]);
  const boxes = rita.page.locator("#hits input.pick");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await Promise.all([rita.page.waitForURL(/\/requests\/new/), rita.page.click("#request-selected")]);
  assert.equal(Number(await rita.page.textContent("#request-count")), 2);
  await rita.page.fill("#purpose", "COX-2 selectivity panel");
  await rita.page.selectOption("#plate-format", "96-well");
  await Promise.all([rita.page.waitForURL(/\/requests\/\d+$/), rita.page.click("#submit-request")]);
  const url = rita.page.url();
  assert.equal((await rita.page.textContent("#request-status")).trim(), "submitted");
  assert.equal(await rita.page.locator("#approve").count(), 0, "no approval form for the requester");
  await shot(rita.page, "request-submitted");
  // Posting an approval anyway is refused by the server.
  const csrf = await rita.page.getAttribute("meta[name=csrf-token]", "content");
  const forced = await rita.page.request.post(`${url}/approve?csrf=${csrf}`, { form: { note: "self-service" } });
  assert.equal(forced.status(), 403);

  const rob = await signedIn("rob");
  const peek = await rob.page.goto(url);
  assert.equal(peek.status(), 404, "another researcher cannot open it");
  const api = await rob.page.goto(`${base}/api/v1/requests/${url.split("/").pop()}`);
  assert.equal(api.status(), 404);
  await rob.context.close();

  const sam = await signedIn("sam");
  await sam.page.click("#nav-requests");
  await Promise.all([sam.page.waitForURL(/\/requests\/\d+$/), sam.page.click(`a.request-link[href$='/${url.split("/").pop()}']`)]);
  await sam.page.fill("#approve-note", "in stock");
  await Promise.all([sam.page.waitForLoadState("load"), sam.page.click("#approve")]);
  assert.equal((await sam.page.textContent("#request-status")).trim(), "approved");
  await shot(sam.page, "request-shipment-form");
  await Promise.all([sam.page.waitForLoadState("load"), sam.page.click("#ship")]);
  assert.equal((await sam.page.textContent("#request-status")).trim(), "shipped");
  assert.deepEqual(
    await sam.page.$$eval("td.shipped", (tds) => tds.map((t) => t.textContent.trim())),
    [`DP${url.split("/").pop().padStart(6, "0")} A01`, `DP${url.split("/").pop().padStart(6, "0")} A02`],
  );
  await sam.context.close();

  await rita.page.goto(url);
  assert.equal((await rita.page.textContent("#request-status")).trim(), "shipped");
  assert.equal((await rita.page.textContent("#review-note")).trim(), "in stock");
  await rita.context.close();
});

test("staff import a file in the browser as a job, follow its progress and get the error report", async () => {
  const sam = await signedIn("sam");
  await sam.page.click("#nav-import");
  const file = [
    "SMILES,id,supplier",
    "CC(=O)Nc1ccc(O)cc1,paracetamol,Acme",
    "C1=CC=CC=C1C(=O)(=O)O,overbonded,Acme",
    "OC(=O)c1ccccc1OC(C)=O,aspirin,Acme",
    "",
  ].join("\n");
  await sam.page.setInputFiles("#import-file", { name: "e2e-upload.csv", mimeType: "text/csv", buffer: Buffer.from(file) });
  await sam.page.fill("#import-source", "e2e-upload");
  await Promise.all([sam.page.waitForURL(/\/jobs\/\d+$/), sam.page.click("#start-import")]);
  // The page follows the job and reloads when it ends.
  await sam.page.waitForSelector("#job-status[data-final=true]", { timeout: 60000 });
  assert.equal((await sam.page.textContent("#job-status")).trim(), "succeeded");
  const result = await sam.page.$$eval("#job-result tr", (trs) => Object.fromEntries(trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])));
  assert.equal(result.records, "3");
  assert.equal(result.errors, "1");
  assert.match((await sam.page.textContent("#job-log")), /done: 3 records/);
  await shot(sam.page, "import-job");
  const [download] = await Promise.all([sam.page.waitForEvent("download"), sam.page.click("#error-report")]);
  const report = (await readFile(await download.path(), "utf8")).trim().split("\n");
  assert.equal(report.length, 2, report.join("\n"));
  assert.match(report[1], /overbonded/);
  assert.match(report[1], /,3,/, "the bad record's line number (header is line 1)");
  await sam.page.click("#nav-jobs");
  assert.ok((await sam.page.locator("#jobs a.job-link").count()) >= 1);
  await sam.context.close();

  // A researcher is offered no import and is refused it.
  const rita = await signedIn("rita");
  assert.equal(await rita.page.locator("#nav-import").count(), 0);
  assert.equal((await rita.page.goto(`${base}/import`)).status(), 403);
  await rita.context.close();
});

/** A synthetic 384-well screen: columns 1–2 neutral, 23–24 positive, the
 * compound in H12 as active as the positive control. */
function screenFiles() {
  const rows = "ABCDEFGHIJKLMNOP".split("");
  const value = (r, c, seed) => {
    const noise = (((r * 24 + c + seed) * 7919) % 17) - 8;
    return (c >= 22 || (r === 7 && c === 11) ? 100 : 1000) + noise;
  };
  const header = ["", ...Array.from({ length: 24 }, (_, c) => String(c + 1).padStart(2, "0"))].join(",");
  const grid = (seed) => rows.map((l, r) => [l, ...Array.from({ length: 24 }, (_, c) => value(r, c, seed))].join(",")).join("\n");
  // Replicate 1 as a BMG MARS export, replicate 2 as an EnVision export.
  const bmg = `User: USER,Path: C:\\Data,Test run no.: 7\nTest name: e2e,Date: 22/11/2026\n\nID1: E2E-0001\nLuminescence\n\nRaw Data (LUM)\n\n${header}\n${grid(0)}\n`;
  const envision = `Plate information\nPlate,Repeat,Barcode,\n1,1,"=""E2E-0001-R2""",\n\nResults for LUM 384(1)\n${header},\n${grid(5)}\n`;
  const map = ["well,role,compound,concentration"];
  rows.forEach((l, r) => {
    for (let c = 1; c <= 24; c++) {
      const well = `${l}${String(c).padStart(2, "0")}`;
      if (c <= 2) map.push(`${well},neutral,,`);
      else if (c >= 23) map.push(`${well},positive,,`);
      else map.push(`${well},sample,SY-${String(((r * 24 + c) % 20) + 1).padStart(7, "0")},1e-5`);
    }
  });
  const hitCompound = `SY-${String(((7 * 24 + 12) % 20) + 1).padStart(7, "0")}`;
  return {
    hitCompound,
    protocol: 'name = "e2e primary"\nscore = "percent_inhibition"\nthreshold = 50\n[qc]\nmin_z_prime = 0.5\n[confirm]\nmax_ic50 = 1e-5\n',
    map: map.join("\n") + "\n",
    plates: [
      { name: "rep1-bmg.csv", buffer: Buffer.from(bmg) },
      { name: "rep2-envision.csv", buffer: Buffer.from(envision) },
    ],
    platelist: "Filename,Plate,Replicate\nrep1-bmg.csv,E2E-0001,1\nrep2-envision.csv,E2E-0001,2\n",
  };
}

test("staff record a screen from reader files, confirm its hit as a seed, and the requester sees it", async () => {
  const files = screenFiles();
  const sam = await signedIn("sam");
  await sam.page.click("#nav-screens");
  await sam.page.fill("#run-project", "AMED-E2E");
  await sam.page.fill("#run-title", "e2e luminescence screen");
  await sam.page.fill("#run-requester", "rita");
  const text = (name, s) => ({ name, mimeType: "text/plain", buffer: Buffer.from(s) });
  await sam.page.setInputFiles("#run-protocol", text("protocol.toml", files.protocol));
  await sam.page.setInputFiles("#run-map", text("map.csv", files.map));
  await sam.page.setInputFiles("#run-plates", files.plates.map((p) => ({ ...p, mimeType: "text/csv" })));
  await sam.page.setInputFiles("#run-platelist", text("platelist.csv", files.platelist));
  await Promise.all([sam.page.waitForURL(/\/screens\/\d+$/), sam.page.click("#record-run")]);
  const runUrl = sam.page.url();
  assert.equal((await sam.page.textContent("#plates-passed")).trim(), "2 / 2");
  assert.match(await sam.page.textContent("#hit-count"), /^1 \//);
  assert.equal(await sam.page.locator("#qc-table tr.qc-row.pass").count(), 2);
  assert.equal(await sam.page.locator("svg.heatmap").count(), 2);
  assert.equal(await sam.page.locator("#heat-0 rect").count(), 384);
  const hit = sam.page.locator("#hits-table tr.hit").first();
  assert.equal((await hit.locator("td").nth(1).textContent()).trim(), "H12");
  await shot(sam.page, "screen-run");

  // A clean concentration–response makes the hit a seed; its plot appears.
  const points = Array.from({ length: 10 }, (_, i) => {
    const x = 1e-9 * 3 ** i;
    return `${x},${95 / (1 + 2e-7 / x) + (i % 2 ? -1 : 1)}`;
  }).join("\n");
  await hit.locator("textarea").fill(points);
  await Promise.all([sam.page.waitForURL(/#curve-\d+$/), hit.locator("button").click()]);
  assert.equal(await sam.page.locator("svg.doseplot circle.point").count(), 10);
  assert.equal(await sam.page.locator("svg.doseplot path.fit").count(), 1);
  assert.equal((await sam.page.textContent(".curves .decision")).trim(), "seed");
  await shot(sam.page, "screen-curve");
  await Promise.all([sam.page.waitForURL(/verified=/), sam.page.click("#verify-run")]);
  assert.ok(await sam.page.isVisible("#verification.ok"));
  await sam.context.close();

  // The requester sees the run and the seed; another researcher does not.
  const rita = await signedIn("rita");
  await rita.page.click("#nav-screens");
  assert.equal((await rita.page.textContent("#seed-count")).trim(), "1");
  assert.equal(await rita.page.locator("#record-form").count(), 0, "researchers do not record runs");
  await rita.page.goto(`${base}/compounds/${files.hitCompound}`);
  assert.equal(await rita.page.locator("svg.doseplot").count(), 1);
  await rita.context.close();
  const rob = await signedIn("rob");
  assert.equal((await rob.page.goto(runUrl)).status(), 404);
  await rob.context.close();
});

test("biobank cross-search: criteria by name, counts per biobank for a researcher, yes/no for the admin", async () => {
  const rita = await signedIn("rita", "ja");
  await rita.page.click("#nav-biobanks");
  assert.match(await rita.page.textContent("h1"), /バイオバンク横断検索/);
  assert.ok(await rita.page.isVisible("#synthetic-note"), "synthetic data is labelled");
  await rita.page.fill("#bb-disease", "乳がん");
  await rita.page.selectOption("#bb-sex", "female");
  await rita.page.selectOption("#bb-sample-type", "dna");
  await Promise.all([rita.page.waitForURL(/disease=/), rita.page.click("#bb-search")]);
  const rows = await rita.page.$$eval("#biobank-results tbody tr", (trs) =>
    trs.map((tr) => ({ bank: tr.dataset.biobank, donors: tr.querySelector("td.donors").textContent.trim() })),
  );
  assert.deepEqual(rows.map((r) => r.bank), ["tmm", "bbj", "ncbn"]);
  assert.ok(rows.every((r) => r.donors === "10未満" || Number(r.donors) >= 10), JSON.stringify(rows));
  assert.ok(rows.some((r) => Number(r.donors) > 50), JSON.stringify(rows));
  await shot(rita.page, "biobank-search");
  // A rare combination shows no number.
  await rita.page.fill("#bb-disease", "G12.2");
  await rita.page.fill("#bb-age-max", "20");
  await Promise.all([rita.page.waitForURL(/age_max=20/), rita.page.click("#bb-search")]);
  const rare = await rita.page.$$eval("#biobank-results td.donors", (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(rare.every((d) => d === "10未満"), JSON.stringify(rare));
  // A collection: TMM's three-generation cohort is held by TMM's node only.
  await rita.page.goto(`${base}/biobanks?collection=tmm-birth-three-generation`);
  assert.equal(await rita.page.inputValue("#bb-collection"), "tmm-birth-three-generation");
  const cohort = await rita.page.$$eval("#biobank-results tbody tr", (trs) =>
    trs.map((tr) => tr.querySelector("td.donors").textContent.trim()),
  );
  assert.ok(Number(cohort[0]) >= 10 && cohort[1] === "10未満" && cohort[2] === "10未満", JSON.stringify(cohort));
  await rita.context.close();

  const ada = await signedIn("ada");
  await ada.page.goto(`${base}/biobanks?disease=C50`);
  assert.equal(await ada.page.locator("#biobank-results td.donors").count(), 0, "no counts for a role that does not search biobanks");
  assert.equal(await ada.page.locator("#biobank-results td.exists").count(), 3);
  await ada.context.close();
});

test("biobank access request: a researcher asks from a result, the biobank's curator reviews and approves", async () => {
  // The admin makes carl the curator of the demo's Tohoku Medical Megabank.
  const ada = await signedIn("ada");
  const assigned = await ada.page.evaluate(async () => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const r = await fetch("/api/v1/biobank-curators", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": token },
      body: JSON.stringify({ username: "carl", biobank: "tmm" }),
    });
    return r.status;
  });
  assert.equal(assigned, 204);
  await ada.context.close();

  const rita = await signedIn("rita");
  await rita.page.goto(`${base}/biobanks?disease=E11&sample_type=dna`);
  await rita.page.click("#access-request summary");
  const offered = await rita.page.$$eval('#access-form input[name="biobanks"]', (boxes) => boxes.map((b) => b.value));
  assert.ok(offered.includes("tmm") && offered.includes("bbj"), JSON.stringify(offered));
  await rita.page.fill("#access-title", "E11 DNA for a replication study");
  await rita.page.fill("#access-project", "AMED-T2D");
  await rita.page.fill("#access-purpose", "replicate two loci");
  await rita.page.fill("#access-ethics", "Tohoku Univ. IRB 2026-123");
  await rita.page.fill("#access-wanted", "200 DNA samples, 1 µg each");
  await Promise.all([rita.page.waitForURL(/\/biobanks\/requests\/\d+$/), rita.page.click("#access-submit")]);
  const url = rita.page.url();
  assert.equal((await rita.page.textContent('section[data-biobank="tmm"] .state')).trim(), "submitted");
  await shot(rita.page, "biobank-access-request");

  const carl = await signedIn("carl");
  await carl.page.goto(`${base}/biobanks/requests`);
  assert.equal(await carl.page.locator("#access-requests tbody tr").count(), 1);
  await carl.page.goto(url);
  assert.equal(await carl.page.locator("section.part").count(), 1, "a curator sees only their biobank's part");
  await Promise.all([carl.page.waitForLoadState("load"), carl.page.click('section[data-biobank="tmm"] button[data-to="under_review"]')]);
  await carl.page.fill('section[data-biobank="tmm"] form.step input[name="message"]', "approved by the access committee");
  await Promise.all([carl.page.waitForLoadState("load"), carl.page.click('section[data-biobank="tmm"] button[data-to="approved"]')]);
  assert.equal((await carl.page.textContent('section[data-biobank="tmm"] .state')).trim(), "approved");
  await carl.context.close();

  await rita.page.reload();
  assert.equal((await rita.page.textContent('section[data-biobank="tmm"] .state')).trim(), "approved");
  assert.equal((await rita.page.textContent('section[data-biobank="bbj"] .state')).trim(), "submitted");
  assert.match(await rita.page.textContent('section[data-biobank="tmm"] ol.thread'), /approved by the access committee/);
  assert.equal(await rita.page.locator('section[data-biobank="bbj"] a.records').count(), 0);
  const records = await rita.page.evaluate(async () => {
    const href = document.querySelector('section[data-biobank="tmm"] a.records').getAttribute("href");
    return (await fetch(href)).json();
  });
  assert.ok(records.records.length > 0 && records.records.every((r) => r.biobank === "tmm"), JSON.stringify(records).slice(0, 300));
  await rita.context.close();
});
