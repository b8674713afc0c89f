// bench/worker_serving.mjs (the CPU figures of `marquee bench edge`) runs the shipped wasm
// against in-memory stand-ins for R2 and D1. This runs it on the admin UI's tiny model, so a
// stand-in that falls behind what the Worker reads from storage fails here, not in a bench.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("the serving benchmark times cold and warm requests of published users on the shipped wasm", () => {
  const scratch = mkdtempSync(join(tmpdir(), "serving-bench-"));
  try {
    const plan = join(scratch, "plan.json");
    // Users with a profile in the tiny model (its world's active users).
    writeFileSync(plan, JSON.stringify({ version: "bench", warmup_users: [2, 5], timed_users: [9, 10, 14], warm_repeats: 2 }));
    const run = spawnSync(
      "node",
      [join(root, "bench/worker_serving.mjs"), join(root, "worker/pkg"), join(root, "web/tests/fixtures/tiny-model"), plan],
      { encoding: "utf8" },
    );
    assert.equal(run.status, 0, run.stderr);
    const figures = JSON.parse(run.stdout);
    assert.equal(figures.threads, 1);
    assert.equal(figures.cold_shard.count, 3);
    assert.equal(figures.warm_shard.count, 6);
    assert.equal(figures.cold_shard_cpu.count, 3);
    assert.equal(figures.profiles_found, 3, "the timed users' own profiles are served");
    assert.ok(figures.write_batches > 0, "the impressions' writes went through the D1 stand-in");
    assert.ok(figures.warm_shard.p50_us > 0 && Number.isFinite(figures.warm_shard.p99_us));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
