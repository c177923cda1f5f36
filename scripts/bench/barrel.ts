/**
 * The "barrel" variant of the app for the benchmark: the same sources, with every deep provider
 * import (`@cdktf/provider-aws/lib/<x>`) rewritten to go through the package root, which is what
 * DESIGN.md tells us not to do. Generated into a temp directory; the project's files are never touched.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const PROVIDER_PACKAGE = '@cdktf/provider-aws';
const DEEP_PREFIX = `${PROVIDER_PACKAGE}/lib/`;
/** What the barrel variant is built from: everything main.ts reaches. */
/** What the app needs at synth: its sources, and the lockfile (part of the handler bundle's cache key). */
export const VARIANT_SOURCES = ['main.ts', 'runtime.ts', 'app.ts', 'config', 'stacks', 'modules', 'handlers', 'package-lock.json', 'scripts/ts-hook.cjs'] as const;
const NS_BASE = '__providerAws';

/** `lib/<dir>` -> the namespace the package root exports it as, read from the package's own index.d.ts. */
export function parseBarrelNamespaces(indexDts: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const m of indexDts.matchAll(/export\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s+['"]\.\/([^'"]+)['"]/g)) {
    map.set(m[2].replace(/\/index(\.js)?$/, ''), m[1]);
  }
  if (map.size === 0) throw new Error(`no 'export * as <name> from './<dir>'' lines found in ${PROVIDER_PACKAGE}/lib/index.d.ts`);
  return map;
}

export function loadBarrelNamespaces(projectRoot: string): Map<string, string> {
  const file = path.join(projectRoot, 'node_modules', PROVIDER_PACKAGE, 'lib', 'index.d.ts');
  return parseBarrelNamespaces(readFileSync(file, 'utf8'));
}

export interface RewriteResult {
  readonly code: string;
  /** Deep import statements rewritten. */
  readonly statements: number;
}

const IMPORT_RE = new RegExp(
  String.raw`^([ \t]*)import\s+(type\s+)?(?:(\{[^}]*\})|\*\s+as\s+([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*))\s+from\s+(['"])` +
  DEEP_PREFIX.replace(/[/.@-]/g, (c) => `\\${c}`) + String.raw`([^'"]+)\6[ \t]*;?`,
  'gm',
);

/**
 * Rewrite every `import ... from '@cdktf/provider-aws/lib/<x>'` to one
 * `import * as __providerAws from '@cdktf/provider-aws'` plus an import alias per binding
 * (`import S3Bucket = __providerAws.s3Bucket.S3Bucket;`), which keeps each name usable as a value
 * and as a type, so the rest of the file is unchanged. Throws on forms it cannot rewrite, and if
 * any deep path is left afterwards.
 */
export function rewriteToBarrel(source: string, namespaces: Map<string, string>, fileName = '(source)'): RewriteResult {
  let ns = NS_BASE;
  for (let i = 2; new RegExp(`\\b${ns.replace(/\$/g, '\\$')}\\b`).test(source); i++) ns = `${NS_BASE}${i}`;
  let statements = 0;
  const code = source.replace(IMPORT_RE, (_all, indent: string, _typeOnly, named: string | undefined, star: string | undefined, deflt: string | undefined, _q, sub: string) => {
    const dir = sub.replace(/\/index(\.js)?$/, '');
    const member = namespaces.get(dir);
    if (!member) throw new Error(`${fileName}: '${DEEP_PREFIX}${sub}' is not a namespace the package root exports`);
    if (deflt) throw new Error(`${fileName}: default import '${deflt}' from '${DEEP_PREFIX}${sub}' cannot be rewritten`);
    const lines: string[] = [];
    if (statements === 0) lines.push(`import * as ${ns} from '${PROVIDER_PACKAGE}';`);
    statements += 1;
    if (star) {
      lines.push(`import ${star} = ${ns}.${member};`);
    } else {
      const specs = named!.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean);
      for (const spec of specs) {
        const m = /^(?:type\s+)?([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/.exec(spec);
        if (!m) throw new Error(`${fileName}: cannot parse import specifier '${spec}' from '${DEEP_PREFIX}${sub}'`);
        lines.push(`import ${m[2] ?? m[1]} = ${ns}.${member}.${m[1]};`);
      }
    }
    return lines.map((l) => indent + l).join('\n');
  });
  assertNoDeepImports(code, fileName);
  return { code, statements };
}

/** Throws if the code still mentions a deep provider path (an import, require, export-from or dynamic import). */
export function assertNoDeepImports(code: string, fileName = '(source)'): void {
  const i = code.indexOf(DEEP_PREFIX);
  if (i >= 0) {
    const line = code.slice(0, i).split('\n').length;
    throw new Error(`${fileName}:${line}: a deep '${DEEP_PREFIX}' path is left that the barrel rewrite does not handle`);
  }
}

/** Module specifiers of every static import/export-from in the code. */
export function importSpecifiers(code: string): string[] {
  return [...code.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
}

export function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/**
 * A runnable copy of the app in `outDir` (outside the project): the sources main.ts reaches, the
 * project's tsconfig.json (so tsx compiles with the same options), and a symlink to the project's
 * node_modules (so every package, and npx's local bin, resolves to the same files).
 */
export function copyAppSources(projectRoot: string, outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const entry of [...VARIANT_SOURCES, 'tsconfig.json']) {
    const src = path.join(projectRoot, entry);
    if (!existsSync(src)) throw new Error(`app copy: ${src} does not exist`);
    mkdirSync(path.dirname(path.join(outDir, entry)), { recursive: true });
    cpSync(src, path.join(outDir, entry), { recursive: true });
  }
  symlinkSync(path.join(projectRoot, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
}

/** Every file of the app's sources in a copy made by copyAppSources. */
export function appSourceFiles(dir: string): string[] {
  return VARIANT_SOURCES.flatMap((e) => {
    const p = path.join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

export interface VariantInfo {
  readonly dir: string;
  readonly files: number;
  readonly rewrittenFiles: number;
  readonly rewrittenStatements: number;
}

/** Copy the app (see copyAppSources) into `outDir` and rewrite its sources to barrel imports. */
export function generateBarrelVariant(projectRoot: string, outDir: string): VariantInfo {
  const namespaces = loadBarrelNamespaces(projectRoot);
  copyAppSources(projectRoot, outDir);
  let files = 0;
  let rewrittenFiles = 0;
  let rewrittenStatements = 0;
  for (const file of appSourceFiles(outDir)) {
    if (!/\.[cm]?tsx?$/.test(file) || file.endsWith('.d.ts')) continue;
    files += 1;
    const source = readFileSync(file, 'utf8');
    const { code, statements } = rewriteToBarrel(source, namespaces, path.relative(outDir, file));
    if (statements > 0) {
      writeFileSync(file, code);
      rewrittenFiles += 1;
      rewrittenStatements += statements;
    }
  }
  if (rewrittenStatements === 0) throw new Error('barrel variant: no deep provider import was found to rewrite; the comparison would be meaningless');
  return { dir: outDir, files, rewrittenFiles, rewrittenStatements };
}
