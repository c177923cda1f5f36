'use strict';
/**
 * Benchmark profiling probe, loaded with `node --require` (via NODE_OPTIONS) into the app's process.
 * Times every module load (inclusive and self time, grouped by package or project file), times
 * esbuild's synchronous builds, and on exit appends one JSON line to $BENCH_LOAD_PROBE_FILE.
 * Only used by scripts/bench.ts; never loaded by the app itself.
 */
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');

const outFile = process.env.BENCH_LOAD_PROBE_FILE;
const root = process.env.BENCH_PROJECT_ROOT || process.cwd();
if (outFile) {
  const t0 = process.hrtime.bigint();
  const ms = (a, b) => Number(b - a) / 1e6;
  const groups = new Map(); // group -> { selfMs, count }
  const stack = []; // { childMs }
  const esbuild = { buildSyncMs: 0, buildSyncCalls: 0, transformSyncMs: 0, transformSyncCalls: 0 };
  let loads = 0;
  const groupOf = (file) => {
    if (!file || !path.isAbsolute(file)) return `builtin`;
    const nm = file.lastIndexOf(`${path.sep}node_modules${path.sep}`);
    if (nm >= 0) {
      const parts = file.slice(nm + 14).split(path.sep);
      return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    }
    const rel = path.relative(root, file);
    return rel.startsWith('..') ? file : `project:${rel}`;
  };
  // esbuild's exports are non-configurable getters, and its *Sync calls block on a worker thread (no child
  // process to time), so project code gets a wrapped copy of the module instead.
  let esbuildWrapped;
  const wrapEsbuild = (exp) => {
    if (esbuildWrapped) return esbuildWrapped;
    const copy = {};
    for (const k of Object.keys(exp)) copy[k] = exp[k];
    for (const key of ['buildSync', 'transformSync']) {
      const orig = exp[key];
      if (typeof orig !== 'function') continue;
      copy[key] = function (...args) {
        const s = process.hrtime.bigint();
        try { return orig.apply(this, args); } finally { esbuild[`${key}Ms`] += ms(s, process.hrtime.bigint()); esbuild[`${key}Calls`] += 1; }
      };
    }
    esbuildWrapped = copy;
    return copy;
  };
  const isEsbuild = (file) => /[\\/]node_modules[\\/]esbuild[\\/]lib[\\/]main\.js$/.test(file);
  const fromProject = (parent) => !!(parent && parent.filename && !/[\\/]node_modules[\\/]/.test(parent.filename));
  // Synchronous child processes block the app (cdktf zips ARCHIVE assets by running a child node).
  const childProcesses = [];
  const cp = require('node:child_process');
  for (const fn of ['execSync', 'execFileSync', 'spawnSync']) {
    const orig = cp[fn];
    cp[fn] = function (...args) {
      const s = process.hrtime.bigint();
      try { return orig.apply(this, args); } finally {
        const what = typeof args[0] === 'string' ? args[0] : String(args[0]);
        childProcesses.push({ fn, command: what.length > 160 ? `${what.slice(0, 157)}...` : what, ms: ms(s, process.hrtime.bigint()) });
      }
    };
  }
  const origLoad = Module._load;
  Module._load = function (request, parent, isMain) {
    let file;
    try { file = Module._resolveFilename(request, parent, isMain); } catch { file = undefined; }
    const cached = file && Module._cache[file];
    if (cached || !file || !path.isAbsolute(file)) {
      const r = origLoad.apply(this, arguments);
      return file && isEsbuild(file) && fromProject(parent) ? wrapEsbuild(r) : r;
    }
    const frame = { childMs: 0 };
    stack.push(frame);
    const s = process.hrtime.bigint();
    let result;
    try {
      result = origLoad.apply(this, arguments);
    } finally {
      const incl = ms(s, process.hrtime.bigint());
      stack.pop();
      if (stack.length) stack[stack.length - 1].childMs += incl;
      const g = groupOf(file);
      const e = groups.get(g) || { selfMs: 0, count: 0 };
      e.selfMs += incl - frame.childMs;
      e.count += 1;
      groups.set(g, e);
      loads += 1;
    }
    return isEsbuild(file) && fromProject(parent) ? wrapEsbuild(result) : result;
  };
  process.on('exit', () => {
    const mem = process.memoryUsage();
    fs.appendFileSync(outFile, JSON.stringify({
      pid: process.pid,
      argv: process.argv,
      totalMs: ms(t0, process.hrtime.bigint()),
      loads,
      groups: Object.fromEntries([...groups].sort((a, b) => b[1].selfMs - a[1].selfMs)),
      esbuild,
      childProcesses,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      heapUsedMb: mem.heapUsed / 1048576,
    }) + '\n');
  });
}
