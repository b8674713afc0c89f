// The Worker's ES-module entry: hands each request, the bindings and ctx to Rust (which
// gives its deferred writes to ctx.waitUntil), and resets the instance after a trap so that
// one panic cannot poison the requests that follow.
//
// A body is read only up to the limit Rust gives for the route (bodyLimit: nothing for an
// unknown path, a method the route does not take, or an admin route without the token), and
// refused with 413 before reading when its content-length says it is larger, or as soon as
// a streamed body passes the limit: wasm memory never shrinks, so an isolate must never copy
// in more than a handler will accept.
import wasmModule from "./pkg/marquee_worker_bg.wasm";
import { initSync, handle, fallbackList, bodyLimit, tooLarge, __wbg_reset_state } from "./pkg/marquee_worker.js";
import { readAtMost } from "./read_body.mjs";

initSync({ module: wasmModule });

// The answer object Rust returns, as a Response (HEAD and 304 carry no body).
function respond(request, answer) {
  const headers = new Headers(answer.headers);
  headers.set("content-type", answer.contentType);
  const bodyless = request.method === "HEAD" || answer.status === 304;
  return new Response(bodyless ? null : answer.body, { status: answer.status, headers });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    try {
      let body = new Uint8Array(0);
      if (request.method !== "GET" && request.method !== "HEAD") {
        const limit = bodyLimit(request.method, url.pathname, request.headers.get("authorization") ?? undefined, env);
        if (limit > 0) {
          body = await readAtMost(request.body, limit, request.headers.get("content-length"));
          if (body === null) return respond(request, tooLarge(limit));
        }
      }
      const answer = await handle(request.method, url.pathname, url.search.slice(1), [...request.headers], body, env, ctx);
      return respond(request, answer);
    } catch (error) {
      // A Rust panic traps the instance: reset it and still answer the contract's way.
      __wbg_reset_state();
      console.error("worker trapped, instance reset:", error);
      if (!url.pathname.startsWith("/recommend/")) {
        return new Response("temporarily unavailable", {
          status: 503,
          headers: { "content-type": "text/plain; charset=utf-8", "x-marquee-fallback": "trap" },
        });
      }
      let list = "";
      try {
        list = fallbackList();
      } catch {
        list = (env.POPULAR_MOVIES ?? "").split(",").map((id) => id.trim()).filter(Boolean).slice(0, 20).join(",");
      }
      return new Response(list, {
        status: 200,
        headers: { "content-type": "text/plain; charset=utf-8", "x-marquee-fallback": "trap" },
      });
    }
  },
};
