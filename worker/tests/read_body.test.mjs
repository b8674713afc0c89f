// entry.mjs's body reader, in Node: it stops pulling a body as soon as it passes the limit
// and refuses a declared oversize body without reading a byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readAtMost } from "../read_body.mjs";

// A body that never ends, counting what was pulled from it.
function endless() {
  const counter = { pulled: 0 };
  const stream = new ReadableStream({
    pull(controller) {
      counter.pulled += 64 << 10;
      controller.enqueue(new Uint8Array(64 << 10).fill(120));
    },
  });
  return { stream, counter };
}

test("an endless body is refused once it passes the limit, the rest never pulled", async () => {
  const { stream, counter } = endless();
  assert.equal(await readAtMost(stream, 1 << 20, null), null);
  // The limit plus at most the chunk that crossed it and the stream's one-chunk read-ahead.
  assert.ok(counter.pulled <= (1 << 20) + 3 * (64 << 10), `${counter.pulled} bytes pulled`);
});

test("a declared oversize body is refused before a byte is read", async () => {
  const { stream, counter } = endless();
  assert.equal(await readAtMost(stream, 1 << 20, String(50 << 20)), null);
  assert.ok(counter.pulled <= 64 << 10, `${counter.pulled} bytes pulled`);
});

test("a body within the limit arrives whole, in order", async () => {
  const parts = [new Uint8Array([1, 2, 3]), new Uint8Array([4]), new Uint8Array([5, 6])];
  const stream = new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
  assert.deepEqual(await readAtMost(stream, 6, "6"), new Uint8Array([1, 2, 3, 4, 5, 6]));
  assert.deepEqual(await readAtMost(null, 10, null), new Uint8Array(0));
  const exact = new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array(7)), c.close()) });
  assert.equal(await readAtMost(exact, 6, null), null, "one byte over is over");
});
