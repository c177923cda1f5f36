/**
 * A jest reporter: at the end of the run, each lane's wall time (first file started to last file
 * finished; lanes share the workers, so their spans overlap), its files and tests, and the run's
 * total. Plain JS because jest loads reporters without transforming them.
 */
class LaneTimes {
  constructor() {
    this.lanes = new Map();
  }

  onTestResult(test, result) {
    const lane = test.context.config.displayName?.name ?? '(no lane)';
    const l = this.lanes.get(lane) ?? { start: Infinity, end: 0, files: 0, tests: 0, fileSeconds: 0 };
    const { start, end } = result.perfStats;
    l.start = Math.min(l.start, start);
    l.end = Math.max(l.end, end);
    l.files += 1;
    l.tests += result.numPassingTests + result.numFailingTests + result.numPendingTests + result.numTodoTests;
    l.fileSeconds += (end - start) / 1000;
    this.lanes.set(lane, l);
  }

  onRunComplete(_contexts, results) {
    if (this.lanes.size === 0) return;
    const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
    const order = ['unit', 'synth', 'plan', 'sim'];
    const names = [...this.lanes.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    const lines = names.map((name) => {
      const l = this.lanes.get(name);
      return `  ${name.padEnd(6)} wall ${s(l.end - l.start).padStart(8)}   ${String(l.files).padStart(3)} files ${String(l.tests).padStart(4)} tests   (files' own times add up to ${s(l.fileSeconds * 1000)})`;
    });
    process.stderr.write(`\nLane times (wall: first file started to last file finished; lanes run side by side):\n${lines.join('\n')}\n` +
      `  total  wall ${s(Date.now() - results.startTime).padStart(8)}   ${results.numTotalTestSuites} files ${results.numTotalTests} tests\n`);
  }
}

module.exports = LaneTimes;
