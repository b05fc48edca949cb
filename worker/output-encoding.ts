/** Output is bytes: valid UTF-8 travels as text, anything else as base64 (DESIGN.md). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export interface EncodedBytes {
  text: string;
  encoding?: 'base64';
}

export function encodeBytes(bytes: Buffer): EncodedBytes {
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch {
    return { text: bytes.toString('base64'), encoding: 'base64' };
  }
}
