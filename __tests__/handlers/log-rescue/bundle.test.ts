/**
 * Proves the Lambda bundle (handlers/log-rescue/bundle.ts): esbuild bundles the entry under 700 KB,
 * deterministically (same sources, same bytes), and the bundle loads in a fresh node with the
 * function's environment and exports `handler`, and refuses to load without it.
 * @lane unit
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { bundleHandler, HANDLER_ENTRY } from '../../../handlers/log-rescue/bundle';

const MAX_BYTES = 700 * 1024;
const ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  DOCUMENT_NAME: 'logrescue-dev-rescue-logs',
  ASG_NAMES: 'web-asg',
  HOOK_NAME: 'log-rescue',
  ONLINE_WAIT_SECONDS: '20',
  EXECUTION_TIMEOUT_SECONDS: '600',
  HEARTBEAT_TIMEOUT_SECONDS: '900',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/logrescue-dev-log-rescue-events',
  STACK_ID: 'logrescue-dev-log-rescue',
};

let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'log-rescue-bundle-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('esbuild bundles the entry under 700 KB', () => {
  const result = buildSync({
    entryPoints: [HANDLER_ENTRY], bundle: true, platform: 'node', target: 'node22', format: 'cjs', minify: true,
    mainFields: ['module', 'main'], write: false, logLevel: 'silent',
  });
  expect(result.outputFiles[0].contents.byteLength).toBeLessThan(MAX_BYTES);
});

test('bundleHandler writes a deterministic bundle that loads in a fresh node and exports handler', () => {
  const a = path.join(dir, 'a', 'index.js');
  const b = path.join(dir, 'b', 'index.js');
  const { bytes } = bundleHandler(a);
  expect(bundleHandler(b).bytes).toBe(bytes);
  expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  expect(bytes).toBeLessThan(MAX_BYTES);
  console.log(`log-rescue handler bundle: ${(bytes / 1024).toFixed(1)} KB`);

  // A fresh process: only the bundle and its environment, no node_modules, no ts-jest.
  const probe = `
    const t = process.hrtime.bigint();
    const m = require(${JSON.stringify(a)});
    const initMs = Number(process.hrtime.bigint() - t) / 1e6;
    const batch = { Records: [{ messageId: '059f36b4-87a3-44ab-83d2-661975830a7d', body: 'not json', eventSource: 'aws:sqs' }] };
    Promise.all([m.handler({ source: 'nobody' }), m.handler(batch)])
      .then(([r, b]) => require('node:fs').writeFileSync(${JSON.stringify(path.join(dir, 'report.json'))}, JSON.stringify({ type: typeof m.handler, initMs, r, b })));
  `;
  const run = spawnSync(process.execPath, ['--no-warnings', '-e', probe], { cwd: dir, env: ENV, encoding: 'utf8' });
  expect(run.status).toBe(0);
  const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
  expect(report.type).toBe('function');
  expect(report.r).toEqual({ action: 'rejected', reason: 'detail-type: missing' });
  // An SQS batch from the event queue: a body that is not JSON is rejected, not retried.
  expect(report.b).toEqual({ batchItemFailures: [] });
  // Lambda's budget is 100 ms; a loaded test machine gets slack, the number is printed for the record.
  console.log(`log-rescue handler module init: ${report.initMs.toFixed(0)} ms`);
  expect(report.initMs).toBeLessThan(500);
  // The handler's own log lines are Powertools Logger's JSON, one object per line (warnings on
  // stderr, which Lambda sends to CloudWatch Logs like stdout), and nothing else is written.
  expect(run.stdout).toBe('');
  const line = { level: 'WARN', message: 'event rejected', service: 'log-rescue', stack: ENV.STACK_ID, sampling_rate: 0, timestamp: expect.any(String) };
  expect(run.stderr.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
    { ...line, reason: 'detail-type: missing', source: 'nobody' },
    { ...line, reason: 'event: not an object', messageId: '059f36b4-87a3-44ab-83d2-661975830a7d' },
  ]);
});

test('the bundle refuses to start without its settings, naming what is missing', () => {
  const file = path.join(dir, 'a', 'index.js');
  let stderr = '';
  try {
    execFileSync(process.execPath, ['--no-warnings', '-e', `require(${JSON.stringify(file)})`], { cwd: dir, env: { PATH: ENV.PATH }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    stderr = String((e as { stderr?: string }).stderr);
  }
  expect(stderr).toContain('log-rescue handler settings: DOCUMENT_NAME is missing');
});
