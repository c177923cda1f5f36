/**
 * Once per jest run, before any worker starts: a temp dir where the run's offline plans are shared
 * between test files and workers (see sharedPlan in plan.ts). Workers inherit the variable.
 * Plain JS because jest loads global setup without transforming it.
 */
const { mkdtempSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async () => {
  process.env.LOGRESCUE_PLAN_CACHE = mkdtempSync(path.join(os.tmpdir(), 'logrescue-plan-cache-'));
};
