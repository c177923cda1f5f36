/**
 * The app's TypeScript loader: a CommonJS require hook (`node --require ./scripts/ts-hook.cjs
 * main.ts`, the app command in cdktf.json, and `npm run synth`). esbuild transforms each of the
 * project's .ts files with the project's tsconfig (as tsx does), and the JavaScript is cached in
 * node_modules/.cache/logrescue-ts, keyed by the file's path and content, esbuild's version and the
 * tsconfig: a synth whose sources did not change loads plain JavaScript and never loads esbuild.
 * Why not tsx: its ESM loader, source-map support and CLI cost about a third of a synth
 * (`npm run bench`, synth_app_s against precompiled_js). Type checking is `tsc` (`npm test`).
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'logrescue-ts');
const TSCONFIG = fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8');
const ESBUILD_VERSION = require('esbuild/package.json').version;
let esbuild;

function compile(source, filename) {
  const key = crypto.createHash('sha256')
    .update(`${ESBUILD_VERSION}\0${TSCONFIG}\0${filename}\0`).update(source).digest('hex');
  const cached = path.join(CACHE, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // Not cached yet: transform below.
  }
  esbuild = esbuild || require('esbuild');
  const { code } = esbuild.transformSync(source, {
    loader: 'ts', format: 'cjs', platform: 'node', target: 'node20', sourcefile: filename, tsconfigRaw: TSCONFIG, logLevel: 'silent',
  });
  // Written beside its name and renamed into place, so a parallel synth never reads half a file.
  fs.mkdirSync(CACHE, { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, cached);
  return code;
}

require.extensions['.ts'] = (module, filename) => {
  module._compile(compile(fs.readFileSync(filename, 'utf8'), filename), filename);
};
