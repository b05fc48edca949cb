/** The CLI's HTTP client of the warmbox API: the same REST calls any other program makes. */
import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string = process.env.WARMBOX_URL ?? DEFAULT_URL,
    /** Sent as the bearer of every request (README "Tenants and keys"): WARMBOX_API_KEY, or --api-key (cli/main.ts). */
    private readonly apiKey: string | undefined = process.env.WARMBOX_API_KEY || undefined,
  ) {}

  /** The Authorization header, when there is a key. */
  authHeaders(): Record<string, string> {
    return !this.apiKey ? {} : { authorization: `Bearer ${this.apiKey}` };
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
  }

  /** Server-sent events of a path, parsed. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<EventSourceMessage> {
    const res = await this.fetch(path, { headers: { accept: 'text/event-stream' }, signal });
    if (!res.ok || !res.body) throw new ApiError(res.status, 'http_error', `GET ${path}: HTTP ${res.status}`);
    const stream = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
    for await (const message of stream as unknown as AsyncIterable<EventSourceMessage>) yield message;
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(new URL(path, this.baseUrl), { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...this.authHeaders() } });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ApiError(0, 'unreachable', `cannot reach the warmbox server at ${this.baseUrl} (${cause}): is \`warmbox server\` running? (set WARMBOX_URL or --url)`);
    }
  }
}
