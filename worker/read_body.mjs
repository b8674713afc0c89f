// Reads a request's body up to a limit, for entry.mjs: null as soon as it passes `limit`
// bytes (and the rest is never pulled), so an isolate never copies in more than a handler
// accepts. Kept apart from entry.mjs so Node can test it without the wasm.

// The body, or null once it passes `limit` bytes; `contentLength` (the header, if any)
// refuses a declared oversize body before a byte is read.
export async function readAtMost(body, limit, contentLength) {
  const declared = Number(contentLength);
  if (contentLength != null && contentLength !== "" && Number.isFinite(declared) && declared > limit) return null;
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}
