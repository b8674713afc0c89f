// The Worker's CPU per `GET /recommend/<user>`, timed in Node with performance.now() around
// the shipped wasm's own `handle` export (worker/pkg, the build workerd runs; Node runs it in
// V8, as workerd does). Inside workerd the clock does not advance during CPU work, so the
// Worker cannot time itself; here it can. `marquee bench edge` writes the model and runs:
//   node bench/worker_serving.mjs PKG_DIR MODEL_DIR PLAN.json
// MODEL_DIR holds recommender.blob and profiles/NNNNN.blob; PLAN.json is
//   {"version": "bench", "warmup_users": [...], "timed_users": [...], "warm_repeats": 5}
// with every timed user in a shard no earlier request touched.
//
// Storage is in memory: R2's `get` resolves at once with the blob, D1 answers the settings
// query (the active version) and takes every write. So each figure is the Worker's own CPU
// on one thread: routing, settings, the model and profile cache, the shard's copy into wasm
// memory and its decoding (cold), the profile lookup, retrieval, ranking and reranking, the
// response and the impression's and counters' statements prepared for ctx.waitUntil (the
// stand-in's batch resolves at once). It excludes R2 and D1 latency and workerd's HTTP
// handling (`marquee bench edge` measures those end to end, against workerd).
//
// Two clocks per request: performance.now() (wall time, which on a busy machine also counts
// time the thread waited for a core) and process.cpuUsage() (user + system CPU time of the
// whole Node process, V8's background threads included; it does not count waiting).
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";

const [pkgArg, modelDir, planPath] = process.argv.slice(2);
if (!modelDir || !planPath) {
  console.error("usage: node bench/worker_serving.mjs PKG_DIR MODEL_DIR PLAN.json");
  process.exit(2);
}
const pkg = resolve(pkgArg);
const { initSync, handle } = await import(pathToFileURL(join(pkg, "marquee_worker.js")).href);
initSync({ module: new WebAssembly.Module(readFileSync(join(pkg, "marquee_worker_bg.wasm"))) });

const plan = JSON.parse(readFileSync(planPath, "utf8"));
const version = plan.version;
const token = "bench-serving-token";

// R2 in memory, keyed as the Worker keys its blobs (models.rs: recommender_key, shard_key).
const blobs = new Map();
blobs.set(`models/${version}/recommender.blob`, new Uint8Array(readFileSync(join(modelDir, "recommender.blob"))));
for (const name of readdirSync(join(modelDir, "profiles"))) {
  blobs.set(`models/${version}/profiles/${name}`, new Uint8Array(readFileSync(join(modelDir, "profiles", name))));
}
let blobReads = 0;
const MODELS = {
  get(key) {
    const bytes = blobs.get(key);
    if (bytes) blobReads += 1;
    return Promise.resolve(bytes ? { arrayBuffer: () => Promise.resolve(bytes.buffer) } : null);
  },
  put() {
    return Promise.reject(new Error("the serving benchmark writes no blobs"));
  },
};

// D1 in memory: the settings say which version is active; every other query finds nothing.
let batches = 0;
function statement(sql, params = []) {
  return {
    sql,
    params,
    bind: (...values) => statement(sql, values),
    all: () =>
      Promise.resolve({
        results: sql.startsWith("SELECT key, value FROM settings") ? [{ key: "active_version", value: version }] : [],
      }),
  };
}
const DB = {
  prepare: (sql) => statement(sql),
  batch: (statements) => {
    batches += 1;
    // Each of the Worker's writes changes one row, and it reads `meta.changes` (as D1 reports it).
    return Promise.resolve(statements.map(() => ({ results: [], meta: { changes: 1 } })));
  },
};
const env = { MODELS, DB, ADMIN_TOKEN: token };
const pending = [];
const ctx = { waitUntil: (promise) => pending.push(promise) };
const headers = [
  ["accept", "*/*"],
  ["host", "127.0.0.1"],
  ["user-agent", "marquee-bench"],
];
const noBody = new Uint8Array(0);
const decoder = new TextDecoder();

// Lets work queued for after the response run outside the timer.
const settle = () => new Promise((done) => setImmediate(done));

// One `/recommend/<user>`: its wall and CPU time in µs, checked to be served by the
// benchmark's version.
async function timed(user) {
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const answer = await handle("GET", `/recommend/${user}`, "", headers, noBody, env, ctx);
  const micros = (performance.now() - started) * 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMicros = cpu.user + cpu.system;
  const header = (name) => answer.headers.find(([key]) => key === name)?.[1];
  if (answer.status !== 200 || header("x-marquee-model-version") !== version || header("x-marquee-fallback")) {
    throw new Error(
      `user ${user}: status ${answer.status}, version ${header("x-marquee-model-version")}, fallback ${header("x-marquee-fallback")}`,
    );
  }
  await settle();
  return { micros, cpuMicros };
}

// Whether the user's own published profile was found (the admin route says; untimed).
async function profileFound(user) {
  const auth = [...headers, ["authorization", `Bearer ${token}`]];
  const answer = await handle("GET", `/v1/admin/recommend/${user}`, "", auth, noBody, env, ctx);
  await settle();
  return answer.status === 200 && JSON.parse(decoder.decode(answer.body)).profile_found === true;
}

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.round((sorted.length - 1) * p)];
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { count: sorted.length, p50_us: at(0.5), p99_us: at(0.99), max_us: sorted[sorted.length - 1], mean_us: mean };
}

// The isolate's first request: the recommender fetched and decoded, and the user's shard.
const firstRequestUs = (await timed(plan.warmup_users[0])).micros;
// Warm-up, so V8's optimising tier has compiled the hot wasm before anything is recorded.
for (const user of plan.warmup_users) {
  for (let i = 0; i < 3; i++) await timed(user);
}
const cold = [];
const warm = [];
for (const user of plan.timed_users) {
  cold.push(await timed(user));
  for (let i = 0; i < plan.warm_repeats; i++) warm.push(await timed(user));
}
const wall = (samples) => summary(samples.map((sample) => sample.micros));
const cpu = (samples) => summary(samples.map((sample) => sample.cpuMicros));
let found = 0;
for (const user of plan.timed_users) found += (await profileFound(user)) ? 1 : 0;
await Promise.all(pending);

console.log(
  JSON.stringify({
    node: process.version,
    v8: process.versions.v8,
    threads: 1,
    first_request_us: firstRequestUs,
    warmup_requests: plan.warmup_users.length * 3 + 1,
    cold_shard: wall(cold),
    warm_shard: wall(warm),
    cold_shard_cpu: cpu(cold),
    warm_shard_cpu: cpu(warm),
    timed_users: plan.timed_users.length,
    profiles_found: found,
    blob_reads: blobReads,
    write_batches: batches,
  }),
);
