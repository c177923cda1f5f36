/**
 * Bundles the handler into one CommonJS file for the Lambda (Node.js 22). Called at synth time, so
 * it is synchronous and deterministic: the same sources give the same bytes, and the asset hash
 * only changes when the code does.
 */
import { buildSync } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const HANDLER_ENTRY = path.join(PROJECT_ROOT, 'handlers', 'log-rescue', 'index.ts');

export function bundleHandler(outFile: string): { bytes: number } {
  const result = buildSync({
    entryPoints: [HANDLER_ENTRY],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    // The SDK's ES module builds tree-shake to the few commands used; the CommonJS builds carry every command.
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent',
  });
  const [out] = result.outputFiles;
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, out.contents);
  return { bytes: out.contents.byteLength };
}
