/**
 * One `npm test`, four lanes (jest projects), so the inner loop can run only what it needs:
 *   unit   decisions, config, handlers, constructs on bare stacks        npm run test:unit
 *   synth  full stacks synthesized and asserted on                       npm run test:synth
 *   plan   real Terraform, offline against the provider mirror           npm run test:plan
 *   sim    the storm simulator, the rescue script in bash, the AWS CLI   npm run test:sim
 *
 * A test file names its lane in its header docblock (` * @lane unit`), read here at config load,
 * so a file keeps its lane wherever it moves. A test file without a lane, or with an unknown one,
 * stops jest with its name: a new test cannot silently fall out of every lane.
 */
const { readdirSync, readFileSync } = require('node:fs');
const path = require('node:path');

const LANES = ['unit', 'synth', 'plan', 'sim'];
const TESTS = path.join(__dirname, '__tests__');

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.isFile() && e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** The `@lane` of the file's header docblock (the comment it starts with), or a problem. */
function laneOf(file) {
  const header = /^\s*\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'));
  const tags = header ? [...header[1].matchAll(/^\s*\*?\s*@lane\s+(\S*)/gm)].map((m) => m[1]) : [];
  if (tags.length !== 1) return { problem: tags.length ? `${tags.length} @lane tags` : 'no @lane tag in its header docblock' };
  return LANES.includes(tags[0]) ? { lane: tags[0] } : { problem: `unknown lane '${tags[0]}'` };
}

const byLane = Object.fromEntries(LANES.map((l) => [l, []]));
const problems = [];
for (const file of testFiles(TESTS).sort()) {
  const { lane, problem } = laneOf(file);
  if (problem) problems.push(`  ${path.relative(__dirname, file)}: ${problem}`);
  else byLane[lane].push(file);
}
if (problems.length) {
  throw new Error(`Every test file needs exactly one lane, a line ' * @lane <${LANES.join('|')}>' in the docblock it starts with ` +
    `(see jest.config.js):\n${problems.join('\n')}`);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** @type {import('jest').Config} */
module.exports = {
  projects: LANES.map((lane) => ({
    displayName: lane,
    testEnvironment: 'node',
    roots: ['<rootDir>/__tests__'],
    // Exactly this lane's files; an empty lane matches nothing.
    testRegex: byLane[lane].length ? byLane[lane].map((f) => `^${escape(f)}$`) : ['^$'],
    // Type checking is `tsc` in `npm test`; jest only transpiles, which keeps each test file fast.
    transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  })),
  testTimeout: 180000,
  // Jest's default is one worker fewer than the cores: one worker on a 2-core machine, where the
  // plan lane spends much of its time waiting on Terraform and would hold the other lanes back.
  maxWorkers: '100%',
  reporters: ['default', '<rootDir>/__tests__/support/lane-times.js'],
  // One dir per run where test files share the offline plans of identical input (support/plan.ts).
  globalSetup: '<rootDir>/__tests__/support/global-setup.js',
  globalTeardown: '<rootDir>/__tests__/support/global-teardown.js',
};
