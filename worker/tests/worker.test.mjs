// Runs the built Worker (worker/pkg, made by `cargo xtask test`) inside workerd through
// Miniflare, with R2 and D1, and checks what clients get over HTTP: every route, auth,
// malformed input, the fallbacks, the A/B split and a model swap under load.
//
// It trains a small model with the `marquee` binary named by MARQUEE_BIN (set by
// `cargo xtask test`).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { startWorker } from "./miniflare.mjs";

const TOKEN = "workerd-test-token";
const base = "http://localhost";
let mf;
let scratch;
let models;
let manifest;

function marquee(...args) {
  const bin = process.env.MARQUEE_BIN;
  assert.ok(bin, "MARQUEE_BIN must name the marquee binary (cargo xtask test sets it)");
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const admin = (path, init = {}) =>
  mf.dispatchFetch(base + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });

async function publish(version) {
  const put = async (path, file) => {
    const response = await admin(`/v1/admin/models/${version}/${path}`, { method: "PUT", body: readFileSync(join(models, file)) });
    assert.equal(response.status, 201, await response.text());
  };
  await put("recommender", "recommender.blob");
  for (const [shard, file] of manifest.profile_shards.entries()) {
    await put(`profiles/${shard}`, file.path);
  }
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "marquee-workerd-"));
  marquee("world", "--out", join(scratch, "world"), "--users", "300", "--movies", "200", "--days", "5");
  models = join(scratch, "models");
  manifest = JSON.parse(
    marquee("train", "--data", join(scratch, "world"), "--out", models, "--shards", "3", "--factors", "8", "--json"),
  );
  // FAULT_INJECTION opens /v1/admin/faults (test-only): a corrupt blob is read by a cold isolate.
  mf = await startWorker("entry.mjs", { ADMIN_TOKEN: TOKEN, FAULT_INJECTION: "1" });
});

after(async () => {
  await mf?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

// The edge logs a list just after answering it, and refuses a click on a list it has not
// logged: a click sent at once is retried for a moment, as a real client's would be.
async function postClick(click) {
  let response;
  for (let attempt = 0; attempt < 30; attempt++) {
    response = await mf.dispatchFetch(`${base}/v1/events`, { method: "POST", body: JSON.stringify(click) });
    if (response.status !== 400 || !(await response.clone().text()).includes("names no list")) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return response.status;
}

test("with empty storage, /recommend answers the embedded default model's list", async () => {
  const response = await mf.dispatchFetch(`${base}/recommend/42`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^text\/plain/);
  assert.equal(response.headers.get("x-marquee-model-version"), "default");
  assert.equal(response.headers.get("x-marquee-variant"), "control");
  assert.match(response.headers.get("x-marquee-recommendation-id"), /^r[0-9a-f]+$/);
  const body = await response.text();
  assert.equal(body.split(",").length, 20);
  assert.ok(!/[ \n]/.test(body));
  // POPULAR_MOVIES is empty as shipped: the list of last resort is built in, never empty.
  assert.equal((await (await mf.dispatchFetch(`${base}/healthz`)).json()).fallback_movies, 20);
});

test("malformed input gets a one-line 400, unknown routes 404, wrong methods 405", async () => {
  const bad = await mf.dispatchFetch(`${base}/recommend/not-a-number`);
  assert.equal(bad.status, 400);
  assert.ok(!(await bad.text()).includes("\n"));
  assert.equal((await mf.dispatchFetch(`${base}/v1/recommend/1?n=1000`)).status, 400);
  assert.equal((await mf.dispatchFetch(`${base}/v1/nothing`)).status, 404);
  assert.equal((await mf.dispatchFetch(`${base}/recommend/1`, { method: "POST" })).status, 405);
});

test("user ids a JS number would round are refused; HEAD answers like GET and logs nothing", async () => {
  const tooBig = await mf.dispatchFetch(`${base}/recommend/9007199254740992`);
  assert.equal(tooBig.status, 400);
  assert.match(await tooBig.text(), /out of range/);
  const largest = "9007199254740991";
  const head = await mf.dispatchFetch(`${base}/recommend/${largest}`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("x-marquee-model-version"), "default");
  assert.equal((await head.arrayBuffer()).byteLength, 0);
  const impressionsOf = async () => {
    const page = await (await admin("/v1/admin/log?limit=10000")).text();
    return page.split("\n").filter(Boolean).map((line) => JSON.parse(line)).filter((row) => String(row.user_id) === largest);
  };
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await impressionsOf()).length, 0, "HEAD logged an impression");
  assert.equal((await mf.dispatchFetch(`${base}/recommend/${largest}`)).status, 200);
  let logged = [];
  for (let attempt = 0; attempt < 50 && logged.length === 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    logged = await impressionsOf();
  }
  assert.equal(logged.length, 1, "GET logs one impression, with the id exactly");
  assert.equal(logged[0].kind, "impression");
});

test("the JSON route carries scores, the variant and explanations", async () => {
  const response = await mf.dispatchFetch(`${base}/v1/recommend/9?n=4&explain=1`);
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.items.length, 4);
  assert.equal(typeof body.items[0].score, "number");
  assert.equal(body.items[0].explanation.length, 3);
  assert.equal(body.model_version, "default");
});

test("the admin API refuses a missing or wrong token", async () => {
  assert.equal((await mf.dispatchFetch(`${base}/v1/admin/models`)).status, 401);
  const wrong = await mf.dispatchFetch(`${base}/v1/admin/models`, { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, "unauthorized");
});

test("a corrupt upload gets 422; a published, activated model serves known users", async () => {
  const corrupt = await admin("/v1/admin/models/broken/recommender", { method: "PUT", body: new Uint8Array([1, 2, 3]) });
  assert.equal(corrupt.status, 422);
  await publish("v1");
  const listed = await (await admin("/v1/admin/models")).json();
  assert.deepEqual(listed.versions.map((v) => v.version), ["v1"]);
  assert.equal((await admin("/v1/admin/models/v1/activate", { method: "POST" })).status, 200);
  const response = await mf.dispatchFetch(`${base}/recommend/7`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("x-marquee-model-version"), "v1");
  assert.equal(response.headers.get("x-marquee-fallback"), null);
  assert.equal((await response.text()).split(",").length, 20);
  const health = await (await mf.dispatchFetch(`${base}/healthz`)).json();
  assert.equal(health.model_version, "v1");
  assert.equal(health.storage_reachable, true);
});

test("blobs download byte-identical to the upload; a manifest is checked and listed", async () => {
  const blob = await admin("/v1/admin/models/v1/recommender");
  assert.equal(blob.status, 200);
  assert.equal(blob.headers.get("content-type"), "application/octet-stream");
  assert.equal(blob.headers.get("cache-control"), "private, no-cache");
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), readFileSync(join(models, "recommender.blob")));
  const etag = blob.headers.get("etag");
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  const again = await admin("/v1/admin/models/v1/recommender", { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  assert.equal((await again.arrayBuffer()).byteLength, 0);
  for (const [shard, file] of manifest.profile_shards.entries()) {
    const got = await admin(`/v1/admin/models/v1/profiles/${shard}`);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), readFileSync(join(models, file.path)), `shard ${shard}`);
  }
  const embedded = await admin("/v1/admin/models/default/recommender");
  assert.equal(embedded.status, 200);
  assert.ok((await embedded.arrayBuffer()).byteLength > 1000);
  const missing = await admin("/v1/admin/models/v1/profiles/99");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error, "not_found");

  const text = readFileSync(join(models, "manifest.json"));
  const wrong = { ...manifest, shard_count: manifest.shard_count + 1 };
  assert.equal((await admin("/v1/admin/models/v1/manifest", { method: "PUT", body: JSON.stringify(wrong) })).status, 422);
  assert.equal((await admin("/v1/admin/models/v1/manifest", { method: "PUT", body: "{" })).status, 400);
  const put = await admin("/v1/admin/models/v1/manifest", { method: "PUT", body: text });
  assert.equal(put.status, 201, await put.text());
  const listed = await (await admin("/v1/admin/models")).json();
  const v1 = listed.versions.find((version) => version.version === "v1");
  assert.deepEqual(v1.manifest, manifest);
  assert.equal(v1.profiles_uploaded, manifest.shard_count);
  assert.match(v1.schema_hash, /^[0-9a-f]{16}$/);
  assert.match(v1.catalog_fingerprint, /^[0-9a-f]{16}$/);
  assert.equal(listed.default_model.version, "default");
});

test("a model swap while requests are running never fails a request", async () => {
  await publish("v2");
  const previous = (await (await admin("/v1/admin/models")).json()).active;
  assert.ok(previous && previous !== "v2", `an earlier test activated a version (active: ${previous})`);
  // Four lanes of back-to-back requests run through the swap. Each request records the
  // phase it started and finished in, so the test can show that requests were in flight
  // while the activation ran, that those before it were served by the previous version and
  // those after by v2.
  let phase = "before";
  const results = [];
  let startedAfter = 0;
  const lane = async (offset) => {
    for (let i = 0; startedAfter < 40 && i < 5000; i++) {
      const startedIn = phase;
      if (startedIn === "after") startedAfter++;
      const response = await mf.dispatchFetch(`${base}/recommend/${offset + i}`);
      const count = (await response.text()).split(",").length;
      results.push({
        status: response.status,
        version: response.headers.get("x-marquee-model-version"),
        fallback: response.headers.get("x-marquee-fallback"),
        count,
        startedIn,
        finishedIn: phase,
      });
    }
  };
  const lanes = [0, 1000, 2000, 3000].map(lane);
  while (results.length < 20) await new Promise((resolve) => setTimeout(resolve, 5));
  phase = "during";
  const activation = await admin("/v1/admin/models/v2/activate", { method: "POST" });
  assert.equal(activation.status, 200);
  phase = "after";
  await Promise.all(lanes);

  const summary = JSON.stringify(results.map((r) => [r.status, r.version, r.fallback, r.count, r.startedIn, r.finishedIn]));
  assert.ok(results.every((r) => r.status === 200 && r.count === 20 && r.fallback === null), summary);
  const before = results.filter((r) => r.finishedIn === "before");
  assert.ok(before.length >= 20 && before.every((r) => r.version === previous), summary);
  const inFlight = results.filter((r) => r.startedIn !== "after" && r.finishedIn !== "before");
  assert.ok(inFlight.length > 0, `no request was in flight during the swap: ${summary}`);
  assert.ok(inFlight.every((r) => r.version === previous || r.version === "v2"), summary);
  const after = results.filter((r) => r.startedIn === "after");
  assert.ok(after.length >= 40 && after.every((r) => r.version === "v2"), summary);
  const rolled = await (await admin("/v1/admin/rollback", { method: "POST" })).json();
  assert.equal(rolled.active, previous);
});

test("a corrupt active blob falls back to a good model", async () => {
  await publish("v3");
  // Damaged in R2 after a complete publish, and read by an isolate that starts after that
  // (the uploading isolate has the good blob cached).
  const bucket = await mf.getR2Bucket("MODELS");
  await bucket.put("models/v3/recommender.blob", new Uint8Array([77, 65, 82, 81, 85, 69, 69, 0, 9, 9]));
  assert.equal((await admin("/v1/admin/faults/restart", { method: "POST" })).status, 200);
  assert.equal((await admin("/v1/admin/models/v3/activate", { method: "POST" })).status, 200);
  const response = await mf.dispatchFetch(`${base}/recommend/5`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("x-marquee-fallback"), "model");
  assert.notEqual(response.headers.get("x-marquee-model-version"), "v3");
  assert.equal((await response.text()).split(",").length, 20);
  await admin("/v1/admin/models/v1/activate", { method: "POST" });
});

test("injected storage faults still answer a list, and the fault route checks its input", async () => {
  assert.equal((await mf.dispatchFetch(`${base}/v1/admin/faults`, { method: "PUT", body: "{}" })).status, 401);
  const bad = await admin("/v1/admin/faults", { method: "PUT", body: JSON.stringify({ d1_fail: 2 }) });
  assert.equal(bad.status, 422);
  const unknown = await admin("/v1/admin/faults", { method: "PUT", body: JSON.stringify({ disk_fail: 1 }) });
  assert.equal(unknown.status, 400);
  const set = await admin("/v1/admin/faults", { method: "PUT", body: JSON.stringify({ d1_fail: 1, r2_fail: 1 }) });
  assert.equal(set.status, 200);
  await admin("/v1/admin/faults/restart", { method: "POST" });
  try {
    for (const user of [1, 2, 3]) {
      const response = await mf.dispatchFetch(`${base}/recommend/${user}`);
      assert.equal(response.status, 200);
      assert.ok(response.headers.get("x-marquee-fallback"));
      assert.equal((await response.text()).split(",").length, 20);
    }
    assert.equal((await mf.dispatchFetch(`${base}/v1/events`, { method: "POST", body: '{"type":"watch","user_id":1,"movie_id":"m","minute":1}' })).status, 503);
  } finally {
    assert.equal((await admin("/v1/admin/faults", { method: "PUT", body: "{}" })).status, 200);
  }
  assert.equal((await mf.dispatchFetch(`${base}/healthz`)).status, 200);
});

test("the A/B split assigns users deterministically to each variant's version", async () => {
  const experiment = {
    salt: "workerd",
    variants: [
      { name: "control", version: "v1", weight: 1 },
      { name: "treatment", version: "v2", weight: 1 },
    ],
  };
  const put = await admin("/v1/admin/experiment", { method: "PUT", body: JSON.stringify(experiment) });
  assert.equal(put.status, 200, await put.text());
  const counts = { control: 0, treatment: 0 };
  for (let user = 0; user < 80; user++) {
    const response = await mf.dispatchFetch(`${base}/recommend/${user}`);
    const variant = response.headers.get("x-marquee-variant");
    assert.equal(response.headers.get("x-marquee-model-version"), variant === "control" ? "v1" : "v2");
    counts[variant] += 1;
  }
  assert.ok(counts.control > 20 && counts.treatment > 20, JSON.stringify(counts));
  await admin("/v1/admin/experiment", {
    method: "PUT",
    body: JSON.stringify({ salt: "x", variants: [{ name: "control", version: null, weight: 1 }] }),
  });
});

test("events: good lines are kept, bad ones reported, retries not duplicated, big bodies refused", async () => {
  const lines = [
    JSON.stringify({ type: "watch", user_id: 3, movie_id: "heat+1995", minute: 1, time_ms: 1704103200000 }),
    "2024-01-01T10:00:00,3,GET /rate/heat+1995=5",
    "garbage",
  ].join("\n");
  const first = await (await mf.dispatchFetch(`${base}/v1/events`, { method: "POST", body: lines })).json();
  assert.equal(first.stored, 2);
  assert.deepEqual(first.rejected.map((r) => r.line), [3]);
  assert.deepEqual(first.lines.map((l) => l.status), ["stored", "stored", "rejected"]);
  // D1 reports per statement whether the row was new: the retry is all duplicates, and
  // still acknowledged.
  const retry = await mf.dispatchFetch(`${base}/v1/events`, { method: "POST", body: lines });
  assert.equal(retry.status, 200);
  const again = await retry.json();
  assert.deepEqual([again.stored, again.duplicates], [0, 2]);
  assert.deepEqual(again.lines.slice(0, 2).map((l) => l.id), first.lines.slice(0, 2).map((l) => l.id));
  const log = await (await admin("/v1/admin/log?since=0&limit=10000")).text();
  const events = log.trim().split("\n").map((line) => JSON.parse(line)).filter((row) => row.kind !== "impression");
  assert.equal(events.length, 2);
  const big = await mf.dispatchFetch(`${base}/v1/events`, { method: "POST", body: "x".repeat((1 << 20) + 10) });
  assert.equal(big.status, 413);
});

// Sends a request's line and headers to workerd's own socket, declaring `declared` body
// bytes but sending none, and returns the answer's status; fails if none comes in 10 s.
function statusBeforeBody(method, path, declared) {
  const { hostname, port } = new URL(mf.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${method} ${path}: no answer in 10 s, so the body was waited for`));
    }, 10_000);
    let received = "";
    socket.on("error", (error) => (clearTimeout(timer), reject(error)));
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      const statusLine = received.match(/^HTTP\/1\.[01] (\d{3})/);
      if (statusLine) {
        clearTimeout(timer);
        socket.destroy();
        resolve(Number(statusLine[1]));
      }
    });
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Length: ${declared}\r\n\r\n`);
  });
}

test("bodies over the route's limit get 413 through the entry; without the token an upload gets 401", async () => {
  const chunked = (bytes) =>
    new ReadableStream({
      start(controller) {
        for (let sent = 0; sent < bytes; sent += 64 << 10) controller.enqueue(new Uint8Array(64 << 10).fill(120));
        controller.close();
      },
    });
  // (A chunked body over the limit is cut off mid-send, which the test client reports as a
  // failed fetch rather than the 413: worker/tests/read_body.test.mjs covers that case.)
  // Both refusals must come from the headers alone: the client declares 3 MiB and sends not
  // one byte of it, so an entry that waited for the body would never answer. (Sending the
  // body too made the client race the server's close: a reset instead of a status.)
  assert.equal(await statusBeforeBody("POST", "/v1/events", 3 << 20), 413);
  assert.equal(await statusBeforeBody("PUT", "/v1/admin/models/v9/recommender", 3 << 20), 401);
  const line = '{"type":"watch","user_id":7,"movie_id":"m7","minute":3}';
  const ok = await mf.dispatchFetch(`${base}/v1/events`, { method: "POST", body: chunked(0), duplex: "half" });
  assert.equal(ok.status, 400, "an empty body is read as empty");
  const one = await mf.dispatchFetch(`${base}/v1/events`, { method: "POST", body: line });
  assert.equal((await one.json()).stored, 1);
});

test("/metrics reports counters, the latency histogram, the model and impressions per variant", async () => {
  // A scrape writes the isolate's buffered counts after answering (through ctx.waitUntil),
  // so the second scrape sees every request made before the first.
  await mf.dispatchFetch(`${base}/metrics`).then((response) => response.text());
  await new Promise((resolve) => setTimeout(resolve, 200));
  const response = await mf.dispatchFetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  assert.match(text, /marquee_requests_total\{route="recommend",status="200"\} \d+/);
  assert.match(text, /marquee_request_io_seconds_bucket\{route="recommend",le="\+Inf"\} \d+/);
  assert.match(text, /marquee_model_info\{version="v1"\} 1/);
  assert.match(text, /marquee_impressions_total\{variant="treatment"\} \d+/);
});

test("an isolate that goes idle still writes its buffered counts, about a second later", async () => {
  const db = await mf.getD1Database("DB");
  const written = async () =>
    (await db.prepare("SELECT COALESCE(SUM(count), 0) AS n FROM request_counts WHERE route = 'recommend'").first()).n;
  // Let any earlier window's counts land (until the sum holds still across a flush interval:
  // on a loaded machine a single fixed wait once read it one count early), then send a burst:
  // the first request of a window writes the counts with its own deferred writes, the rest
  // are buffered.
  let before = await written();
  for (let settled = false, tries = 0; !settled && tries < 10; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const now = await written();
    settled = now === before;
    before = now;
  }
  for (let i = 0; i < 5; i++) await (await mf.dispatchFetch(`${base}/recommend/${900 + i}`)).text();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const soon = await written();
  assert.ok(soon < before + 5, `the burst is buffered, not written request by request (${before} -> ${soon})`);
  // No other request comes; the flush scheduled through ctx.waitUntil writes the rest.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(await written(), before + 5);
});

test("the admin playground answers what /v1/recommend answers for the same version and seed, and logs nothing", async () => {
  const user = 4242;
  const publicList = await (await mf.dispatchFetch(`${base}/v1/recommend/${user}?n=20&explain=1`)).json();
  assert.match(publicList.seed, /^[0-9]+$/);
  assert.ok(publicList.items.every((item) => typeof item.source === "string"));
  const rowsOf = async () => {
    const page = await (await admin("/v1/admin/log?limit=10000")).text();
    return page.split("\n").filter(Boolean).map((line) => JSON.parse(line)).filter((row) => row.user_id === user);
  };
  let logged = [];
  for (let attempt = 0; attempt < 50 && logged.length === 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    logged = await rowsOf();
  }
  assert.equal(logged.length, 1);
  const query = `version=${publicList.model_version}&seed=${publicList.seed}&n=20`;
  const response = await admin(`/v1/admin/recommend/${user}?${query}`);
  assert.equal(response.status, 200);
  const playground = await response.json();
  assert.deepEqual(playground.items, publicList.items);
  assert.equal(playground.seed, publicList.seed);
  assert.equal(typeof playground.profile_found, "boolean");
  assert.equal((await admin(`/v1/admin/recommend/${user}?version=nope`)).status, 404);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await rowsOf()).length, 1, "the playground logged an impression");
});

test("the admin summary, readout and lookups answer from D1 after traffic", async () => {
  const served = await mf.dispatchFetch(`${base}/recommend/77`);
  const movie = (await served.text()).split(",")[0];
  const click = { type: "click", user_id: 77, movie_id: movie, recommendation_id: served.headers.get("x-marquee-recommendation-id") };
  assert.equal(await postClick(click), 200);
  await new Promise((resolve) => setTimeout(resolve, 300));

  const response = await admin("/v1/admin/summary");
  assert.equal(response.status, 200, await response.clone().text());
  const summary = await response.json();
  assert.equal(summary.series.length, 60);
  assert.ok(summary.series.every((point) => point.start_ms % 60000 === 0));
  const requests = summary.series.reduce((sum, point) => sum + point.requests, 0);
  assert.equal(summary.totals.requests, requests);
  assert.ok(requests > 100, `only ${requests} recommendation requests counted`);
  assert.equal(typeof summary.totals.p99_ms, "number");
  assert.equal(summary.health.storage_reachable, true);
  const control = summary.variants.find((variant) => variant.variant === "control");
  assert.ok(control.impressions > 0 && control.clicked_lists >= 1, JSON.stringify(control));
  assert.equal((await admin("/v1/admin/summary?step_s=7")).status, 400);

  const readout = await (await admin("/v1/admin/readout")).json();
  const arm = readout.variants.find((variant) => variant.variant === "control");
  assert.ok(arm.clicked_lists >= 1 && arm.click_rate_ci.length === 2 && arm.mrr > 0, JSON.stringify(arm));

  const user = await (await admin("/v1/admin/users/77")).json();
  assert.deepEqual(user.recent.slice(0, 2).map((row) => row.kind), ["click", "impression"], "newest first");
  assert.equal(typeof user.shard, "number");
  const found = await (await admin(`/v1/admin/movies/${encodeURIComponent(movie)}`)).json();
  assert.equal(found.in_catalog, true);
  assert.ok(found.lists_containing >= 1 && found.clicked >= 1, JSON.stringify(found));
});

test("marquee publish, then pull-events, end to end over HTTP", async () => {
  const url = mf.url.origin;
  const env = { ...process.env, MARQUEE_ADMIN_TOKEN: TOKEN };
  const bin = process.env.MARQUEE_BIN;
  const run = (...args) => execFileSync(bin, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  const published = run("publish", models, "--to", url, "--activate");
  assert.match(published, new RegExp(`published ${manifest.version}`));
  const listed = await (await admin("/v1/admin/models")).json();
  assert.deepEqual(listed.versions.find((version) => version.version === manifest.version).manifest, manifest);
  const served = await mf.dispatchFetch(`${base}/recommend/11`);
  assert.equal(served.headers.get("x-marquee-model-version"), manifest.version);
  const click = { type: "click", user_id: 11, movie_id: (await served.text()).split(",")[0], recommendation_id: served.headers.get("x-marquee-recommendation-id") };
  assert.equal(await postClick(click), 200);
  await new Promise((resolve) => setTimeout(resolve, 200));

  const db = join(scratch, "pulled.db");
  const first = JSON.parse(run("pull-events", "--from", url, "--db", db, "--page", "7", "--json"));
  assert.ok(first.pulled > 10, JSON.stringify(first));
  assert.equal(first.new, first.pulled);
  const variant = first.variants.find((v) => v.variant === "control");
  assert.ok(variant.impressions > 0 && variant.clicks >= 1, JSON.stringify(first.variants));
  // Resuming from the cursor pulls nothing twice.
  const second = JSON.parse(run("pull-events", "--from", url, "--db", db, "--json"));
  assert.ok(second.pulled <= 2, JSON.stringify(second));
  const stats = JSON.parse(run("stats", "--db", db, "--json"));
  assert.ok(stats.ratings >= 1, "pulled rate events become ratings for training");
  assert.throws(() => run("publish", models, "--to", url, "--token", "wrong"), /401|unauthorized|token/);
});

test("marquee simulate: the world's users read served lists and their events reach the log", async () => {
  const url = mf.url.origin;
  const env = { ...process.env, MARQUEE_ADMIN_TOKEN: TOKEN };
  const bin = process.env.MARQUEE_BIN;
  const run = (...args) => execFileSync(bin, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  run("publish", models, "--to", url, "--activate");
  const logRows = async (since) =>
    (await (await admin(`/v1/admin/log?since=${since}&limit=10000`)).text())
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = await logRows(0);
  const cursor = before.length ? Math.max(...before.map((row) => row.seq)) : 0;

  const world = join(scratch, "world");
  const args = ["simulate", "--edge", url, "--world", world, "--requests", "50", "--users", "40", "--seed", "1", "--json"];
  const served = JSON.parse(run(...args));
  assert.equal(served.visits, 50);
  assert.equal(served.lists, 50, JSON.stringify(served));
  assert.equal(served.failed_requests, 0);
  assert.ok(served.clicked_lists > 0, JSON.stringify(served));
  assert.ok(served.events_stored > 0 && served.events_stored === served.events_sent, JSON.stringify(served));
  assert.equal(served.events_rejected, 0);
  assert.ok(served.reported_with_id > 0 && served.reported_without_id > 0, JSON.stringify(served));

  let rows = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    rows = await logRows(cursor);
    if (rows.filter((row) => row.kind === "impression").length >= 50) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const impressions = rows.filter((row) => row.kind === "impression");
  assert.equal(impressions.length, 50);
  const clicks = rows.filter((row) => row.kind === "click");
  assert.equal(clicks.length, served.reported_with_id);
  const ids = new Set(impressions.map((row) => row.id));
  assert.ok(clicks.every((row) => ids.has(row.ref)), "every click names a served list");
  const watches = rows.filter((row) => row.kind === "watch");
  assert.equal(watches.length, served.watch_minutes);
  assert.equal(rows.filter((row) => row.kind === "rate").length, served.ratings);
  assert.equal(rows.length - impressions.length, served.events_stored);

  // The report attributes every event of the run to the list it came from, by id or (for
  // stream lines) by time, and so agrees with what the simulator counted.
  const report = JSON.parse(run("report", "online", "--from", url, "--since", String(cursor), "--json"));
  assert.equal(report.impressions, 50);
  assert.deepEqual(
    { ...report.attribution },
    {
      events: served.events_stored,
      attributed: served.events_stored,
      by_ref: rows.filter((row) => row.kind !== "impression" && row.ref).length,
      unknown_impression: 0,
      no_list_in_window: 0,
      movie_not_listed: 0,
    },
  );
  const total = (field) => report.groups.reduce((sum, group) => sum + group[field], 0);
  assert.equal(total("lists"), served.lists);
  assert.equal(total("clicked_lists"), served.clicked_lists);
  assert.equal(total("watch_minutes"), served.watch_minutes);
  assert.equal(total("ratings"), served.ratings);
  const mrr = report.groups.reduce((sum, group) => sum + group.mrr * group.lists, 0) / served.lists;
  assert.ok(Math.abs(mrr - served.mrr) < 1e-9, `report MRR ${mrr} != simulated ${served.mrr}`);

  // The oracle ranks by true utility: on the same users and visits it is the ceiling, and it
  // sends nothing.
  const oracle = JSON.parse(run(...args, "--policy", "oracle"));
  assert.equal(oracle.lists, 50);
  assert.equal(oracle.events_sent, 0);
  assert.ok(oracle.click_rate >= served.click_rate, `oracle ${oracle.click_rate} < served ${served.click_rate}`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal((await logRows(cursor)).length, rows.length, "the oracle sent nothing to the edge");

  // It is fake traffic: a remote edge is refused.
  assert.throws(() => run("simulate", "--edge", "http://example.com", "--world", world), /loopback/);
});

test("marquee experiment: start, report per user with the decision, refuse an unfounded promotion, stop", async () => {
  const url = mf.url.origin;
  const env = { ...process.env, MARQUEE_ADMIN_TOKEN: TOKEN };
  const run = (...args) => execFileSync(process.env.MARQUEE_BIN, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  run("publish", models, "--to", url, "--activate");
  const db = join(scratch, "experiment.db");
  const cursor = JSON.parse(run("pull-events", "--from", url, "--db", db, "--json")).cursor;
  run("experiment", "start", "--to", url, "--challenger", manifest.version, "--share", "30", "--salt", "e2e");
  const experiment = await (await admin("/v1/admin/experiment")).json();
  assert.deepEqual(experiment.variants.map((v) => [v.name, v.version, v.weight]), [["control", null, 70], ["challenger", manifest.version, 30]]);

  const world = join(scratch, "world");
  const served = JSON.parse(run("simulate", "--edge", url, "--world", world, "--requests", "80", "--users", "60", "--seed", "9", "--json"));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const readout = JSON.parse(run("experiment", "report", "--from", url, "--since", String(cursor), "--min-users", "1000", "--json"));
  assert.deepEqual(readout.arms.map((arm) => arm.variant), ["control", "challenger"]);
  assert.equal(readout.arms.reduce((sum, arm) => sum + arm.lists, 0), 80);
  assert.equal(readout.arms.reduce((sum, arm) => sum + arm.clicked_lists, 0), served.clicked_lists);
  assert.equal(readout.challengers[0].decision.decision, "keep_running", JSON.stringify(readout.challengers[0].decision));
  assert.match(readout.challengers[0].decision.reason, /fewer than the 1000 required/);
  assert.ok(readout.sample_ratio.p_value > 0 && readout.sample_ratio.p_value <= 1);
  // The same readout from the pulled store, given the experiment.
  run("pull-events", "--from", url, "--db", db);
  const file = join(scratch, "experiment.json");
  writeFileSync(file, JSON.stringify(experiment));
  const fromStore = JSON.parse(run("experiment", "report", "--db", db, "--since", String(cursor), "--experiment", file, "--min-users", "1000", "--json"));
  assert.deepEqual(fromStore.arms, readout.arms);

  assert.throws(() => run("experiment", "promote", "--to", url, "--since", String(cursor), "--min-users", "1000"), /does not say promote/);
  run("experiment", "stop", "--to", url);
  const stopped = await (await admin("/v1/admin/experiment")).json();
  assert.deepEqual(stopped.variants.map((v) => v.name), ["control"]);
});

test("marquee loop: a round retrains, challenges the active model, simulates a day and acts on the readout", async () => {
  const url = mf.url.origin;
  const env = { ...process.env, MARQUEE_ADMIN_TOKEN: TOKEN };
  const run = (...args) => execFileSync(process.env.MARQUEE_BIN, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  const out = join(scratch, "loop");
  const world = join(scratch, "world");
  const looped = spawnSync(
    process.env.MARQUEE_BIN,
    ["loop", "--edge", url, "--world", world, "--rounds", "2", "--users", "100", "--requests", "120", "--min-users", "10", "--seed", "4", "--out", out],
    { encoding: "utf8", env },
  );
  assert.equal(looped.status, 0, looped.stderr);
  // The loop hands its child processes the token through their environment: none is warned
  // about a token in its argv, and the token never appears in what the loop prints.
  assert.ok(!looped.stderr.includes("--token puts the admin token"), looped.stderr);
  assert.ok(!looped.stderr.includes(TOKEN) && !looped.stdout.includes(TOKEN));
  const rounds = JSON.parse(readFileSync(join(out, "loop.json"), "utf8"));
  assert.equal(rounds.length, 2);
  const [round, second] = rounds;
  // From the second round, the loop's drift report against the first is published to the edge.
  assert.equal(round.drift_share, null);
  assert.ok(second.drift_share >= 0 && second.drift_share <= 1, JSON.stringify(second));
  const published = await (await admin("/v1/admin/monitor/drift")).json();
  assert.equal(published.report.share_drifted, second.drift_share);
  assert.equal(published.report.dataset_drifted, second.dataset_drifted);
  assert.equal(round.lists, 120, JSON.stringify(round));
  assert.ok(round.click_rate > 0 && round.oracle_click_rate >= round.click_rate, JSON.stringify(round));
  assert.ok(["promote", "roll_back", "keep_running"].includes(round.decision), round.decision);
  assert.equal(round.active_after, round.decision === "promote" ? round.challenger_version : round.control_version);
  const health = await (await mf.dispatchFetch(`${base}/healthz`)).json();
  assert.equal(health.active_version, second.active_after);
  const experiment = await (await admin("/v1/admin/experiment")).json();
  assert.equal(experiment.variants.length, 1, "the round's experiment has ended");
  assert.equal(readFileSync(join(out, "loop.csv"), "utf8").trim().split("\n").length, 3);
  const svg = readFileSync(join(out, "loop.svg"), "utf8");
  assert.ok(svg.startsWith("<svg") && svg.includes("<polyline"), svg.slice(0, 200));
});

test("marquee experiment --interleave: every user sees a team draft of both versions, and clicks credit a team", async () => {
  const url = mf.url.origin;
  const env = { ...process.env, MARQUEE_ADMIN_TOKEN: TOKEN };
  const run = (...args) => execFileSync(process.env.MARQUEE_BIN, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  const world = join(scratch, "world");
  const weak = join(scratch, "models-popular");
  const challenger = JSON.parse(run("train", "--data", world, "--out", weak, "--shards", "3", "--factors", "8", "--candidates", "popular", "--json"));
  run("publish", models, "--to", url, "--activate");
  run("publish", weak, "--to", url);
  const db = join(scratch, "interleave.db");
  const cursor = JSON.parse(run("pull-events", "--from", url, "--db", db, "--from-end", "--json")).cursor;
  run("experiment", "start", "--to", url, "--challenger", challenger.version, "--interleave");

  const list = await (await mf.dispatchFetch(`${base}/v1/recommend/5?n=20`)).json();
  assert.equal(list.variant, "interleave");
  assert.equal(list.model_version, `${manifest.version}+${challenger.version}`);
  assert.match(list.teams, /^[AB]{20}$/);

  const served = JSON.parse(run("simulate", "--edge", url, "--world", world, "--requests", "60", "--users", "50", "--seed", "11", "--json"));
  assert.equal(served.events_rejected, 0);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const report = JSON.parse(run("experiment", "report", "--from", url, "--since", String(cursor), "--json"));
  assert.equal(report.mode, "interleave");
  const readout = report.interleaving;
  assert.ok(readout.users > 0, JSON.stringify(readout));
  assert.equal(readout.users_preferring_a + readout.users_preferring_b + readout.users_tied, readout.users);
  assert.ok(readout.users_preferring_a + readout.users_preferring_b > 0, "some clicks credit a team");
  assert.throws(() => run("experiment", "promote", "--to", url, "--since", String(cursor), "--alpha", "0.000001"), /does not prefer the challenger/);
  run("experiment", "stop", "--to", url);
  assert.equal((await (await mf.dispatchFetch(`${base}/v1/recommend/5?n=20`)).json()).variant, "control");
});
