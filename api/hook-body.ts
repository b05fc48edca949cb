/**
 * A delivery's raw body, read up to its trigger's limit: the bytes as sent are what the signature
 * covers (no parsing, no re-encoding). A larger body is refused (413) without being read to its end.
 */
import { ApiError } from './errors.js';

export async function readBodyUpTo(request: Request, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `the delivery's body is larger than this trigger's maximum ${maxBytes} bytes`, { maximum: maxBytes });
}
