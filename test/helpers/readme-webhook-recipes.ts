/**
 * The signature checks README.md's "Webhooks" section gives receivers, run as written there: the
 * first ```js and ```python blocks of the section are taken out of the README and executed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../contract/paths.js';

function section(): string {
  const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Webhooks\n');
  if (start < 0) throw new Error('README.md has no "## Webhooks" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

function block(lang: string): string {
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section());
  if (!m) throw new Error(`README.md's Webhooks section has no \`\`\`${lang} block`);
  return m[1]!;
}

export type Verify = (rawBody: string, header: string, secret: string) => boolean;

/** The README's verifyWarmbox, imported from a module holding exactly its text. */
export async function readmeJsVerify(): Promise<Verify> {
  const dir = mkdtempSync(join(tmpdir(), 'warmbox-recipe-'));
  const file = join(dir, 'verify.mjs');
  writeFileSync(file, `${block('js')}\nexport { verifyWarmbox };\n`);
  try {
    const mod = (await import(pathToFileURL(file).href)) as { verifyWarmbox: Verify };
    return mod.verifyWarmbox;
  } finally {
    rmSync(dir, { recursive: true, force: true }); // once imported, the module no longer needs its file
  }
}

/**
 * The README's verify_warmbox, run by python3 on the body (stdin), header and secret. Asynchronous:
 * blocking the test's event loop would let its idle keep-alive connections go stale under it.
 */
export async function readmePythonVerify(rawBody: string, header: string, secret: string): Promise<boolean> {
  const script = `${block('python')}\nimport sys\nprint(verify_warmbox(sys.stdin.buffer.read(), sys.argv[1], sys.argv[2]))\n`;
  const child = spawn('python3', ['-c', script, header, secret], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(rawBody);
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`python3 failed (${code}): ${stderr}`);
  return stdout.trim() === 'True';
}
