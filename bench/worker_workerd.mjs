// Runs the built Worker (worker/entry.mjs with worker/pkg) in workerd through Miniflare, for
// `marquee bench edge`'s end-to-end latency: clients talk to workerd's own socket, with no
// `wrangler dev` proxy in between. R2 and D1 are Miniflare's local ones (inside workerd), the
// D1 migrations applied.
//   node bench/worker_workerd.mjs ADMIN_TOKEN
// Prints {"url": ...} once workerd answers, and stops workerd when stdin closes.
import { startWorker } from "../worker/tests/miniflare.mjs";

const token = process.argv[2];
if (!token) {
  console.error("usage: node bench/worker_workerd.mjs ADMIN_TOKEN");
  process.exit(2);
}
const mf = await startWorker("entry.mjs", { ADMIN_TOKEN: token });
console.log(JSON.stringify({ url: mf.url.toString() }));
process.stdin.resume();
process.stdin.on("end", async () => {
  await mf.dispose();
  process.exit(0);
});
