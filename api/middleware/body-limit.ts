/** hono's bodyLimit, answering with the API's 413 error. */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../errors.js';

export function limitBodySize(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `request body is larger than the maximum ${maxBytes} bytes`, {
        maximum: maxBytes,
      });
    },
  });
}
