/**
 * The rescue document's script, really run: bash, GNU tar and coreutils from this machine, and
 * stand-ins for IMDSv2 (curl), S3 (aws) and journalctl. What is asserted is what S3 would hold
 * afterwards, what the instance was asked, and that no parameter value ever runs as code.
 *
 * @lane sim
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NOTHING_COLLECTED_EXIT_CODE } from '../../../config/patterns';
import { DEFAULT_LOG_GLOBS } from '../../../config/schema';
import {
  COLLECT_LOGS_SCRIPT_PATH, RESCUE_DOCUMENT_PARAMETERS, RESCUE_PARAMETER_PATTERNS, rescueDocumentContent, RescueDocumentParameter,
} from '../../../modules/log-rescue/document';
import {
  extractTarGz, readTree, renderDocumentForTest, ScriptRun, ScriptSandbox, scriptOf, substituteLikeOldAgent, synthDocumentWithReferences,
} from '../../support/bash-standins';

const INSTANCE = 'i-0abc1234def567890';
const EVENT_TIME = '20261120T223000Z';
const ASG = 'web fleet-1.prod';
const KEY_BASE = `instance-logs/${ASG}/${INSTANCE}/${EVENT_TIME}`;
const JOURNAL_MEMBER = '_log-rescue/journal-current-boot.log';
const docProps = { prefix: 'instance-logs', logGlobs: DEFAULT_LOG_GLOBS, includeJournal: true, executionTimeoutSeconds: 600 };

const script = scriptOf(renderDocumentForTest(rescueDocumentContent({ ...docProps, bucketName: 'acme-logs' })));
const sha256 = (b: Buffer, enc: 'hex' | 'base64') => createHash('sha256').update(b).digest(enc);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const manifestOf = (run: ScriptRun) => JSON.parse(run.uploads[`${KEY_BASE}/manifest.json`].toString('utf8'));
const argAfter = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

let sandbox: ScriptSandbox;
let logs: string;
/** The parameters as the agent passes them: SSM_<name> in the environment. */
let params: Record<string, string>;
const envOf = (p: Record<string, string>) => Object.fromEntries(Object.entries(p).map(([k, v]) => [`SSM_${k}`, v]));

/** `aws --version` of a current AWS CLI v2 (the stand-in's default). */
const V2_CURRENT = 'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.109-118.189.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off';
/** Amazon Linux 2's packaged AWS CLI v1: no --checksum-* options, and its version goes to stderr (Python 2). */
const V1_AMAZON_LINUX_2 = 'aws-cli/1.18.147 Python/2.7.18 Linux/4.14.355-275.572.amzn2.x86_64 botocore/1.18.6';

/**
 * Log files with the names that break naive scripts: spaces (leading and trailing too), quotes,
 * backslashes, control characters, shell syntax, non-UTF-8 bytes; plus a nested directory, a
 * symlink out of the tree, and a file named like the first word of "app one.log".
 */
function writeLogTree(dir: string): void {
  fs.mkdirSync(path.join(dir, 'nested dir', 'deep'), { recursive: true });
  const put = (name: string | Buffer, body: string) => fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name)]), body);
  put('app one.log', 'line 1\nline 2\n');
  put(' leading and trailing .log ', 'x');
  put('  spaced .log', 'spaced\n');
  put('plain.log', 'plain\n');
  put('we"ird\\name\twith\nnewline.log', 'weird\n');
  put(Buffer.from('caf\xe9-latin1.log', 'latin1'), 'latin1\n');
  put('naïve-utf8.log', 'utf8\n');
  put('$(echo >pwned-by-name).log', 'hostile name 1\n');
  put('`echo >pwned-by-name`.log', 'hostile name 2\n');
  put('app', 'only if "app one.log" were split\n');
  put('other.txt', 'not matched\n');
  put('nested dir/deep/inner log.txt', 'deep\n');
  put('nested dir/.hidden', 'hidden\n');
  fs.symlinkSync('/etc/hostname', path.join(dir, 'link.log'));
}

beforeAll(() => {
  sandbox = new ScriptSandbox();
  logs = path.join(sandbox.root, 'logs');
  writeLogTree(logs);
  fs.writeFileSync(path.join(sandbox.canaryDir, 'victim'), 'still here');
  params = {
    asgName: ASG,
    hookName: 'log-rescue',
    trigger: 'lifecycle',
    eventTime: EVENT_TIME,
    logGlobs: [
      `${logs}/*.log`, `${logs}/nested dir`, `${logs}/app one.log`, `${logs}/ leading and trailing .log `, `${logs}/missing-*.gz`, `${logs}/absent dir/x.log`,
    ].join('|'),
    includeJournal: 'true',
  };
});
afterAll(() => sandbox.cleanup());

/** The uploaded archive holds every file `params.logGlobs` matches in the log tree, byte for byte, and the journal. */
function expectArchiveOfLogTree(run: ScriptRun): void {
  const members = extractTarGz(run.uploads[`${KEY_BASE}/logs.tar.gz`]);
  const expected: Record<string, Buffer> = {};
  const root = logs.slice(1);
  for (const [rel, body] of Object.entries(readTree(logs))) {
    if (rel === 'other.txt' || rel === 'app') continue;
    expected[`${root}/${rel}`] = body;
  }
  // link.log, a glob's own match, is followed: its target is archived (under the target's path).
  delete expected[`${root}/link.log`];
  expected['etc/hostname'] = fs.readFileSync('/etc/hostname');
  const { [JOURNAL_MEMBER]: journal, ...files } = members;
  expect(Object.keys(files).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, body] of Object.entries(expected)) expect({ name, body: files[name] }).toEqual({ name, body });
  expect(journal.toString()).toMatch(/^2026-11-20T22:29:58\+0000 ip-10-0-0-12 systemd\[1\]/);
}

/** Nothing the hostile values tried to create exists, and what they tried to delete is still there. */
function expectNoInjection(box = sandbox): void {
  expect(box.canaries()).toEqual(['victim']);
}

describe('a lifecycle rescue', () => {
  let run: ScriptRun;
  beforeAll(() => { run = sandbox.run(script, { env: envOf(params) }); });

  it('exits 0 and says what it uploaded', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^log-rescue: uploaded 12 files \(2 missing globs, 0 left out\) as \d+ bytes in 1 parts to s3:\/\/acme-logs\/instance-logs\/web fleet-1\.prod\/.*; version [A-Za-z0-9_-]{32}\)\n$/);
  });

  it('archives every matched file byte for byte, directories recursively, a matched symlink as what it points to', () => {
    expectArchiveOfLogTree(run);
  });

  it('treats every glob as one path: spaces, even leading and trailing ones, do not split or trim it', () => {
    const paths = manifestOf(run).files.map((f: { path: string }) => f.path);
    expect(paths).toContain(`${logs}/app one.log`);
    expect(paths).toContain(`${logs}/ leading and trailing .log `);
    expect(paths).not.toContain(`${logs}/app`);
    expect(paths.filter((p: string) => p === `${logs}/app one.log`)).toHaveLength(1);
  });

  it('writes a manifest with identity, files and sizes, missing globs and the archive checksum', () => {
    const manifest = manifestOf(run);
    const archive = run.uploads[`${KEY_BASE}/logs.tar.gz`];
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      outcome: 'rescued',
      instanceId: INSTANCE,
      region: 'eu-west-1',
      asgName: ASG,
      hookName: 'log-rescue',
      trigger: 'lifecycle',
      eventTime: EVENT_TIME,
      archiveKey: `${KEY_BASE}/logs.tar.gz`,
      sha256: sha256(archive, 'hex'),
      s3Checksum: 'SHA256',
      archiveBytes: archive.length,
      archiveParts: 1,
      leftOut: [],
      globs: params.logGlobs.split('|'),
      missingGlobs: [`${logs}/missing-*.gz`, `${logs}/absent dir/x.log`],
      journal: { requested: true, included: true, member: JOURNAL_MEMBER, bytes: expect.any(Number), exitCode: 0 },
    });
    expect(manifest.hostname).toMatch(/^\S+$/);
    expect(manifest.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(manifest.endTime >= manifest.startTime).toBe(true);
    // The version S3 gave the archive this run stored, and the SHA-256 it checked.
    expect(manifest.archiveVersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(manifest.archiveS3Checksum).toBe(sha256(archive, 'base64'));
    const sizes = Object.fromEntries(manifest.files.map((f: { path: string; bytes: number }) => [f.path, f.bytes]));
    const tree = readTree(logs);
    const expectedSizes: Record<string, number> = {};
    for (const [rel, body] of Object.entries(tree)) {
      if (rel === 'other.txt' || rel === 'app') continue;
      if (rel !== 'link.log') expectedSizes[`${logs}/${rel}`] = body.length;
    }
    expectedSizes['/etc/hostname'] = fs.statSync('/etc/hostname').size;
    expect(manifest.files.find((f: { path: string }) => f.path === '/etc/hostname').via).toBe(`${logs}/link.log`);
    // Quotes, backslashes, tabs, newlines and Latin-1 bytes all survive the JSON written in bash.
    expect(sizes).toEqual(expectedSizes);
  });

  it('puts exactly two objects, archive first, with the S3-verified SHA-256 and SSE-S3', () => {
    expect(run.awsVersionCalls).toBe(1);
    expect(run.stdout).toMatch(/; S3 checked SHA256; version \S+\)\n$/);
    expect(Object.keys(run.uploads).sort()).toEqual([`${KEY_BASE}/logs.tar.gz`, `${KEY_BASE}/manifest.json`]);
    expect(run.awsCalls.map((argv) => argAfter(argv, '--key'))).toEqual([`${KEY_BASE}/logs.tar.gz`, `${KEY_BASE}/manifest.json`]);
    for (const argv of run.awsCalls) {
      const key = argAfter(argv, '--key');
      expect(argv.slice(0, 2)).toEqual(['s3api', 'put-object']);
      expect({
        bucket: argAfter(argv, '--bucket'),
        region: argAfter(argv, '--region'),
        algorithm: argAfter(argv, '--checksum-algorithm'),
        checksum: argAfter(argv, '--checksum-sha256'),
        sse: argAfter(argv, '--server-side-encryption'),
        kms: argv.includes('--ssekms-key-id'),
        md5: argv.includes('--content-md5'),
      }).toEqual({
        bucket: 'acme-logs', region: 'eu-west-1', algorithm: 'SHA256', checksum: sha256(run.uploads[key], 'base64'), sse: 'AES256', kms: false, md5: false,
      });
    }
  });

  it('asks IMDSv2 for a token first and sends it with every metadata read', () => {
    expect(run.curlLog.trim().split('\n')).toEqual([
      'PUT http://169.254.169.254/latest/api/token [X-aws-ec2-metadata-token-ttl-seconds: 300]',
      'GET http://169.254.169.254/latest/meta-data/instance-id [X-aws-ec2-metadata-token: AQAEAstandin-token==]',
      'GET http://169.254.169.254/latest/meta-data/placement/region [X-aws-ec2-metadata-token: AQAEAstandin-token==]',
    ]);
  });

  it('exports the journal of the current boot, and cleans up its work directory', () => {
    expect(run.journalctlArgs).toEqual(['--no-pager', '-o', 'short-iso', '-b']);
    expect(run.leftovers).toEqual([]);
  });

  it('archives files named like shell code without running them', () => {
    expect(manifestOf(run).files.map((f: { path: string }) => path.basename(f.path))).toEqual(expect.arrayContaining(['$(echo >pwned-by-name).log', '`echo >pwned-by-name`.log']));
    expect(fs.readdirSync(sandbox.root).filter((f) => f.startsWith('pwned'))).toEqual([]);
    expect(fs.readdirSync(path.join(sandbox.root, 'run-1')).filter((f) => f.startsWith('pwned'))).toEqual([]);
    expectNoInjection();
  });
});

describe('variants', () => {
  it('rescues a Spot interruption under the same layout, with no hook', () => {
    const run = sandbox.run(script, { env: envOf({ ...params, trigger: 'spot', hookName: 'none' }) });
    expect(run.status).toBe(0);
    expect(manifestOf(run)).toMatchObject({ trigger: 'spot', hookName: 'none', asgName: ASG, instanceId: INSTANCE });
    expect(Object.keys(run.uploads).sort()).toEqual([`${KEY_BASE}/logs.tar.gz`, `${KEY_BASE}/manifest.json`]);
  });

  it('leaves the journal out when told to', () => {
    const run = sandbox.run(script, { env: envOf({ ...params, includeJournal: 'false' }) });
    expect(run.status).toBe(0);
    expect(run.journalctlArgs).toBeUndefined();
    expect(manifestOf(run).journal).toEqual({ requested: false });
    expect(Object.keys(extractTarGz(run.uploads[`${KEY_BASE}/logs.tar.gz`]))).not.toContain(JOURNAL_MEMBER);
  });

  it('still uploads on a system without journalctl, and says why the journal is missing', () => {
    const box = new ScriptSandbox({ journalctl: false });
    try {
      writeLogTree(path.join(box.root, 'logs'));
      const run = box.run(script, { env: envOf({ ...params, logGlobs: `${box.root}/logs/plain.log` }) });
      expect(run.status).toBe(0);
      expect(manifestOf(run).journal).toEqual({ requested: true, included: false, reason: 'journalctl not found' });
      expect(manifestOf(run).files).toEqual([{ path: `${box.root}/logs/plain.log`, bytes: 6 }]);
    } finally {
      box.cleanup();
    }
  });

  it('encrypts with the configured KMS key when bucket and key are Terraform references', () => {
    const { content, bucketRef, kmsRef } = synthDocumentWithReferences(docProps, { kms: true });
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const kmsScript = scriptOf(renderDocumentForTest(content, { [bucketRef]: 'acme-logs-20261120', [kmsRef!]: arn }));
    const run = sandbox.run(kmsScript, { env: envOf(params) });
    expect(run.status).toBe(0);
    for (const argv of run.awsCalls) {
      expect(argAfter(argv, '--bucket')).toBe('acme-logs-20261120');
      expect(argAfter(argv, '--server-side-encryption')).toBe('aws:kms');
      expect(argAfter(argv, '--ssekms-key-id')).toBe(arn);
    }
  });

  it('gets itself into bash when a plain sh (dash) is handed the file', () => {
    const run = sandbox.run(script, { env: envOf(params), via: 'sh' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

});

describe('an AWS CLI v1 too old for the checksum options (Amazon Linux 2, awscli 1.18.147)', () => {
  let run: ScriptRun;
  beforeAll(() => { run = sandbox.run(script, { env: { ...envOf(params), STANDIN_AWS_VERSION: V1_AMAZON_LINUX_2 } }); });

  it('exits 0 after asking the CLI its version once (read from stderr, as v1 on Python 2 prints it)', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.awsVersionCalls).toBe(1);
    expect(run.stdout).toMatch(/^log-rescue: uploaded 12 files \(2 missing globs, 0 left out\) as \d+ bytes in 1 parts to .*; S3 checked MD5; version \S+\)\n$/);
  });

  it('sends each object with the Content-MD5 of its bytes, and none of the options this CLI lacks', () => {
    expect(run.awsCalls.map((argv) => argAfter(argv, '--key'))).toEqual([`${KEY_BASE}/logs.tar.gz`, `${KEY_BASE}/manifest.json`]);
    for (const argv of run.awsCalls) {
      const key = argAfter(argv, '--key');
      expect(argv.slice(0, 2)).toEqual(['s3api', 'put-object']);
      expect(argv.filter((a) => a.startsWith('--checksum'))).toEqual([]);
      expect({ key, md5: argAfter(argv, '--content-md5'), sse: argAfter(argv, '--server-side-encryption') })
        .toEqual({ key, md5: md5(run.uploads[key]), sse: 'AES256' });
    }
  });

  it('archives the same files byte for byte', () => {
    expectArchiveOfLogTree(run);
  });

  it('writes the manifest a v2 run writes, saying S3 checked MD5 and still carrying the archive\'s SHA-256', () => {
    const manifest = manifestOf(run);
    const archive = run.uploads[`${KEY_BASE}/logs.tar.gz`];
    expect(manifest).toMatchObject({ s3Checksum: 'MD5', sha256: sha256(archive, 'hex'), archiveBytes: archive.length });
    // Only the times and the archive's bytes (the journal export is new each run) may differ.
    const v2 = manifestOf(sandbox.run(script, { env: envOf(params) }));
    expect(v2.s3Checksum).toBe('SHA256');
    const comparable = ({
      startTime: _s, endTime: _e, sha256: _h, archiveBytes: _b, s3Checksum: _c, archiveVersionId: _v, archiveS3Checksum: _x, collectedBytes: _t, journal: _j, ...rest
    }: Record<string, unknown>) => rest;
    expect(comparable(manifest)).toEqual(comparable(v2));
    expect(Object.keys(manifest)).toEqual(Object.keys(v2));
  });
});

describe('the digest S3 checks follows `aws --version`', () => {
  const small = () => ({ ...envOf({ ...params, logGlobs: `${logs}/plain.log`, includeJournal: 'false' }) });
  const expectUploadsCheckedWith = (run: ScriptRun, digest: 'SHA256' | 'MD5') => {
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(manifestOf(run).s3Checksum).toBe(digest);
    expect(run.awsCalls).toHaveLength(2);
    for (const argv of run.awsCalls) {
      const body = run.uploads[argAfter(argv, '--key')];
      const sent = argv.filter((a) => a === '--checksum-algorithm' || a === '--checksum-sha256' || a === '--content-md5');
      if (digest === 'SHA256') {
        expect(sent).toEqual(['--checksum-algorithm', '--checksum-sha256']);
        expect(argAfter(argv, '--checksum-sha256')).toBe(sha256(body, 'base64'));
      } else {
        expect(sent).toEqual(['--content-md5']);
        expect(argAfter(argv, '--content-md5')).toBe(md5(body));
      }
    }
  };

  // The stand-in knows the options from aws-cli 1.22.62 (botocore 1.24.7) and 2.4.21, as the real
  // CLI does; the script asks for 1.23.0 (botocore 1.25.0) and 2.5.0, one minor release later.
  it.each([
    ['current v2', V2_CURRENT, 'SHA256'],
    ['v2 from before the options (2.4.20)', 'aws-cli/2.4.20 Python/3.8.8 Linux/5.10.96-90.460.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off', 'MD5'],
    ['v2 2.4.21, which has them, below the conservative line', 'aws-cli/2.4.21 Python/3.8.8 Linux/5.10.96-90.460.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off', 'MD5'],
    ['v2 2.5.0', 'aws-cli/2.5.0 Python/3.9.11 Linux/5.10.102-99.473.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off', 'SHA256'],
    ['Amazon Linux 2 (v1 1.18.147 on Python 2)', V1_AMAZON_LINUX_2, 'MD5'],
    ['Ubuntu 20.04 apt (v1 1.18.69)', 'aws-cli/1.18.69 Python/3.8.10 Linux/5.15.0-1051-aws botocore/1.16.19', 'MD5'],
    ['Ubuntu 22.04 apt (v1 1.22.34)', 'aws-cli/1.22.34 Python/3.10.12 Linux/6.5.0-1020-aws botocore/1.23.34', 'MD5'],
    ['v1 1.22.62, which has them, below the conservative line', 'aws-cli/1.22.62 Python/3.8.10 Linux/5.15.0-1051-aws botocore/1.24.7', 'MD5'],
    ['v1 1.23.0', 'aws-cli/1.23.0 Python/3.8.10 Linux/5.15.0-1051-aws botocore/1.25.0', 'SHA256'],
    ['current v1', 'aws-cli/1.45.11 Python/3.11.7 Linux/6.8.0-1021-aws botocore/1.43.11', 'SHA256'],
    ['a new v1 on an old botocore (distribution packages)', 'aws-cli/1.32.0 Python/3.10.12 Linux/6.5.0-1020-aws botocore/1.24.0', 'MD5'],
    ['a version line after Python warnings', `/usr/lib/python3/dist-packages/requests/__init__.py:87: RequestsDependencyWarning: urllib3 (1.26.5) doesn't match a supported version!\n  warnings.warn(\n${V2_CURRENT}`, 'SHA256'],
  ] as const)('%s: %s -> %s', (_what, version, digest) => {
    const run = sandbox.run(script, { env: { ...small(), STANDIN_AWS_VERSION: version } });
    expectUploadsCheckedWith(run, digest);
    expect(run.awsVersionCalls).toBe(1);
  });

  it('a version line it cannot read: MD5, with a warning that says why', () => {
    const run = sandbox.run(script, { env: { ...small(), STANDIN_AWS_VERSION: 'aws (custom build) 3' } });
    expect(run.stderr).toBe('log-rescue: warning: cannot read the AWS CLI version from aws\\ \\(custom\\ build\\)\\ 3; S3 will check an MD5 instead of a SHA-256\n');
    expectUploadsCheckedWith({ ...run, stderr: '' }, 'MD5');
  });

  it.each([
    ['SHA256', V2_CURRENT, 'logs.tar.gz'],
    ['MD5', V1_AMAZON_LINUX_2, 'logs.tar.gz'],
    ['SHA256', V2_CURRENT, 'manifest.json'],
    ['MD5', V1_AMAZON_LINUX_2, 'manifest.json'],
  ] as const)('with %s, a body that reaches S3 altered (%s, %s) is refused and the rescue fails', (digest, version, target) => {
    const run = sandbox.run(script, { env: { ...small(), STANDIN_AWS_VERSION: version, STANDIN_AWS_TAMPER: target } });
    expect(run.status).not.toBe(0);
    const what = digest === 'SHA256' ? 'The SHA256 you specified' : 'The Content-MD5 you specified';
    const exit = version === V1_AMAZON_LINUX_2 ? 255 : 254;
    expect(run.stderr).toMatch(new RegExp(`BadDigest\\) when calling the PutObject operation: ${what}[\\s\\S]*log-rescue: error: upload of s3://acme-logs/instance-logs/.*/${target.replace('.', '\\.')} failed \\(aws exit ${exit}\\)`));
    expect(run.stderr).not.toMatch(/unexpected failure/);
    expect(Object.keys(run.uploads)).toEqual(target === 'manifest.json' ? [`${KEY_BASE}/logs.tar.gz`] : []);
    expect(run.leftovers).toEqual([]);
  });
});

describe('the aws stand-in is the CLI it claims to be', () => {
  /** One put-object of a 1-byte body, straight from a script. */
  const putObject = (version: string, options: string) => sandbox.run(
    `#!/bin/bash\nprintf x > body\naws s3api put-object --region eu-west-1 --bucket b --key k --body body --server-side-encryption AES256 ${options}\n`,
    { env: { STANDIN_AWS_VERSION: version } },
  );
  const X_SHA256 = sha256(Buffer.from('x'), 'base64');
  const X_MD5 = md5(Buffer.from('x'));

  it('an old v1 refuses the checksum options as Unknown options (exit 255) and uploads nothing', () => {
    const run = putObject(V1_AMAZON_LINUX_2, `--checksum-algorithm SHA256 --checksum-sha256 ${X_SHA256}`);
    expect(run.status).toBe(255);
    expect(run.stderr).toMatch(new RegExp(`^usage: aws \\[options\\][\\s\\S]*\\nUnknown options: --checksum-algorithm, SHA256, --checksum-sha256, ${X_SHA256.replace(/[+/]/g, '\\$&')}\\n$`));
    expect(run.uploads).toEqual({});
  });

  it('an old v2 refuses them with exit 252', () => {
    const run = putObject('aws-cli/2.4.20 Python/3.8.8 Linux/5.10.96 exe/x86_64.amzn.2 prompt/off', `--checksum-algorithm SHA256 --checksum-sha256 ${X_SHA256}`);
    expect(run.status).toBe(252);
    expect(run.stderr).toMatch(/Unknown options: --checksum-algorithm, SHA256/);
  });

  it('checks a Content-MD5 against the body like S3: BadDigest on a mismatch, InvalidDigest on a non-MD5', () => {
    expect(putObject(V1_AMAZON_LINUX_2, `--content-md5 ${X_MD5}`)).toMatchObject({ status: 0, uploads: { k: Buffer.from('x') } });
    const wrong = putObject(V1_AMAZON_LINUX_2, `--content-md5 ${md5(Buffer.from('y'))}`);
    // v1 exits 255 on a service error (v2: 254).
    expect(wrong).toMatchObject({ status: 255, uploads: {} });
    expect(wrong.stderr).toMatch(/\(BadDigest\).*Content-MD5 you specified did not match/);
    expect(putObject(V1_AMAZON_LINUX_2, '--content-md5 eA==').stderr).toMatch(/\(InvalidDigest\)/);
  });

  it('checks a SHA-256 like S3, and refuses a put-object with no digest at all', () => {
    expect(putObject(V2_CURRENT, `--checksum-algorithm SHA256 --checksum-sha256 ${X_SHA256}`)).toMatchObject({ status: 0, uploads: { k: Buffer.from('x') } });
    expect(putObject(V2_CURRENT, `--checksum-algorithm SHA256 --checksum-sha256 ${sha256(Buffer.from('y'), 'base64')}`)).toMatchObject({ status: 254, uploads: {} });
    expect(putObject(V2_CURRENT, '')).toMatchObject({ status: 252, uploads: {} });
  });
});

describe('failures exit non-zero with a reason, upload nothing and clean up', () => {
  const expectFailure = (run: ScriptRun, message: RegExp) => {
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/unexpected failure/);
    expect(run.leftovers).toEqual([]);
  };

  it('IMDS unreachable', () => {
    const run = sandbox.run(script, { env: { ...envOf(params), STANDIN_IMDS_FAIL: 'connect' } });
    expectFailure(run, /log-rescue: error: IMDSv2 token request failed \(curl exit 7\)/);
    expect(run.awsCalls).toEqual([]);
  });

  it('IMDS metadata read failing', () => {
    const run = sandbox.run(script, { env: { ...envOf(params), STANDIN_IMDS_FAIL: 'metadata' } });
    expectFailure(run, /IMDS instance-id request failed \(curl exit 22\)/);
    expect(run.awsCalls).toEqual([]);
  });

  it('archive upload refused', () => {
    const run = sandbox.run(script, { env: { ...envOf(params), STANDIN_AWS_FAIL: 'all' } });
    expectFailure(run, /AccessDenied[\s\S]*log-rescue: error: upload of s3:\/\/acme-logs\/instance-logs\/web fleet-1\.prod\/i-0abc1234def567890\/20261120T223000Z\/logs\.tar\.gz failed \(aws exit 254\)/);
    expect(run.awsCalls).toHaveLength(1);
  });

  it('manifest upload refused', () => {
    const run = sandbox.run(script, { env: { ...envOf(params), STANDIN_AWS_FAIL: 'manifest.json' } });
    expectFailure(run, /upload of s3:\/\/acme-logs\/.*\/manifest\.json failed \(aws exit 254\)/);
    expect(run.awsCalls).toHaveLength(2);
  });

  it('no AWS CLI at all', () => {
    // No aws on PATH; the script's fallback locations are swapped for one that cannot exist, so
    // an AWS CLI installed on this machine cannot be found instead.
    const box = new ScriptSandbox({ aws: false });
    try {
      const noFallback = script.replace('for candidate in /usr/local/bin/aws /usr/bin/aws /snap/bin/aws; do', `for candidate in '${box.root}/nowhere/aws'; do`);
      expect(noFallback).not.toBe(script);
      const run = box.run(noFallback, { env: envOf(params) });
      expectFailure(run, /^log-rescue: error: AWS CLI \(aws\) not found on PATH or as \/usr\/local\/bin\/aws, \/usr\/bin\/aws or \/snap\/bin\/aws; install AWS CLI v2 \(or v1\)\n$/);
      expect(run.curlLog).toBe('');
    } finally {
      box.cleanup();
    }
  });

  it('an AWS CLI that does not run', () => {
    const run = sandbox.run(script, { env: { ...envOf(params), STANDIN_AWS_BROKEN: '1' } });
    expectFailure(run, /log-rescue: error: the AWS CLI at .*\/aws does not run \(aws --version exited 1\): \$'Traceback .*ModuleNotFoundError: No module named \\'awscli\\''\n$/);
    expect(run.curlLog).toBe('');
    expect(run.awsCalls).toEqual([]);
  });

  it('tar failing', () => {
    const box = new ScriptSandbox({ tarExitCode: 2 });
    try {
      const run = box.run(script, { env: envOf({ ...params, logGlobs: '/etc/hostname' }) });
      expectFailure(run, /log-rescue: error: tar failed \(exit 2\)/);
      expect(run.awsCalls).toEqual([]);
    } finally {
      box.cleanup();
    }
  });

  it('a parameter the agent did not set (the fallback then holds the raw {{eventTime}})', () => {
    const { eventTime: _omitted, ...rest } = params;
    const run = sandbox.run(script, { env: envOf(rest) });
    expectFailure(run, /log-rescue: error: invalid eventTime \(YYYYMMDDTHHMMSSZ\): \\\{\\\{eventTime\\\}\\\}/);
    expect(run.curlLog).toBe('');
  });
});

describe('hostile parameter values', () => {
  const canary = () => sandbox.canaryDir;
  /**
   * Shell syntax that would create a canary file (or delete the victim) if it ever ran. Builtins
   * (echo and a redirection), because the sandbox PATH has only the script's own tools.
   */
  const attacks = () => [
    `$(echo >${canary()}/dollar-paren)`,
    `\`echo >${canary()}/backtick\``,
    `x; echo >${canary()}/semicolon`,
    `x; rm -rf ${canary()}/victim`,
    `x"; echo >${canary()}/quote; "`,
    `x\necho >${canary()}/newline`,
    `x' ; echo >${canary()}/single-quote ; '`,
    `\${IFS}$(echo >${canary()}/ifs)`,
    `x && echo >${canary()}/and`,
    `x | echo >${canary()}/pipe`,
    '../',
    '..',
  ];

  it('are rejected by every parameter\'s allowedPattern', () => {
    const hostile = [...attacks().filter((a) => a !== '..'), '$(touch /tmp/x)', '`touch /tmp/x`', '; rm -rf /', '"', 'a\nb', '../'];
    for (const name of RESCUE_DOCUMENT_PARAMETERS) {
      const re = new RegExp(RESCUE_PARAMETER_PATTERNS[name]);
      const asValue = name === 'logGlobs'
        ? hostile.flatMap((h) => [h, `/var/log/${h}`, `/var/log/messages|/var/log/${h}`])
        : hostile;
      for (const value of asValue) expect({ name, value, accepted: re.test(value) }).toEqual({ name, value, accepted: false });
    }
    // ".." is a legal ASG name, so the pattern lets it through; the script refuses it as a key segment.
    expect(new RegExp(RESCUE_PARAMETER_PATTERNS.asgName).test('..')).toBe(true);
  });

  it('that pass the patterns stay data when an old agent pastes them into the script', () => {
    const values: Record<RescueDocumentParameter, string> = {
      asgName: 'web fleet-1.prod',
      hookName: 'team/log-rescue_2',
      trigger: 'lifecycle',
      eventTime: EVENT_TIME,
      // Every glob character the pattern allows, unexpanded until the script expands it on purpose.
      logGlobs: [`${logs}/app one.log`, `${logs}/[p]lain.lo?`, `${logs}/nested dir`, `${logs}/%@+,x-*.gz`, `${logs}/*.gz`].join('|'),
      includeJournal: 'false',
    };
    for (const [name, value] of Object.entries(values)) expect(new RegExp(RESCUE_PARAMETER_PATTERNS[name as RescueDocumentParameter]).test(value)).toBe(true);
    const oldAgentScript = substituteLikeOldAgent(script, values);
    expect(oldAgentScript).not.toMatch(/\{\{/);
    const run = sandbox.run(oldAgentScript, { env: {} });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const manifest = manifestOf(run);
    expect(manifest).toMatchObject({ asgName: ASG, hookName: 'team/log-rescue_2', journal: { requested: false } });
    expect(manifest.missingGlobs).toEqual([`${logs}/%@+,x-*.gz`, `${logs}/*.gz`]);
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([
      `${logs}/app one.log`, `${logs}/nested dir/.hidden`, `${logs}/nested dir/deep/inner log.txt`, `${logs}/plain.log`,
    ]);
    expectNoInjection();
  });

  it('that the patterns reject would run on an old agent (why the patterns matter, and proof the canary works)', () => {
    const box = new ScriptSandbox();
    try {
      const value = `x"; echo >${box.canaryDir}/old-agent; "`;
      expect(new RegExp(RESCUE_PARAMETER_PATTERNS.asgName).test(value)).toBe(false);
      box.run(substituteLikeOldAgent(script, { ...params, asgName: value }), { env: {} });
      expect(box.canaries()).toEqual(['old-agent']);
    } finally {
      box.cleanup();
    }
  });

  it.each(['asgName', 'hookName', 'trigger', 'eventTime', 'includeJournal'] as const)(
    'in %s, set straight into the environment past the pattern, are refused before anything runs',
    (name) => {
      for (const value of attacks()) {
        const run = sandbox.run(script, { env: envOf({ ...params, [name]: value }) });
        expect({ value, status: run.status, stderr: run.stderr }).toEqual({ value, status: 1, stderr: expect.stringContaining(`log-rescue: error: invalid ${name}`) });
        expect(run.curlLog).toBe('');
        expect(run.awsCalls).toEqual([]);
      }
      expectNoInjection();
    },
  );

  it('in logGlobs, set straight into the environment past the pattern, are only ever file name patterns', () => {
    // (| separates globs; the attack with one is in the next test.)
    const hostileGlobs = attacks().filter((a) => !a.startsWith('..') && !a.includes('|')).map((a) => `${logs}/${a}`);
    const run = sandbox.run(script, { env: envOf({ ...params, logGlobs: [`${logs}/plain.log`, ...hostileGlobs].join('|') }) });
    expect(run.status).toBe(0);
    const manifest = manifestOf(run);
    expect(manifest.files).toEqual([{ path: `${logs}/plain.log`, bytes: 6 }]);
    // Listed back verbatim (quotes, newline and all) through the manifest's JSON escaping.
    expect(manifest.missingGlobs).toEqual(hostileGlobs);
    expectNoInjection();
  });

  it('in logGlobs, climbing out with .. or naming a relative path, stop the script', () => {
    for (const glob of [`${logs}/../../etc/shadow`, `${logs}/nested dir/..`, 'var/log/messages', `${logs}/./plain.log`, `${logs}/x | echo >${canary()}/pipe`]) {
      const run = sandbox.run(script, { env: envOf({ ...params, logGlobs: glob }) });
      expect({ glob, status: run.status }).toEqual({ glob, status: 1 });
      expect(run.stderr).toMatch(/log glob (has a \. or \.\. segment|is not an absolute path)/);
      expect(run.awsCalls).toEqual([]);
    }
    expectNoInjection();
  });
});

/** The script as rendered for a config (a cap), with parts of `partMiB` (S3's minimum is 5) instead of 64 MiB. */
function scriptWith(opts: { maxTotalMb?: number; partMiB?: number } = {}): string {
  const text = scriptOf(renderDocumentForTest(rescueDocumentContent({ ...docProps, bucketName: 'acme-logs', maxTotalMb: opts.maxTotalMb })));
  if (opts.partMiB === undefined) return text;
  const changed = text.replace('part_size=$((64 * 1048576))', `part_size=$((${opts.partMiB} * 1048576))`);
  expect(changed).not.toBe(text);
  return changed;
}
/** Incompressible bytes (gzip cannot shrink them), so the archive is as large as the logs. */
const noise = (bytes: number, seed = 1) => {
  const out = Buffer.alloc(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; out[i] = x >>> 24; }
  return out;
};
const ARCHIVE_KEY = `${KEY_BASE}/logs.tar.gz`;
const MANIFEST_KEY = `${KEY_BASE}/manifest.json`;
const operations = (run: ScriptRun) => run.awsCalls.map((argv) => argv[1]);

describe('symlinks', () => {
  let box: ScriptSandbox;
  let root: string;
  beforeAll(() => {
    box = new ScriptSandbox();
    root = path.join(box.root, 'host');
    // An app whose log directory is a link to a data volume, with a current.log link in it.
    fs.mkdirSync(path.join(root, 'data/app/logs/old'), { recursive: true });
    fs.writeFileSync(path.join(root, 'data/app/logs/app-3.log'), 'app 3\n');
    fs.writeFileSync(path.join(root, 'data/app/logs/old/app-1.log'), 'app 1\n');
    fs.symlinkSync('app-3.log', path.join(root, 'data/app/logs/current.log'));
    // Links found while descending: a loop and /proc, stored as links and never followed.
    fs.symlinkSync('..', path.join(root, 'data/app/logs/old/loop'));
    fs.symlinkSync('/proc', path.join(root, 'data/app/logs/proc'));
    fs.mkdirSync(path.join(root, 'var/log'), { recursive: true });
    fs.symlinkSync(path.join(root, 'data/app/logs'), path.join(root, 'var/log/app'));
    fs.symlinkSync(path.join(root, 'data/app/logs/app-3.log'), path.join(root, 'var/log/current.log'));
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'var/log/dangling.log'));
  });
  afterAll(() => box.cleanup());

  it('archive what a matched link points to, descend a linked directory without following the links inside it', () => {
    const run = box.run(script, { env: envOf({ ...params, logGlobs: `${root}/var/log/app|${root}/var/log/*.log`, includeJournal: 'false' }) });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const members = extractTarGz(run.uploads[ARCHIVE_KEY]);
    const r = root.slice(1);
    expect(members).toEqual({
      [`${r}/data/app/logs/app-3.log`]: Buffer.from('app 3\n'),
      [`${r}/data/app/logs/old/app-1.log`]: Buffer.from('app 1\n'),
      [`${r}/data/app/logs/current.log`]: Buffer.from('-> app-3.log'),
      [`${r}/data/app/logs/old/loop`]: Buffer.from('-> ..'),
      [`${r}/data/app/logs/proc`]: Buffer.from('-> /proc'),
    });
    const manifest = manifestOf(run);
    // var/log/current.log names the same file as the directory's app-3.log: archived once.
    expect(manifest.files.map((f: { path: string; via?: string }) => [f.path, f.via]).sort()).toEqual([
      [`${root}/data/app/logs/app-3.log`, expect.stringMatching(/\/var\/log\/(app|current\.log)$/)],
      [`${root}/data/app/logs/current.log`, `${root}/var/log/app`],
      [`${root}/data/app/logs/old/app-1.log`, `${root}/var/log/app`],
      [`${root}/data/app/logs/old/loop`, `${root}/var/log/app`],
      [`${root}/data/app/logs/proc`, `${root}/var/log/app`],
    ]);
    expect(manifest.leftOut).toEqual([{ path: `${root}/var/log/dangling.log`, bytes: 0, reason: 'symlink whose target does not exist' }]);
  });

  (process.getuid?.() === 0 ? it : it.skip)('do not follow a link another user made to a file that is not theirs (as root could read /etc/shadow)', () => {
    const link = path.join(root, 'var/log/shadow.log');
    fs.symlinkSync('/etc/shadow', link);
    fs.lchownSync(link, 1000, 1000);
    try {
      const run = box.run(script, { env: envOf({ ...params, logGlobs: link, includeJournal: 'false' }) });
      expect(run.status).toBe(66);
      expect(manifestOf(run).leftOut).toEqual([{ path: link, bytes: 0, reason: 'symlink owned by uid 1000 to a file of uid 0, not followed' }]);
      expect(run.uploads[ARCHIVE_KEY]).toBeUndefined();
    } finally {
      fs.rmSync(link);
    }
  });
});

describe('nothing collected', () => {
  it.each([
    ['no glob matches and the journal is off', { includeJournal: 'false' }, {}, { requested: false }],
    ['no glob matches and the journal is empty', { includeJournal: 'true' }, { STANDIN_JOURNAL_EMPTY: '1' }, { requested: true, included: false, reason: 'empty', exitCode: 0 }],
  ])('%s: uploads only the manifest, which says what was looked for, and exits NOTHING_COLLECTED_EXIT_CODE', (_what, p, env, journal) => {
    const globs = [`${logs}/nope-*.log`, `${logs}/absent dir`];
    const run = sandbox.run(script, { env: { ...envOf({ ...params, ...p, logGlobs: globs.join('|') }), ...env } });
    expect(run.status).toBe(NOTHING_COLLECTED_EXIT_CODE);
    expect(run.stderr).toMatch(/^log-rescue: nothing collected: 2 of 2 globs matched nothing, 0 files left out, .*manifest\.json\n$/);
    expect(Object.keys(run.uploads)).toEqual([MANIFEST_KEY]);
    expect(operations(run)).toEqual(['put-object']);
    expect(manifestOf(run)).toMatchObject({
      outcome: 'nothing-collected', archiveKey: null, sha256: null, archiveVersionId: null, archiveBytes: 0, archiveParts: 0,
      globs, missingGlobs: globs, files: [], leftOut: [], journal,
    });
    expect(run.leftovers).toEqual([]);
  });

  it('the exit code comes from config/patterns.ts, rendered into the document, not written in the script', () => {
    expect(NOTHING_COLLECTED_EXIT_CODE).toBe(66);
    expect(fs.readFileSync(COLLECT_LOGS_SCRIPT_PATH, 'utf8')).not.toMatch(/\b66\b/);
    expect(script).toContain(`LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE=${NOTHING_COLLECTED_EXIT_CODE}`);
  });
});

describe('large archives: streamed, in S3-verified parts, with one part on local disk', () => {
  let box: ScriptSandbox;
  let dir: string;
  let big: Buffer;
  beforeAll(() => {
    box = new ScriptSandbox();
    dir = path.join(box.root, 'big');
    fs.mkdirSync(dir);
    big = noise(12 * 1048576 + 4321);
    fs.writeFileSync(path.join(dir, 'app.log'), big);
  });
  afterAll(() => box.cleanup());
  const run5MiB = (env: Record<string, string> = {}) => box.run(scriptWith({ partMiB: 5 }), { env: { ...envOf({ ...params, logGlobs: `${dir}/*.log`, includeJournal: 'false' }), ...env } });

  it.each([['SHA256', V2_CURRENT], ['MD5', V1_AMAZON_LINUX_2]] as const)('with %s: create, 3 parts each with its own digest, complete; S3 assembles the archive', (digest, version) => {
    const run = run5MiB({ STANDIN_AWS_VERSION: version });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(operations(run)).toEqual(['create-multipart-upload', 'upload-part', 'upload-part', 'upload-part', 'complete-multipart-upload', 'put-object']);
    const archive = run.uploads[ARCHIVE_KEY];
    expect(extractTarGz(archive)[`${dir.slice(1)}/app.log`].equals(big)).toBe(true);
    const create = run.awsCalls[0];
    expect({ sse: argAfter(create, '--server-side-encryption'), type: argAfter(create, '--content-type'), algorithm: create.includes('--checksum-algorithm') ? argAfter(create, '--checksum-algorithm') : undefined })
      .toEqual({ sse: 'AES256', type: 'application/gzip', algorithm: digest === 'SHA256' ? 'SHA256' : undefined });
    const partBodies = [archive.subarray(0, 5 * 1048576), archive.subarray(5 * 1048576, 10 * 1048576), archive.subarray(10 * 1048576)];
    run.awsCalls.slice(1, 4).forEach((argv, i) => {
      expect(argAfter(argv, '--part-number')).toBe(String(i + 1));
      if (digest === 'SHA256') expect(argAfter(argv, '--checksum-sha256')).toBe(sha256(partBodies[i], 'base64'));
      else expect([argAfter(argv, '--content-md5'), argv.some((a) => a.startsWith('--checksum'))]).toEqual([md5(partBodies[i]), false]);
    });
    const composite = `${createHash('sha256').update(Buffer.concat(partBodies.map((b) => createHash('sha256').update(b).digest()))).digest('base64')}-3`;
    expect(manifestOf(run)).toMatchObject({
      outcome: 'rescued', sha256: sha256(archive, 'hex'), archiveBytes: archive.length, archiveParts: 3, partBytes: 5 * 1048576, s3Checksum: digest,
      archiveS3Checksum: digest === 'SHA256' ? composite : null, archiveVersionId: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
    });
    expect(run.stdout).toMatch(/ in 3 parts to /);
    // Local disk while uploading: one 5 MiB part and small lists, never the 12 MiB archive.
    expect(Math.max(...run.tmpdirKb)).toBeLessThanOrEqual(5 * 1024 + 64);
    expect(run.leftovers).toEqual([]);
  });

  it.each([
    ['a part refused', { STANDIN_AWS_FAIL: 'UploadPart' }, /AccessDenied\) when calling the UploadPart operation[\s\S]*error: upload of part 1 of s3:\/\/acme-logs\/.*logs\.tar\.gz failed \(aws exit 254\)/],
    ['a part altered on the way', { STANDIN_AWS_TAMPER: 'logs.tar.gz' }, /BadDigest\) when calling the UploadPart operation: The SHA256 you specified[\s\S]*upload of part 1 .* failed \(aws exit 254\)/],
    ['completion refused', { STANDIN_AWS_FAIL: 'CompleteMultipartUpload' }, /could not complete the multipart upload of s3:\/\/acme-logs\/.*logs\.tar\.gz \(aws exit 254\)/],
  ])('%s: the upload is aborted, nothing is stored, the rescue fails', (_what, env, message) => {
    const run = run5MiB(env);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/unexpected failure/);
    expect(operations(run).at(-1)).toBe('abort-multipart-upload');
    // The id is passed as --upload-id=<id>: S3's ids may start with '-'.
    const uploadIdOf = (argv: string[]) => argv.find((a) => a.startsWith('--upload-id='));
    expect(uploadIdOf(run.awsCalls.at(-1)!)).toMatch(/^--upload-id=-/);
    expect(uploadIdOf(run.awsCalls.at(-1)!)).toBe(uploadIdOf(run.awsCalls[1]));
    expect(run.uploads).toEqual({});
    expect(run.leftovers).toEqual([]);
  });

  it('a multi-GB sparse file: archived sparse (tar --sparse), a small archive, its holes and data intact', () => {
    const sparse = path.join(dir, 'sparse.log');
    fs.writeFileSync(sparse, 'head\n');
    fs.truncateSync(sparse, 3 * 1024 ** 3);
    fs.appendFileSync(sparse, 'tail\n');
    try {
      const started = Date.now();
      const run = box.run(script, { env: envOf({ ...params, logGlobs: sparse, includeJournal: 'false' }) });
      const seconds = (Date.now() - started) / 1000;
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      const archive = run.uploads[ARCHIVE_KEY];
      expect(archive.length).toBeLessThan(64 * 1024);
      expect(manifestOf(run).files).toEqual([{ path: sparse, bytes: 3 * 1024 ** 3 + 5 }]);
      expect(seconds).toBeLessThan(20);
      const out = fs.mkdtempSync(path.join(box.root, 'x-'));
      fs.writeFileSync(path.join(out, 'a.tgz'), archive);
      expect(spawnSync('tar', ['-xzf', 'a.tgz'], { cwd: out }).status).toBe(0);
      const extracted = path.join(out, sparse.slice(1));
      expect(fs.statSync(extracted).size).toBe(3 * 1024 ** 3 + 5);
      const fd = fs.openSync(extracted, 'r');
      const at = (pos: number, n: number) => { const b = Buffer.alloc(n); fs.readSync(fd, b, 0, n, pos); return b.toString('latin1'); };
      expect([at(0, 5), at(1024 ** 3, 4), at(3 * 1024 ** 3, 5)]).toEqual(['head\n', '\0\0\0\0', 'tail\n']);
      fs.closeSync(fd);
      // eslint-disable-next-line no-console
      console.log(`sparse 3 GiB + 10 bytes: archive ${archive.length} bytes, ${seconds.toFixed(1)} s, peak TMPDIR ${Math.max(...run.tmpdirKb)} KiB`);
    } finally {
      fs.rmSync(sparse);
    }
  });
});

describe('the size cap (logRescue.command.maxTotalMb)', () => {
  it('takes the journal, then files newest first while they fit, and lists the rest with size and reason', () => {
    const box = new ScriptSandbox();
    try {
      const dir = path.join(box.root, 'capped');
      fs.mkdirSync(dir);
      const put = (name: string, bytes: number, ageSeconds: number) => {
        fs.writeFileSync(path.join(dir, name), noise(bytes, bytes));
        const t = Date.now() / 1000 - ageSeconds;
        fs.utimesSync(path.join(dir, name), t, t);
      };
      put('new.log', 300_000, 10);
      put('big-older.log', 900_000, 100);
      put('small-oldest.log', 200_000, 1000);
      const run = box.run(scriptWith({ maxTotalMb: 1 }), { env: envOf({ ...params, logGlobs: `${dir}/*.log` }) });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      const manifest = manifestOf(run);
      expect(manifest.files.map((f: { path: string }) => path.basename(f.path))).toEqual(['new.log', 'small-oldest.log']);
      expect(manifest.leftOut).toEqual([{ path: `${dir}/big-older.log`, bytes: 900_000, reason: 'size cap: maxTotalMb 1 reached (newer files first)' }]);
      expect(manifest).toMatchObject({ maxTotalBytes: 1048576, collectedBytes: manifest.journal.bytes + 500_000, journal: { included: true, truncated: false } });
      expect(Object.keys(extractTarGz(run.uploads[ARCHIVE_KEY])).map((m) => path.basename(m)).sort())
        .toEqual(['journal-current-boot.log', 'new.log', 'small-oldest.log']);
      expect(run.stdout).toMatch(/uploaded 2 files \(0 missing globs, 1 left out\)/);
    } finally {
      box.cleanup();
    }
  });
});

describe('free space', () => {
  it('not even one part free in TMPDIR or /dev/shm: fails before uploading anything, saying what it needs', () => {
    const full = new ScriptSandbox({ dfAvailableKb: { [os.tmpdir()]: 1000, '/dev/shm': 2000 } });
    try {
      const run = full.run(script, { env: envOf(params) });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^log-rescue: error: not enough free space to stream the archive: it needs 71303168 bytes \(one 67108864-byte part and lists\); .*: 1024000 bytes free; \/dev\/shm: 2048000 bytes free;\n$/);
      expect(run.awsCalls).toEqual([]);
    } finally {
      full.cleanup();
    }
  });

  it('a full TMPDIR: the part is buffered in memory (/dev/shm) and the rescue goes on', () => {
    const full = new ScriptSandbox({ dfAvailableKb: { [os.tmpdir()]: 1000 } });
    try {
      const before = new Set(fs.readdirSync('/dev/shm'));
      const run = full.run(script, { env: envOf({ ...params, logGlobs: `${logs}/plain.log` }) });
      expect(run.status).toBe(0);
      expect(run.stderr).toMatch(/^log-rescue: warning: buffering parts in \/dev\/shm:/);
      expect(fs.readdirSync('/dev/shm').filter((f) => !before.has(f) && f.startsWith('log-rescue.'))).toEqual([]);
    } finally {
      full.cleanup();
    }
  });
});
