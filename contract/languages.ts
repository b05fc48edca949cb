/**
 * Language presets of judge runs (GET /v1/languages): an image, the source file's name, an
 * optional build command and the run command. Any image can be a language: the configuration adds
 * presets or replaces these (WARMBOX_LANGUAGES_FILE, a JSON array of LanguagePreset). The built-in
 * ones run in the recipe images (infra/images/*, `warmbox image build <name>`), which share one
 * Debian base layer.
 */

export interface LanguagePreset {
  /** What a judge request names: `c`, `cpp`, `python`. */
  id: string;
  name: string;
  /** The compiler's or interpreter's version as the image provides it (informative). */
  version: string;
  image: string;
  /** The file the solution's source is written to, in the working directory. */
  sourceFile: string;
  /** argv of the build, run once; absent: no build (the source runs as it is). */
  build?: string[];
  /** argv of each test's run. */
  run: string[];
  /** The id Judge0 clients name this language by (api/dropin/judge0-languages.ts has the built-in ones). */
  judge0Id?: number;
  /** Other names Piston clients may use (`py` for python), beside `id`. */
  aliases?: string[];
}

export const BUILTIN_LANGUAGES: readonly LanguagePreset[] = [
  {
    id: 'c',
    aliases: ['gcc'],
    name: 'C (GCC, C17)',
    version: "Debian's gcc",
    image: 'gcc',
    sourceFile: 'main.c',
    build: ['gcc', '-std=gnu17', '-O2', '-pipe', '-static', '-s', '-o', 'main', 'main.c', '-lm'],
    run: ['./main'],
  },
  {
    id: 'cpp',
    aliases: ['c++', 'g++'],
    name: 'C++ (G++, C++17)',
    version: "Debian's g++",
    image: 'gcc',
    sourceFile: 'main.cpp',
    build: ['g++', '-std=gnu++17', '-O2', '-pipe', '-static', '-s', '-o', 'main', 'main.cpp'],
    run: ['./main'],
  },
  {
    id: 'python',
    aliases: ['py', 'python3'],
    name: 'Python 3',
    version: "Debian's python3",
    image: 'python',
    sourceFile: 'main.py',
    run: ['python3', 'main.py'],
  },
  {
    id: 'node',
    aliases: ['js', 'javascript', 'node-js'],
    name: 'JavaScript (Node.js)',
    version: "Debian's nodejs",
    image: 'node',
    sourceFile: 'main.js',
    run: ['node', 'main.js'],
  },
  {
    id: 'sh',
    aliases: ['shell'],
    name: 'POSIX shell (busybox)',
    version: 'busybox',
    image: 'busybox',
    sourceFile: 'main.sh',
    run: ['sh', 'main.sh'],
  },
];

/** The built-in presets with the configured ones added (a configured id replaces a built-in one). */
export function mergeLanguages(configured: readonly LanguagePreset[] = []): LanguagePreset[] {
  const byId = new Map(BUILTIN_LANGUAGES.map((l) => [l.id, l]));
  for (const l of configured) byId.set(l.id, l);
  return [...byId.values()];
}
