// Runs the built Worker (worker/pkg, made by `cargo xtask test`) inside workerd through
// Miniflare, and checks the answers a client gets over HTTP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./miniflare.mjs";

let mf;

before(async () => {
  mf = await startWorker("entry.mjs", { POPULAR_MOVIES: "the+shawshank+redemption+1994,monsters_+inc.+2001" });
});

after(async () => {
  await mf?.dispose();
});

test("GET /recommend/<user> answers the fallback list as text/plain", async () => {
  const response = await mf.dispatchFetch("http://localhost/recommend/42");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^text\/plain/);
  assert.equal(response.headers.get("x-marquee-fallback"), "popularity");
  assert.equal(await response.text(), "the+shawshank+redemption+1994,monsters_+inc.+2001");
});

test("a malformed user id gets 400 with a one-line reason", async () => {
  const response = await mf.dispatchFetch("http://localhost/recommend/not-a-number");
  assert.equal(response.status, 400);
  const body = await response.text();
  assert.match(body, /malformed user id/);
  assert.ok(!body.includes("\n"));
});

test("GET /healthz reports JSON", async () => {
  const response = await mf.dispatchFetch("http://localhost/healthz");
  assert.equal(response.status, 200);
  const health = await response.json();
  assert.equal(health.status, "ok");
  assert.equal(health.fallback_movies, 2);
});
