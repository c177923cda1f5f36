/**
 * `npm run fetch-logs`: finds an instance's rescues in any group, verifies each archive's SHA-256
 * against its manifest and extracts it. The archives are real: the rescue script uploads them with
 * the real AWS CLI v2 into the local S3 stand-in (as the script tests do), and fetch-logs reads
 * them back with @aws-sdk/client-s3 over TLS, listing page by page.
 * @lane sim
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rescueDocumentContent } from '../../modules/log-rescue/document';
import { readTree, renderDocumentForTest, ScriptSandbox, scriptOf } from '../support/bash-standins';
import { findAwsCliV2, writeAwsWrapper } from '../support/real-aws-cli';
import { S3StandIn, STANDIN_ACCESS_KEY_ID, STANDIN_SECRET_ACCESS_KEY } from '../support/s3-standin';
import { parseArgs, UsageError } from '../../scripts/fetch-logs';

const cli = findAwsCliV2();
const ROOT = path.join(__dirname, '../..');
const BUCKET = 'acme-logs';
const REGION = 'eu-west-1';
const INSTANCE = 'i-0abc1234def567890';
const OTHER_INSTANCE = 'i-0fff0000eeee11112';
const GROUP = 'web fleet-1.prod';
const script = scriptOf(renderDocumentForTest(rescueDocumentContent({
  prefix: 'instance-logs', logGlobs: ['/var/log/messages'], includeJournal: false, executionTimeoutSeconds: 600, bucketName: BUCKET,
})));

let s3: S3StandIn;
let sandbox: ScriptSandbox;
let logs: string;
let work: string;
let caFile: string;

/** One real rescue: the script, run with the real CLI, uploads into the stand-in. */
async function rescue(instance: string, group: string, eventTime: string, globs: string): Promise<void> {
  const run = await sandbox.runAsync(script, {
    env: {
      STANDIN_INSTANCE_ID: instance,
      SSM_asgName: group, SSM_hookName: 'log-rescue', SSM_trigger: 'lifecycle', SSM_eventTime: eventTime, SSM_logGlobs: globs, SSM_includeJournal: 'false',
    },
  });
  if (run.status !== 0 && run.status !== 66) throw new Error(`rescue script exit ${run.status}: ${run.stderr}`);
}

/** `npm run fetch-logs -- <args>` as a user runs it, against the stand-in. */
function fetchLogs(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'fetch-logs', '--', ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH!, HOME: work, AWS_ACCESS_KEY_ID: STANDIN_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: STANDIN_SECRET_ACCESS_KEY,
        AWS_REGION: REGION, AWS_EC2_METADATA_DISABLED: 'true', NODE_EXTRA_CA_CERTS: caFile, ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    // The SDK (3.1169) warns on Node 20 that its releases after January 2027 need Node 22: its
    // notice, not ours; anything else on stderr counts.
    const sdkNotice = /\(node:\d+\) Warning: NodeVersionSupportWarning:[\s\S]*?\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n/;
    child.on('close', (status) => resolve({ status, stdout, stderr: stderr.replace(sdkNotice, '') }));
  });
}

beforeAll(async () => {
  // Two keys per listing page: every listing takes several pages.
  s3 = await S3StandIn.start({ buckets: { [BUCKET]: REGION }, listPageSize: 2 });
  sandbox = new ScriptSandbox({ aws: false });
  writeAwsWrapper(sandbox.binDir, cli, s3);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'logrescue-fetch-logs-'));
  caFile = path.join(work, 'ca.pem');
  fs.writeFileSync(caFile, s3.caPem);
  logs = path.join(sandbox.root, 'logs');
  fs.mkdirSync(path.join(logs, 'app'), { recursive: true });
  fs.writeFileSync(path.join(logs, 'app', 'one.log'), 'line 1\nline 2\n');
  fs.writeFileSync(path.join(logs, 'app', 'big.bin'), Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)));
  const globs = `${logs}/app`;
  await rescue(INSTANCE, GROUP, '20261030T080000Z', globs);
  await rescue(INSTANCE, GROUP, '20261120T223000Z', globs);
  // The same instance under another group (fetch-logs does not know the group), and nothing collected there.
  await rescue(INSTANCE, 'batch', '20261121T010203Z', `${logs}/missing-*.log`);
  // Another instance's rescues, which must not be fetched.
  await rescue(OTHER_INSTANCE, GROUP, '20261120T223000Z', globs);
}, 180_000);
afterAll(async () => {
  await s3?.close();
  sandbox?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const expectedFiles = () => Object.fromEntries(Object.entries(readTree(path.join(logs, 'app'))).map(([rel, body]) => [`${logs.slice(1)}/app/${rel}`, body]));

test('finds every rescue of the instance in every group, verifies and extracts each archive', async () => {
  const out = path.join(work, 'all');
  const r = await fetchLogs(['--instance', INSTANCE, '--bucket', BUCKET, '--prefix', 'instance-logs', '--out', out, '--endpoint-url', s3.endpoint]);
  expect([r.status, r.stderr]).toEqual([0, '']);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(3);
  expect(lines[0]).toMatch(new RegExp(`^${GROUP} 20261030T080000Z lifecycle rescued: 2 files, \\d+ bytes archived \\(0 missing globs, 0 left out\\); sha256 [0-9a-f]{64} verified; extracted to `));
  expect(lines[1]).toMatch(/^web fleet-1\.prod 20261120T223000Z lifecycle rescued: .* verified; extracted to /);
  expect(lines[2]).toBe('batch 20261121T010203Z lifecycle nothing-collected: 0 files, 0 bytes archived (1 missing globs, 0 left out); no archive to fetch');
  for (const t of ['20261030T080000Z', '20261120T223000Z']) {
    const extracted = readTree(path.join(out, GROUP, t, 'files'));
    const expected = expectedFiles();
    expect(Object.keys(extracted).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, body] of Object.entries(expected)) expect(extracted[name].equals(body)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(out, GROUP, t, 'manifest.json'), 'utf8')).instanceId).toBe(INSTANCE);
  }
  expect(fs.readdirSync(out).sort()).toEqual(['batch', GROUP].sort());
  // The archive is fetched by the version its manifest names.
  const gets = s3.requests.filter((q) => q.method === 'GET' && q.key?.endsWith('logs.tar.gz'));
  expect(gets).toHaveLength(2);
  for (const g of gets) expect(g.url).toMatch(/[?&]versionId=/);
  expect(gets.every((g) => g.key!.includes(INSTANCE))).toBe(true);
  // Listings came in pages of two and were followed to the end.
  expect(s3.requests.some((q) => q.method === 'GET' && /[?&]continuation-token=/.test(q.url))).toBe(true);
});

test('--since leaves out older rescues', async () => {
  const r = await fetchLogs(['--instance', INSTANCE, '--since', '2026-11-01', '--bucket', BUCKET, '--prefix', 'instance-logs', '--out', path.join(work, 'since'), '--endpoint-url', s3.endpoint]);
  expect(r.status).toBe(0);
  expect(r.stdout.trim().split('\n').map((l) => l.split(' lifecycle ')[0])).toEqual([`${GROUP} 20261120T223000Z`, 'batch 20261121T010203Z']);
});

test('an archive whose bytes differ from its manifest is an error: not extracted, download deleted, exit 1', async () => {
  const key = `instance-logs/${GROUP}/${INSTANCE}/20261120T223000Z/logs.tar.gz`;
  const stored = s3.objects.get(`${BUCKET}/${key}`)!;
  const corrupt = Buffer.from(stored.body);
  corrupt[corrupt.length >> 1] ^= 0x01;
  // Corrupted at rest, with no S3 checksum left to catch it: only the manifest's SHA-256 can.
  s3.objects.set(`${BUCKET}/${key}`, { ...stored, body: corrupt, checksum: undefined });
  try {
    const out = path.join(work, 'corrupt');
    const r = await fetchLogs(['--instance', INSTANCE, '--bucket', BUCKET, '--prefix', 'instance-logs', '--out', out, '--endpoint-url', s3.endpoint]);
    expect(r.status).toBe(1);
    const bad = r.stdout.split('\n').find((l) => l.includes('20261120T223000Z'))!;
    expect(bad).toMatch(/; ERROR: s3:\/\/acme-logs\/.*logs\.tar\.gz has SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}: not extracted, download deleted$/);
    expect(fs.readdirSync(path.join(out, GROUP, '20261120T223000Z'))).toEqual(['manifest.json']);
    // The good one beside it is still fetched.
    expect(fs.existsSync(path.join(out, GROUP, '20261030T080000Z', 'files'))).toBe(true);
  } finally {
    s3.objects.set(`${BUCKET}/${key}`, stored);
  }
});

test('an instance with no rescues says so', async () => {
  const r = await fetchLogs(['--instance', 'i-0123456789abcdef0', '--bucket', BUCKET, '--prefix', 'instance-logs', '--out', path.join(work, 'none'), '--endpoint-url', s3.endpoint]);
  expect([r.status, r.stdout]).toEqual([0, `no rescued logs of i-0123456789abcdef0 in s3://${BUCKET}/instance-logs/\n`]);
});

test('without --bucket it reads the stack\'s bucket_name output with terraform', async () => {
  // A stack directory with a local state holding the output, as `terraform output` reads it after init.
  const stack = path.join(work, 'stack');
  fs.mkdirSync(stack);
  fs.writeFileSync(path.join(stack, 'main.tf.json'), JSON.stringify({ terraform: { backend: { local: { path: 'terraform.tfstate' } } } }));
  fs.writeFileSync(path.join(stack, 'terraform.tfstate'), JSON.stringify({
    version: 4, terraform_version: '1.11.4', serial: 1, lineage: '00000000-0000-4000-8000-000000000001',
    outputs: { bucket_name: { value: BUCKET, type: 'string' } }, resources: [], check_results: null,
  }));
  const tfEnv = { TF_DATA_DIR: path.join(work, 'tf-data'), CHECKPOINT_DISABLE: '1' };
  const before = await fetchLogs(['--instance', INSTANCE, '--stack-dir', stack, '--prefix', 'instance-logs', '--endpoint-url', s3.endpoint], tfEnv);
  expect(before.status).toBe(2);
  expect(before.stderr).toMatch(/^fetch-logs: no --bucket given and `terraform output` in .*stack failed \(.*terraform init.*\); pass --bucket, or run `terraform init` there first\n$/);
  // No provider in this directory: init needs no registry.
  execFileSync('terraform', ['init', '-input=false', '-no-color'], { cwd: stack, env: { ...process.env, ...tfEnv }, stdio: 'pipe' });
  const r = await fetchLogs(['--instance', INSTANCE, '--since', '2026-11-21', '--stack-dir', stack, '--prefix', 'instance-logs', '--out', path.join(work, 'tf'), '--endpoint-url', s3.endpoint], tfEnv);
  expect([r.status, r.stderr]).toEqual([0, '']);
  expect(r.stdout).toContain('batch 20261121T010203Z');
});

describe('bad arguments name the field, the value and what is allowed', () => {
  test.each([
    [[], '--instance is required'],
    [['--instance', 'web-1'], '--instance "web-1" is not an EC2 instance id (i- and 8 or 17 hex digits)'],
    [['--instance', INSTANCE, '--since', 'last week'], '--since "last week" is not a UTC day (YYYY-MM-DD) or ISO 8601 time'],
    [['--instance', INSTANCE, '--group', 'x'], 'unknown argument "--group"'],
    [['--instance', INSTANCE, '--out'], '--out needs a value'],
  ])('%j', (args, message) => {
    expect(() => parseArgs(args)).toThrow(UsageError);
    expect(() => parseArgs(args)).toThrow(message);
  });

  test('exit 2 and nothing fetched', async () => {
    const r = await fetchLogs(['--instance', 'i-xyz', '--bucket', BUCKET]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('fetch-logs: --instance "i-xyz" is not an EC2 instance id (i- and 8 or 17 hex digits)\n');
  });
});
