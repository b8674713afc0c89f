// The admin UI end to end: headless Chromium (playwright-core driving the system's
// chromium) against the local edge in workerd, as an operator uses it. Needs dist/ (trunk),
// worker/pkg (wasm-bindgen) and MARQUEE_BIN; `cargo xtask test` provides all three.
// Screenshots of every page go to MARQUEE_SCREENSHOTS (default target/ui-screenshots).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, cpSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startEdge } from "./edge.mjs";

const TOKEN = "e2e-token";
const scratch = mkdtempSync(join(tmpdir(), "marquee-ui-"));
const shots = process.env.MARQUEE_SCREENSHOTS ?? new URL("../../target/ui-screenshots", import.meta.url).pathname;
let edge, browser, page, models, manifest;
const putRequests = [];

function marquee(...args) {
  const bin = process.env.MARQUEE_BIN;
  assert.ok(bin, "MARQUEE_BIN must name the marquee binary (cargo xtask test sets it)");
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

async function admin(path) {
  const response = await fetch(edge.url + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return response.json();
}

async function shoot(name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function open(path) {
  await page.click(`header nav a[href="${path}"]`);
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  // A models folder trained by `marquee train` on the built-in world (a smaller one, so
  // the debug binary trains it in seconds).
  marquee("world", "--out", join(scratch, "world"), "--users", "1200", "--movies", "600", "--days", "10");
  models = join(scratch, "models");
  manifest = JSON.parse(marquee("train", "--data", join(scratch, "world"), "--out", models, "--factors", "8", "--evaluate", "--json"));
  edge = await startEdge({ stateDir: join(scratch, "state"), token: TOKEN });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("request", (request) => {
    if (request.method() === "PUT") putRequests.push(request.url());
  });
});

after(async () => {
  await browser?.close();
  edge?.stop();
});

test("a wrong token is refused with a clear message, the right one opens the overview", async () => {
  await page.goto(edge.url + "/");
  await page.fill("#admin-token", "not-the-token");
  await page.click(".token-prompt button[type=submit]");
  await page.waitForSelector(".token-prompt p.error");
  assert.match(await page.textContent(".token-prompt p.error"), /refused the admin token \(401\)/);
  await page.fill("#admin-token", TOKEN);
  await page.click(".token-prompt button[type=submit]");
  await page.waitForSelector(".figure[data-figure='Health']");
  assert.match(await page.textContent(".figure[data-figure='Health']"), /ok/);
  assert.equal(await page.locator("figure.chart").count(), 7, "six traffic charts and availability");
  assert.ok(!page.url().includes(TOKEN), "the token is never put in a URL");
});

test("before anything is published, the playground runs the embedded default model and matches the edge", async () => {
  await open("/playground");
  await runPlayground(1);
  assert.match(await page.textContent(".playground-result p"), /Version default/);
  assert.equal(await page.locator("ol.explained li.item").count(), 20);
  assert.match(await page.getAttribute(".badge", "class"), /parity-equal/, await page.textContent(".badge"));
});

test("publishing a trained folder checks it in the page, uploads it and lists it; activating asks first", async () => {
  await open("/models");
  await page.waitForSelector("table.versions");
  await page.setInputFiles("#pick-folder", models);
  await page.waitForSelector("table.folder-check");
  const passed = await page.locator("table.folder-check tr.passed").count();
  assert.equal(passed, 1 + 1 + manifest.shard_count, "the manifest, the recommender and every shard pass");
  putRequests.length = 0;
  await page.click("section.publish button.primary");
  await page.waitForSelector(`text=Version ${manifest.version} uploaded and listed.`);
  assert.equal(putRequests.length, 2 + manifest.shard_count);
  const row = page.locator(`tr[data-version='${manifest.version}']`);
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(`${manifest.shard_count}/${manifest.shard_count} profile shards`));
  assert.match(await row.textContent(), /fitted in/);
  assert.match(await row.textContent(), /held out: NDCG@20 0\.\d{3}/, "the manifest's evaluation is shown");
  await row.locator("button").click();
  await row.locator("button.danger").click();
  await page.waitForSelector(`text=Version ${manifest.version} is active.`);
  const registry = await admin("/v1/admin/models");
  assert.equal(registry.active, manifest.version);
  await page.waitForSelector(`tr[data-version='${manifest.version}'].active`);
  await shoot("models");
});

test("a corrupt blob is refused in the page with the loader's message and nothing is uploaded", async () => {
  const corrupt = join(scratch, "corrupt");
  cpSync(models, corrupt, { recursive: true });
  const shardPath = join(corrupt, manifest.profile_shards[0].path);
  const bytes = readFileSync(shardPath);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(shardPath, bytes);
  putRequests.length = 0;
  await page.setInputFiles("#pick-folder", corrupt);
  await page.waitForSelector("p.refused");
  assert.match(await page.textContent("p.refused"), /Nothing was uploaded/);
  const refused = await page.textContent(`tr.refused[data-path='${manifest.profile_shards[0].path}']`);
  assert.match(refused, /checksum/);
  assert.equal(await page.locator("section.publish button.primary").count(), 0);
  assert.deepEqual(putRequests, []);
  await shoot("models-refused");
});

async function findUserWithHistory() {
  for (let user = 1; user < 400; user++) {
    const lookup = await admin(`/v1/admin/users/${user}`);
    if (lookup.profile && lookup.profile.interactions > 2) return user;
  }
  throw new Error("no user with history in the first 400");
}

async function runPlayground(user, { cold = false } = {}) {
  await page.fill("#pg-user", String(user));
  if (cold !== (await page.isChecked("#pg-cold"))) await page.click("#pg-cold");
  if (cold) {
    await page.fill("#pg-age", "29");
    await page.selectOption("#pg-gender", "F");
  }
  await page.click(".playground-form button[type=submit]");
  // The page drops the previous list on submit; wait for this request's, cold or not.
  await page.waitForFunction(({ user, cold }) => {
    const result = document.querySelector(".playground-result");
    const history = document.querySelector("section.history");
    return result && result.textContent.includes(`user ${user},`) && history &&
      history.textContent.includes("typed here") === cold && document.querySelectorAll("ol.explained li.item").length > 0;
  }, { user, cold });
}

test("the playground runs the model in the page, explains 20 items, matches the edge bit for bit, and follows the sliders", async () => {
  const user = await findUserWithHistory();
  await open("/playground");
  await runPlayground(user);
  assert.equal(await page.locator("ol.explained li.item").count(), 20);
  assert.ok((await page.locator("li.item g.contribution").count()) >= 20, "every item has its contributions");
  const badge = await page.textContent(".badge");
  assert.match(await page.getAttribute(".badge", "class"), /parity-equal/, badge);
  assert.ok((await page.locator("ul.seen li").count()) > 0, "the user's history is shown");
  const before = await page.locator("li.item .movie").allTextContents();
  await page.locator("#knob-popularity").fill("1");
  await page.waitForFunction(
    (before) => [...document.querySelectorAll("li.item .movie")].map((node) => node.textContent).join() !== before.join(),
    before,
  );
  await shoot("playground");

  // A user the model has never seen: a cold list, still equal to the edge's.
  await runPlayground(987654321);
  assert.equal(await page.locator("ol.explained li.item").count(), 20);
  assert.match(await page.getAttribute(".badge", "class"), /parity-equal/);
  assert.match(await page.textContent("section.history"), /cold/);
  // Typed demographics: computed here only, so parity is not claimed.
  await runPlayground(987654321, { cold: true });
  assert.match(await page.getAttribute(".badge", "class"), /parity-na/);
  await shoot("playground-cold");
});

test("the experiment page edits, validates and saves; the readout lists the variants", async () => {
  await open("/experiment");
  await page.waitForSelector("form.experiment-editor");
  await page.click("text=Add a variant");
  const weights = page.locator("form.experiment-editor input[type=number]");
  await weights.nth(0).fill("0");
  await weights.nth(1).fill("0");
  await page.click("form.experiment-editor button[type=submit]");
  assert.match(await page.textContent("form.experiment-editor p.error"), /weights add up to 0/);
  await weights.nth(0).fill("1");
  await weights.nth(1).fill("1");
  await page.selectOption("form.experiment-editor tr.variant:nth-child(2) select", manifest.version);
  await page.click("form.experiment-editor button[type=submit]");
  await page.waitForSelector("text=Saved");
  const experiment = await admin("/v1/admin/experiment");
  assert.equal(experiment.variants.length, 2);
  assert.equal(experiment.variants[1].version, manifest.version);
  await page.waitForSelector("table.readout tbody tr");
  await shoot("experiment");
});

test("users and movies are looked up; the overview shows the traffic", async () => {
  const user = await findUserWithHistory();
  for (let i = 0; i < 5; i++) await fetch(`${edge.url}/recommend/${user}`);
  await open("/lookup");
  await page.fill("#lookup-user", String(user));
  await page.click("form:has(#lookup-user) button");
  await page.waitForSelector("article.user");
  assert.match(await page.textContent("article.user"), /Variant/);
  const movie = (await (await fetch(`${edge.url}/recommend/${user}`)).text()).split(",")[0];
  await page.fill("#lookup-movie", movie);
  await page.click("form:has(#lookup-movie) button");
  await page.waitForSelector("article.movie");
  assert.match(await page.textContent("article.movie"), /Recommended in\s*[1-9]/);
  await shoot("lookup");
  await open("/");
  await page.waitForFunction(() => {
    const figure = document.querySelector(".figure[data-figure='Requests/s'] .value");
    return figure && Number(figure.textContent) > 0;
  }, null, { timeout: 30_000 });
  await shoot("overview");
  // And at a phone's width.
  await page.setViewportSize({ width: 375, height: 800 });
  await shoot("overview-375px");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at 375 px`);
  await page.setViewportSize({ width: 1280, height: 900 });
});
