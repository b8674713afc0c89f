// The committed parity fixture predicts bit-identically inside workerd (see
// tests/cross_runtime_parity.rs for the native side and web/tests for Chromium).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startWorker } from "./miniflare.mjs";

const fixture = (name) => readFileSync(fileURLToPath(new URL(`../../tests/fixtures/parity/${name}`, import.meta.url)));
let mf;

before(async () => {
  mf = await startWorker("tests/parity-worker.mjs");
});

after(async () => {
  await mf?.dispose();
});

test("the committed blob predicts the committed bits in workerd", async () => {
  // The body: the blob's length (u32, little-endian), the blob, then the rows.
  const blob = fixture("model.blob");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(blob.length);
  const body = Buffer.concat([length, blob, fixture("rows.f32")]);
  const response = await mf.dispatchFetch("http://localhost/", { method: "POST", body });
  assert.equal(response.status, 200, response.status === 200 ? "" : await response.text());
  const got = new Uint32Array(await response.arrayBuffer());
  const expectedBytes = fixture("expected.f32");
  const expected = new Uint32Array(expectedBytes.buffer, expectedBytes.byteOffset, expectedBytes.byteLength / 4);
  assert.equal(got.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(got[i], expected[i], `row ${i}: bits ${got[i].toString(16)} != ${expected[i].toString(16)}`);
  }
});
