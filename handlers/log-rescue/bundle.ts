/**
 * Bundles the handler into one CommonJS file for the Lambda (Node.js 22). Called at synth time, so
 * it is synchronous and deterministic: the same sources give the same bytes, and the asset hash
 * only changes when the code does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const HANDLER_ENTRY = path.join(PROJECT_ROOT, 'handlers', 'log-rescue', 'index.ts');

/** The esbuild options, part of the handler asset's cache key. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  charset: 'utf8',
} as const;

export function bundleHandler(outFile: string): { bytes: number } {
  // Loaded here, not at the top: a synth that finds the bundle cached never pays for esbuild.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildSync } = require('esbuild') as typeof import('esbuild');
  const result = buildSync({
    ...BUNDLE_OPTIONS,
    entryPoints: [HANDLER_ENTRY],
    absWorkingDir: PROJECT_ROOT,
    // mainFields module-first: the SDK's ES module builds tree-shake to the few commands used; the
    // CommonJS builds carry every command.
    mainFields: [...BUNDLE_OPTIONS.mainFields],
    write: false,
    logLevel: 'silent',
  });
  const [out] = result.outputFiles;
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, out.contents);
  return { bytes: out.contents.byteLength };
}
