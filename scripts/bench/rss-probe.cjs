'use strict';
/**
 * Benchmark probe, loaded with `node --require` (via NODE_OPTIONS) into every node process of a
 * measured run: on exit, appends {pid, ppid, argv, maxRssKb} (getrusage peak RSS of this process
 * alone) to $BENCH_RSS_PROBE_FILE, so the report can say which process of npx -> tsx -> node holds
 * the memory. Only used by scripts/bench.ts; never loaded by the app itself.
 */
const file = process.env.BENCH_RSS_PROBE_FILE;
if (file) {
  process.on('exit', () => {
    try {
      require('node:fs').appendFileSync(file, `${JSON.stringify({
        pid: process.pid,
        ppid: process.ppid,
        argv: process.argv,
        maxRssKb: process.resourceUsage().maxRSS,
      })}\n`);
    } catch { /* never change the measured process's outcome */ }
  });
}
