// Runs the real Prometheus (Debian's `prometheus`, or the binary PROMETHEUS_BIN names)
// against the built Worker (worker/pkg) in workerd, with the repo's configuration and rule
// files, scraping every second: drives traffic at the edge (lists, clicks on them, a
// corrupt model version, a drift and a fairness report), then checks that the rules load
// and evaluate without errors and that every panel of the Grafana dashboard
// (monitoring/dashboards/marquee.json) returns data through Prometheus's HTTP API.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "./miniflare.mjs";

const TOKEN = "workerd-test-token";
const base = "http://localhost";
const repo = fileURLToPath(new URL("../..", import.meta.url));
// What the dashboard's interval variables become: the whole test fits in a minute, so a
// one-minute window holds every sample Prometheus has.
const RANGE = "1m";

let mf;
let scratch;
let prometheus;
let prometheusLog = "";
let prometheusUrl;
// The edge's answers to the report uploads, checked by their own test.
const reportUploads = {};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const admin = (path, init = {}) =>
  mf.dispatchFetch(base + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });

// A loopback port nothing listens on now.
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Polls `check` until it returns a truthy value, or fails naming `what` after `timeoutMs`.
async function until(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}\n--- prometheus log ---\n${prometheusLog.slice(-4000)}`);
}

// An instant query through the HTTP API; returns Prometheus's `data`.
async function query(expr) {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await response.json();
  if (body.status !== "success") throw new Error(`${expr}: ${body.errorType}: ${body.error}`);
  return body.data;
}

// The samples of an instant query's result whose values are numbers (not NaN or ±Inf).
function finiteSamples(data) {
  const samples = data.resultType === "vector" ? data.result.map((series) => series.value) : [data.result];
  return samples.filter((sample) => Number.isFinite(Number(sample?.[1])));
}

// The repo's configuration, pointed at this test's edge, scraping and evaluating every
// second, with the rule files by absolute path. Every edit must apply, so a change to the
// file that this test no longer understands fails here rather than testing something else.
function testConfig(edgeHost) {
  let config = readFileSync(join(repo, "monitoring/prometheus.yml"), "utf8");
  const edits = [
    ["scrape_interval: 15s", "scrape_interval: 1s"],
    ["evaluation_interval: 15s", "evaluation_interval: 1s"],
    ['"127.0.0.1:8787"', JSON.stringify(edgeHost)],
    ["- rules/*.yml", `- ${JSON.stringify(join(repo, "monitoring/rules/*.yml"))}`],
  ];
  for (const [from, to] of edits) {
    assert.equal(config.split(from).length, 2, `monitoring/prometheus.yml should hold ${from} once`);
    config = config.replace(from, to);
  }
  return config;
}

async function startPrometheus(edgeHost) {
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  const configFile = join(scratch, "prometheus.yml");
  writeFileSync(configFile, testConfig(edgeHost));
  const bin = process.env.PROMETHEUS_BIN ?? "prometheus";
  prometheus = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(scratch, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const spawned = new Promise((resolve, reject) => {
    prometheus.once("spawn", resolve);
    prometheus.once("error", (error) =>
      reject(new Error(`cannot start ${bin} (install Debian's prometheus: cargo xtask setup): ${error.message}`)),
    );
  });
  for (const stream of [prometheus.stdout, prometheus.stderr]) {
    stream.on("data", (chunk) => (prometheusLog += chunk));
  }
  await spawned;
  await until("Prometheus to be ready", async () => (await fetch(`${prometheusUrl}/-/ready`)).ok);
}

// SIGTERM, then SIGKILL if it has not exited after 5 s; resolves once it has exited, so
// its TSDB folder can be removed.
async function stopPrometheus() {
  if (!prometheus || prometheus.exitCode !== null || prometheus.signalCode !== null) return;
  const exited = new Promise((resolve) => prometheus.once("exit", resolve));
  prometheus.kill("SIGTERM");
  const killer = setTimeout(() => prometheus.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(killer);
}

// A small model trained by the marquee CLI (MARQUEE_BIN, set by cargo xtask test),
// published whole under `version`: the recommender, then every profile shard.
let models;
let manifest;

function marquee(...args) {
  const bin = process.env.MARQUEE_BIN;
  assert.ok(bin, "MARQUEE_BIN must name the marquee binary (cargo xtask test sets it)");
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function trainModel() {
  marquee("world", "--out", join(scratch, "world"), "--users", "300", "--movies", "200", "--days", "5");
  models = join(scratch, "models");
  manifest = JSON.parse(
    marquee("train", "--data", join(scratch, "world"), "--out", models, "--shards", "2", "--factors", "8", "--json"),
  );
}

async function publish(version) {
  const put = async (path, file) => {
    const response = await admin(`/v1/admin/models/${version}/${path}`, { method: "PUT", body: readFileSync(join(models, file)) });
    assert.equal(response.status, 201, await response.text());
  };
  await put("recommender", manifest.recommender.path);
  for (const [shard, file] of manifest.profile_shards.entries()) await put(`profiles/${shard}`, file.path);
}

// One list from each recommendation route per user; returns what a click needs.
async function serveLists(users) {
  const served = [];
  for (const user of users) {
    const text = await mf.dispatchFetch(`${base}/recommend/${user}`);
    assert.equal(text.status, 200);
    served.push({ user, movie: (await text.text()).split(",")[0], id: text.headers.get("x-marquee-recommendation-id") });
    const json = await mf.dispatchFetch(`${base}/v1/recommend/${user}?n=5`);
    assert.equal(json.status, 200);
    await json.arrayBuffer();
  }
  return served;
}

// The edge logs a list just after answering it and refuses a click on a list it has not
// logged yet: a click sent at once is retried for a moment, as a real client's would be.
async function click({ user, movie, id }) {
  const body = JSON.stringify({ type: "click", user_id: user, movie_id: movie, recommendation_id: id });
  for (let attempt = 0; attempt < 30; attempt++) {
    const response = await mf.dispatchFetch(`${base}/v1/events`, { method: "POST", body });
    if (response.status !== 400 || !(await response.clone().text()).includes("names no list")) {
      assert.equal(response.status, 200, await response.text());
      return;
    }
    await sleep(100);
  }
  assert.fail(`the click on ${id} was never accepted`);
}

// The traffic every panel needs: lists on both recommendation routes, clicks on some, a
// client error, a model version whose blob is corrupted in R2 after upload (so the edge
// fails to load it and serves fallbacks), and one drift and one fairness report.
async function driveTraffic() {
  await publish("v1");
  assert.equal((await admin("/v1/admin/models/v1/activate", { method: "POST" })).status, 200);
  const served = await serveLists(Array.from({ length: 30 }, (_, i) => i + 1));
  for (const list of served.slice(0, 12)) await click(list);
  assert.equal((await mf.dispatchFetch(`${base}/recommend/not-a-number`)).status, 400);

  await publish("v2");
  const bucket = await mf.getR2Bucket("MODELS");
  await bucket.put("models/v2/recommender.blob", new Uint8Array(64).fill(7));
  // A cold isolate reads it (the uploading one has the good blob cached).
  assert.equal((await admin("/v1/admin/faults/restart", { method: "POST" })).status, 200);
  assert.equal((await admin("/v1/admin/models/v2/activate", { method: "POST" })).status, 200);
  await serveLists(Array.from({ length: 10 }, (_, i) => i + 100));

  const generated_ms = Date.now() - 60_000;
  const drift = {
    generated_ms,
    share_drifted: 0.5,
    dataset_drifted: true,
    columns: [
      { name: "age", scope: "input", test: "ks", score: 0.001, threshold: 0.05, drifted: true },
      { name: "recommended_popularity", scope: "output", test: "wasserstein", score: 0.04, threshold: 0.1, drifted: false },
    ],
  };
  const fairness = {
    generated_ms,
    ratios: [
      { metric: "click_rate", worst_group: "F 18-24", best_group: "M 25-34", ratio: 0.7, flagged: true },
      { metric: "ndcg", worst_group: "M 56+", best_group: "F 25-34", ratio: 0.9, flagged: false },
    ],
    exposure_gini: 0.62,
    long_tail_share: 0.18,
  };
  for (const [name, summary] of Object.entries({ drift, fairness })) {
    const response = await admin(`/v1/admin/monitor/${name}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(summary),
    });
    reportUploads[name] = { status: response.status, body: await response.text() };
  }
  return served.length + 10;
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "marquee-prometheus-"));
  trainModel();
  // FAULT_INJECTION (test-only) lets the corrupt version be read by a cold isolate.
  mf = await startWorker("entry.mjs", { ADMIN_TOKEN: TOKEN, FAULT_INJECTION: "1" });
  await startPrometheus(new URL(mf.url).host);
  await until("the first scrape of the edge", async () =>
    (await query('up{job="marquee-edge"} == 1')).result.length === 1,
  );
  const textLists = await driveTraffic();
  // Scrapes see every list (the impressions are written just after each answer), then
  // the rules evaluate at least twice more.
  await until("the scrapes to count every /recommend answer", async () => {
    const [sample] = finiteSamples(await query('sum(marquee_requests_total{route="recommend"})'));
    return sample && Number(sample[1]) >= textLists;
  });
  // A rate needs the counter to rise between two samples. On a loaded machine the scrapes
  // during the traffic can all miss (a scrape times out after its 1 s interval), so the
  // first sample may already hold the final count and every rate would be 0 (a ratio of
  // them NaN): keep serving a list now and then until Prometheus has seen the rise.
  await until("the scrapes to see the recommendation counters rise", async () => {
    await serveLists([1]);
    const [sample] = finiteSamples(await query('sum(rate(marquee_requests_total{route=~"recommend|v1_recommend"}[1m]))'));
    return sample && Number(sample[1]) > 0;
  });
  await sleep(2_500);
});

after(async () => {
  try {
    await stopPrometheus();
  } finally {
    await mf?.dispose();
    if (scratch) rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
  }
});

// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens.
function anchorsOf(markdown) {
  return new Set(
    markdown
      .split("\n")
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) =>
        line
          .replace(/^#+ /, "")
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, "")
          .replace(/ /g, "-"),
      ),
  );
}

test("Prometheus loads every rule file and evaluates each rule without errors", async () => {
  const body = await (await fetch(`${prometheusUrl}/api/v1/rules`)).json();
  assert.equal(body.status, "success");
  const groups = body.data.groups;
  const rulesDir = join(repo, "monitoring/rules");
  const groupNames = readdirSync(rulesDir)
    .filter((file) => file.endsWith(".yml"))
    .flatMap((file) => [...readFileSync(join(rulesDir, file), "utf8").matchAll(/^ {2}- name: (\S+)$/gm)].map((match) => match[1]));
  assert.deepEqual(groups.map((group) => group.name).sort(), groupNames.sort(), "every group of every rule file is loaded");
  const rules = groups.flatMap((group) => group.rules);
  const failing = rules.filter((rule) => rule.health !== "ok" || rule.lastError);
  assert.deepEqual(
    failing.map((rule) => `${rule.name}: ${rule.health} ${rule.lastError ?? ""}`),
    [],
    "rules that did not evaluate cleanly",
  );
  const anchors = anchorsOf(readFileSync(join(repo, "README.md"), "utf8"));
  const alerts = rules.filter((rule) => rule.type === "alerting");
  assert.ok(alerts.length >= 10, `${alerts.length} alerts`);
  for (const alert of alerts) {
    assert.ok(["page", "ticket"].includes(alert.labels.severity), `${alert.name}: severity ${alert.labels.severity}`);
    for (const key of ["summary", "description", "runbook"]) {
      assert.ok(alert.annotations[key]?.length > 10, `${alert.name} needs a ${key} annotation`);
    }
    const [file, anchor] = alert.annotations.runbook.split("#");
    assert.equal(file, "README.md", alert.name);
    assert.ok(anchors.has(anchor), `${alert.name}'s runbook names #${anchor}, which no README heading has`);
  }
});

test("the edge accepts the drift and fairness reports", () => {
  for (const name of ["drift", "fairness"]) {
    const upload = reportUploads[name];
    assert.ok(upload.status >= 200 && upload.status < 300, `PUT /v1/admin/monitor/${name}: ${upload.status} ${upload.body}`);
  }
});

test("every dashboard panel's query returns data", async () => {
  const dashboard = JSON.parse(readFileSync(join(repo, "monitoring/dashboards/marquee.json"), "utf8"));
  const variables = dashboard.templating.list.map((variable) => variable.name);
  const substitute = (expr) =>
    expr.replace(/\$\{?(\w+)\}?/g, (whole, name) => {
      if (["__rate_interval", "__range", "__interval"].includes(name)) return RANGE;
      assert.ok(variables.includes(name), `unknown dashboard variable ${whole}`);
      return ".*";
    });
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== "row");
  const empty = [];
  let checked = 0;
  for (const panel of panels) {
    for (const target of panel.targets) {
      const expr = substitute(target.expr);
      const data = await query(expr);
      checked++;
      if (finiteSamples(data).length === 0) empty.push(`${panel.title} (${target.refId}): ${expr.replace(/\s+/g, " ")}`);
    }
  }
  assert.ok(checked >= 20, `${checked} queries`);
  assert.deepEqual(empty, [], `${empty.length} of ${checked} panel queries returned no data`);
});

test("the reports and the corrupt version raise their alerts in Prometheus", async () => {
  const firing = await until(
    "MarqueeDataDrift, MarqueeFairnessFlagged and MarqueeModelLoadFailed to fire",
    async () => {
      const body = await (await fetch(`${prometheusUrl}/api/v1/alerts`)).json();
      const names = new Set(body.data.alerts.filter((alert) => alert.state === "firing").map((alert) => alert.labels.alertname));
      return ["MarqueeDataDrift", "MarqueeFairnessFlagged", "MarqueeModelLoadFailed"].every((name) => names.has(name)) && body;
    },
    5_000,
  );
  const flagged = firing.data.alerts.find((alert) => alert.labels.alertname === "MarqueeFairnessFlagged");
  assert.equal(flagged.labels.metric, "click_rate");
  assert.equal(flagged.labels.worst_group, "F 18-24");
});
