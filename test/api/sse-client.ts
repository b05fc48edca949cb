/** Reads Server-Sent Events from a response body, as a client would. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
  /** A `:` comment line (keep-alive), when the message is only that. */
  comment?: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      yield parseBlock(block);
    }
  }
}

function parseBlock(block: string): SseMessage {
  const message: SseMessage = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) message.comment = line.slice(1).trim();
    else if (line.startsWith('event: ')) message.event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
    else if (line.startsWith('id: ')) message.id = line.slice(4);
  }
  message.data = data.join('\n');
  return message;
}

/** Every message until the stream ends (keep-alive comments left out). */
export async function collectSse(body: ReadableStream<Uint8Array>): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of readSse(body)) if (m.comment === undefined) out.push(m);
  return out;
}
