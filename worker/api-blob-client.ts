/**
 * A worker's HTTP client of the API's internal blob routes (api/routes/internal-blobs.ts): how a
 * worker on a host of its own fetches a blob it lacks and hands on one it made. Every request
 * carries the workers' token; a fetched blob is verified against its digest by the store it goes
 * into (blobs/blob-store.ts, snapshot store putBlob), never trusted.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export class ApiBlobError extends Error {
  override name = 'ApiBlobError';
  constructor(
    message: string,
    /** The API's status; undefined when it could not be reached. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** How long one request may wait for the API's answer to start (a body then streams for as long as it takes). */
const CONNECT_TIMEOUT_MS = 30_000;

export class ApiBlobClient {
  constructor(
    /** WARMBOX_API_URL, without a trailing slash. */
    readonly apiUrl: string,
    private readonly token: string,
  ) {}

  /** The blob's bytes, streamed; ApiBlobError when the API lacks it (404) or cannot be reached. */
  async open(digest: string): Promise<Readable> {
    const res = await this.request('GET', digest);
    if (res.status !== 200 || res.body === null) throw await failure(res, `fetching blob ${digest} from the API`);
    return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  }

  /** Whether the API's store holds the blob. */
  async has(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', digest);
    if (res.status === 404) return false;
    if (res.status !== 200) throw await failure(res, `asking the API for blob ${digest}`);
    return true;
  }

  /** Hands the blob to the API's store unless it holds it already; the API verifies the digest. */
  async put(digest: string, size: number, open: () => Readable): Promise<void> {
    if (await this.has(digest)) return;
    const res = await this.request('PUT', digest, { body: Readable.toWeb(open()) as ReadableStream, size });
    if (res.status !== 200 && res.status !== 201) throw await failure(res, `handing blob ${digest} to the API`);
    await res.body?.cancel();
  }

  private async request(method: 'GET' | 'HEAD' | 'PUT', digest: string, upload?: { body: ReadableStream; size: number }): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (upload) Object.assign(headers, { 'content-type': 'application/octet-stream', 'content-length': String(upload.size) });
    // Until the answer's head arrives; the body is then read for as long as it takes. An upload's
    // answer comes after its body, so it has no such bound.
    const abort = new AbortController();
    const timer = upload ? undefined : setTimeout(() => abort.abort(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    try {
      return await fetch(`${this.apiUrl}/internal/v1/blobs/${digest}`, { method, headers, signal: abort.signal, ...(upload && { body: upload.body, duplex: 'half' }) } as RequestInit);
    } catch (err) {
      throw new ApiBlobError(`the API at ${this.apiUrl} cannot be reached (WARMBOX_API_URL): ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function failure(res: Response, what: string): Promise<ApiBlobError> {
  const text = res.body === null ? '' : await res.text().catch(() => '');
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    // not JSON: the text as it is
  }
  return new ApiBlobError(`${what}: ${res.status} ${message}`.trim(), res.status);
}
