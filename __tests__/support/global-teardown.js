/**
 * Says how many offline plans the run made and how many requests they served (support/plan.ts
 * shares identical plans between test files), then removes the run's plan dir (global-setup.js).
 */
const { existsSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const path = require('node:path');

module.exports = async () => {
  const dir = process.env.LOGRESCUE_PLAN_CACHE;
  if (!dir) return;
  const log = path.join(dir, 'requests.log');
  if (existsSync(log)) {
    const requests = readFileSync(log, 'utf8').split('\n').filter(Boolean).length;
    const made = readdirSync(dir).filter((f) => f.endsWith('.lock')).length;
    process.stdout.write(`Offline plans: ${made} made by Terraform for ${requests} requests (identical input planned once per run).\n`);
  }
  rmSync(dir, { recursive: true, force: true });
};
