/**
 * Language presets from the configuration: WARMBOX_LANGUAGES_FILE names a JSON file holding an
 * array of presets (contract/languages.ts LanguagePreset), added to the built-in ones (an id of a
 * built-in one replaces it). Any image can be a language. Checked once at start, with messages that
 * name the file and the preset at fault.
 *
 *   [{ "id": "ruby", "name": "Ruby", "version": "3.1", "image": "ruby:3.1-slim",
 *      "sourceFile": "main.rb", "run": ["ruby", "main.rb"] }]
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { LanguagePreset } from '../contract/languages.js';

const argv = z.array(z.string().min(1)).min(1);

const presetSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._+-]{0,63}$/, 'must be lower-case letters, digits and . _ + -, at most 64'),
  name: z.string().min(1).max(128),
  version: z.string().max(128),
  image: z.string().min(1).max(512),
  sourceFile: z.string().regex(/^[^/\0]+$/, 'must be a file name, without /'),
  build: argv.optional(),
  run: argv,
  judge0Id: z.number().int().positive().optional(),
  aliases: z.array(z.string().min(1).max(64)).max(16).optional(),
});

export function languagesFromEnv(env: NodeJS.ProcessEnv = process.env): LanguagePreset[] {
  const file = env.WARMBOX_LANGUAGES_FILE;
  if (file === undefined || file === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`invalid configuration: WARMBOX_LANGUAGES_FILE=${JSON.stringify(file)}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = z.array(presetSchema).safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration: WARMBOX_LANGUAGES_FILE=${JSON.stringify(file)}: ${problems.join('; ')}`);
  }
  return parsed.data;
}
