/**
 * A precompiled variant of the app for the benchmark: the same sources transpiled to CommonJS with
 * esbuild (no type checking), run by plain `node main.js` with no TypeScript loader, to show what
 * the loader costs. Generated into a temp directory (see copyAppSources); never touches our files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { transformSync } from 'esbuild';
import { appSourceFiles, copyAppSources } from './barrel';

/** Copy the sources (the .ts files stay: the handler is bundled from them at synth) and add a .js next to each. */
export function generateCompiledVariant(projectRoot: string, outDir: string): { dir: string; files: number } {
  copyAppSources(projectRoot, outDir);
  // The project's compiler options (target, class fields), as tsx applies them.
  const tsconfigRaw = readFileSync(path.join(projectRoot, 'tsconfig.json'), 'utf8');
  let files = 0;
  for (const file of appSourceFiles(outDir)) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const { code } = transformSync(readFileSync(file, 'utf8'), {
      loader: 'ts', format: 'cjs', platform: 'node', target: 'node20', sourcefile: file, logLevel: 'silent', tsconfigRaw,
    });
    writeFileSync(file.replace(/\.ts$/, '.js'), code);
    files += 1;
  }
  return { dir: outDir, files };
}
