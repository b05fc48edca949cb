/**
 * The floors of the code base and what each may import (ARCHITECTURE.md explains why), checked
 * against every import of every TypeScript source: static, `export … from`, dynamic `import()` and
 * `import('…')` types alike. A floor not in FLOORS cannot be added without placing it here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

export interface FloorRule {
  /** Floors whose modules it may import (its own always). */
  imports: readonly string[];
  /** Floors it may import with `import type` only: erased from the build, so no runtime dependency. */
  typeImports?: readonly string[];
  /** npm packages it must not import (a package's subpaths included): what it must not know. */
  forbiddenPackages?: readonly string[];
}

/** Packages that speak to Redis, HTTP clients or the db. */
const REDIS = ['ioredis', 'bullmq'];
const HTTP = ['hono', '@hono/zod-openapi', '@hono/node-server'];
const DB = ['drizzle-orm', 'better-sqlite3'];

export const FLOORS: Readonly<Record<string, FloorRule>> = {
  contract: { imports: [], forbiddenPackages: [...REDIS, ...HTTP, ...DB] },
  queue: { imports: ['contract'], forbiddenPackages: [...HTTP, ...DB] },
  runtime: { imports: ['contract'], forbiddenPackages: [...REDIS, ...HTTP, ...DB] },
  images: { imports: ['contract'], forbiddenPackages: [...REDIS, ...HTTP, ...DB] },
  blobs: { imports: ['contract'], forbiddenPackages: [...REDIS, ...HTTP, ...DB] },
  db: { imports: ['contract'], forbiddenPackages: [...REDIS, ...HTTP] },
  api: { imports: ['contract', 'queue', 'db', 'blobs'] },
  worker: { imports: ['contract', 'queue', 'runtime', 'images', 'db', 'blobs'], forbiddenPackages: HTTP },
  server: { imports: ['contract', 'queue', 'runtime', 'images', 'db', 'blobs', 'api', 'worker'] },
  // `warmbox server` and `warmbox worker` start one in this process; every other command speaks HTTP.
  cli: { imports: ['contract', 'server'], typeImports: ['api'], forbiddenPackages: [...REDIS, ...DB] },
};

/** Top-level folders with TypeScript that no rule binds: tools and tests may use any floor. */
export const UNBOUND = ['test', 'bench'];
/** Never looked into. */
const SKIPPED = new Set(['node_modules', 'dist', '.git', 'native', 'k6']);

export interface ImportEdge {
  /** The importing file, relative to the root: 'api/deps.ts'. */
  from: string;
  specifier: string;
  /** True for `import type` / `export type … from` / `import('…')` in a type: erased at build. */
  typeOnly: boolean;
}

/** Every import of one source text. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      edges.push({ from: file, specifier: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly === true });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      edges.push({ from: file, specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      edges.push({ from: file, specifier: arg && ts.isStringLiteralLike(arg) ? arg.text : '<computed>', typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      edges.push({ from: file, specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The floor a root-relative path belongs to: its first segment. */
export function floorOf(path: string): string {
  return path.split('/')[0]!;
}

/** What is wrong with one import, or undefined when the rules allow it. */
export function violationOf(edge: ImportEdge): string | undefined {
  const floor = floorOf(edge.from);
  const rule = FLOORS[floor];
  if (rule === undefined) return UNBOUND.includes(floor) ? undefined : `${edge.from}: the folder ${floor}/ is in no floor of test/architecture/import-rules.ts`;
  if (edge.specifier === '<computed>') return `${edge.from}: an import() of a computed name cannot be checked`;
  if (!edge.specifier.startsWith('.')) return packageViolation(edge, floor, rule);
  const target = posix.normalize(posix.join(posix.dirname(edge.from), edge.specifier));
  const to = floorOf(target);
  if (to === floor || to === '..' || rule.imports.includes(to)) return undefined;
  if (edge.typeOnly && rule.typeImports?.includes(to)) return undefined;
  const typeNote = rule.typeImports?.includes(to) ? ` (${to}/ only with \`import type\`)` : '';
  return `${edge.from} imports ${target}: ${floor}/ may import ${allowed(rule)}${typeNote}`;
}

function packageViolation(edge: ImportEdge, floor: string, rule: FloorRule): string | undefined {
  if (edge.specifier.startsWith('node:')) return undefined;
  const parts = edge.specifier.split('/');
  const name = edge.specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  if (!rule.forbiddenPackages?.includes(name)) return undefined;
  return `${edge.from} imports the package ${name}, which ${floor}/ must not know`;
}

function allowed(rule: FloorRule): string {
  return rule.imports.length === 0 ? 'nothing of the project' : rule.imports.map((f) => `${f}/`).join(', ');
}

/** Every .ts source under the root's top-level folders, root-relative with '/' separators. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name) || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && dir !== root) out.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/** Every violation of the rules in the sources under root. */
export function violationsIn(root: string): string[] {
  return sourceFiles(root)
    .flatMap((file) => importsOf(file, readFileSync(join(root, file), 'utf8')))
    .map(violationOf)
    .filter((v): v is string => v !== undefined);
}
