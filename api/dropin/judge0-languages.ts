/**
 * Judge0 CE's language ids for warmbox's language presets (contract/languages.ts): a Judge0 client
 * that sends `language_id: 71` runs warmbox's `python`. The ids are Judge0 CE's for the same
 * language; several of Judge0's versions of one language map to the one preset warmbox has. A
 * configured preset can name its own id (`judge0Id`).
 */
import type { LanguagePreset } from '../../contract/languages.js';

/** Judge0 CE id → warmbox preset id. The first id of each preset is the one GET /languages lists. */
const JUDGE0_IDS: ReadonlyArray<readonly [number, string]> = [
  [50, 'c'], // C (GCC 9.2.0)
  [48, 'c'], // C (GCC 7.4.0)
  [49, 'c'], // C (GCC 8.3.0)
  [54, 'cpp'], // C++ (GCC 9.2.0)
  [52, 'cpp'], // C++ (GCC 7.4.0)
  [53, 'cpp'], // C++ (GCC 8.3.0)
  [71, 'python'], // Python (3.8.1)
  [63, 'node'], // JavaScript (Node.js 12.14.0)
];

export interface Judge0Language {
  id: number;
  name: string;
  preset: LanguagePreset;
}

/** Every language a Judge0 client can name, listed ones first. */
export function judge0Languages(presets: readonly LanguagePreset[]): Judge0Language[] {
  const byPreset = new Map(presets.map((p) => [p.id, p]));
  const languages: Judge0Language[] = [];
  for (const preset of presets) {
    if (preset.judge0Id !== undefined) languages.push({ id: preset.judge0Id, name: preset.name, preset });
  }
  for (const [id, presetId] of JUDGE0_IDS) {
    const preset = byPreset.get(presetId);
    if (preset !== undefined && !languages.some((l) => l.id === id)) languages.push({ id, name: preset.name, preset });
  }
  return languages;
}

/** The listed languages: one id per preset (GET /languages), by id. */
export function listedJudge0Languages(languages: readonly Judge0Language[]): Judge0Language[] {
  const seen = new Set<string>();
  return languages.filter((l) => !seen.has(l.preset.id) && seen.add(l.preset.id)).sort((a, b) => a.id - b.id);
}
