/**
 * `npm run synth [-- --hcl] [--output <dir>]`: what `npx cdktf synth` does, without the cdktf CLI's
 * start-up (about 3.5 s). It runs the app in this process with the environment the CLI gives the
 * app command (@cdktf/cli-core 0.21, lib/synth-stack.js: CDKTF_OUTDIR, CDKTF_CONTEXT_JSON with
 * cdktfRelativeModules, SYNTH_HCL_OUTPUT, CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS, no TF_VAR_*),
 * loading main.ts through the same loader as cdktf.json's app command (scripts/ts-hook.cjs); then,
 * as the CLI does, formats HCL output with @cdktf/hcl-tools and removes the directories of stacks
 * the app no longer synthesizes. The output is byte-identical to the CLI's
 * (__tests__/scripts/synth.test.ts). `npx cdktf synth|deploy|diff` work as before.
 *
 * Exit codes: the app's (0 written; 1 a config error, nothing written); 2 bad arguments.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const USAGE = 'usage: npm run synth [-- --hcl] [--output <dir>]\n';

function parseArgs(argv) {
  const opts = { hcl: false, output: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--hcl') opts.hcl = true;
    else if (a === '--output' || a === '-o') {
      opts.output = argv[i + 1];
      i += 1;
      if (!opts.output) return { error: `${a} needs a directory` };
    } else if (a.startsWith('--output=')) opts.output = a.slice('--output='.length);
    else return { error: `unknown argument ${JSON.stringify(a)}` };
  }
  return opts;
}

/** Stack directories under `outdir`, as the CLI lists them before a synth. */
function stackDirectories(outdir) {
  const dir = path.join(outdir, 'stacks');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map((n) => path.join(dir, n)).filter((p) => fs.lstatSync(p).isDirectory());
}

/**
 * The environment cdktf's CLI gives the app command (@cdktf/cli-core 0.21, lib/synth-stack.js):
 * `env` without TF_VAR_*, with the output directory, the context (cdktfRelativeModules from
 * cdktf.json), SYNTH_HCL_OUTPUT and CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS. Also used by
 * `npm run bench` to run the app as the CLI does.
 */
function cliAppEnv(env, config, outdir, hcl) {
  const context = env.CDKTF_CONTEXT_JSON ? JSON.parse(env.CDKTF_CONTEXT_JSON) : {};
  const relativeModules = (config.terraformModules ?? []).filter((m) => /^\.\.?\//.test(typeof m === 'string' ? m : m.source));
  return {
    ...Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('TF_VAR_'))),
    CDKTF_OUTDIR: outdir,
    CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: 'true',
    CDKTF_CONTEXT_JSON: JSON.stringify({ ...context, cdktfRelativeModules: relativeModules }),
    SYNTH_HCL_OUTPUT: String(hcl),
  };
}

async function synth(argv) {
  const opts = parseArgs(argv);
  if (opts.error) {
    process.stderr.write(`${opts.error}\n${USAGE}`);
    return 2;
  }
  const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdktf.json'), 'utf8'));
  // The CLI's default output directory, relative to where it runs (the project).
  const outdir = opts.output ?? config.output ?? 'cdktf.out';
  const before = stackDirectories(outdir);

  const appEnv = cliAppEnv(process.env, config, outdir, opts.hcl);
  for (const key of Object.keys(process.env)) if (!(key in appEnv)) delete process.env[key];
  Object.assign(process.env, appEnv);

  require('./ts-hook.cjs');
  const code = require(path.join(ROOT, 'main.ts')).main(process.env);
  if (code !== 0) return code;

  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const stacks = Object.values(manifest.stacks);
  if (opts.hcl) {
    const { format } = require('@cdktf/hcl-tools');
    for (const s of stacks) {
      const file = path.join(outdir, s.synthesizedStackPath);
      fs.writeFileSync(file, await format(fs.readFileSync(file, 'utf8')));
    }
  }
  const names = new Set(stacks.map((s) => s.name));
  for (const dir of before) if (!names.has(path.basename(dir))) fs.rmSync(dir, { recursive: true });
  return 0;
}

if (require.main === module) {
  synth(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    process.exitCode = 1;
  });
}

module.exports = { synth, parseArgs, cliAppEnv };
