/**
 * The rescue document's script with the REAL AWS CLI v2 (Debian's `awscli`, see
 * support/real-aws-cli.ts) uploading over https to a local S3 stand-in that checks signatures,
 * digests and encryption headers like S3 and answers in S3's error XML (support/s3-standin.ts).
 * IMDSv2 (curl) and journalctl are the stand-ins of the other script suite.
 *
 * The other suite (collect-logs.test.ts) runs a bash imitation of the CLI, which can only
 * encode what we believe the CLI does; this one runs the CLI itself, so an option v2 does not know,
 * a header it does not send or a digest S3 would refuse fails here. The Content-MD5 path is reached
 * by having the wrapper answer `aws --version` like a 2.4.0; the uploads still go through the real CLI.
 *
 * @lane sim
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rescueDocumentContent } from '../../../modules/log-rescue/document';
import { extractTarGz, readTree, renderDocumentForTest, ScriptRun, ScriptSandbox, scriptOf } from '../../support/bash-standins';
import { AWS_CLI_ENV_OVERRIDE, CommandRun, findAwsCliV2, runAsync, VERSION_LINE_OVERRIDE, writeAwsWrapper } from '../../support/real-aws-cli';
import { RecordedRequest, S3StandIn, STANDIN_ACCESS_KEY_ID, StoredObject } from '../../support/s3-standin';

// No CLI v2: the whole suite fails here, saying how to install one. It never skips.
const cli = findAwsCliV2();

const BUCKET = 'acme-logs';
const REGION = 'eu-west-1';
const INSTANCE = 'i-0abc1234def567890';
const EVENT_TIME = '20261120T223000Z';
const ASG = 'web fleet-1.prod';
const KEY_BASE = `instance-logs/${ASG}/${INSTANCE}/${EVENT_TIME}`;
const ARCHIVE_KEY = `${KEY_BASE}/logs.tar.gz`;
const MANIFEST_KEY = `${KEY_BASE}/manifest.json`;
const JOURNAL_MEMBER = '_log-rescue/journal-current-boot.log';
const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** What `aws --version` says for the Content-MD5 path: a v2 older than the script's 2.5.0 line. */
const OLD_V2_VERSION_LINE = 'aws-cli/2.4.0 Python/3.8.8 Linux/5.10.96-90.460.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off';

const docProps = { prefix: 'instance-logs', logGlobs: ['/var/log/messages'], includeJournal: true, executionTimeoutSeconds: 600 };
const scriptFor = (kms: boolean) => scriptOf(renderDocumentForTest(rescueDocumentContent({ ...docProps, bucketName: BUCKET, kmsKeyArn: kms ? KMS_KEY_ARN : undefined })));
const sha256 = (b: Buffer, enc: 'hex' | 'base64') => createHash('sha256').update(b).digest(enc);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

let s3: S3StandIn;
let sandbox: ScriptSandbox;
let wrapper: string;
let logs: string;
let params: Record<string, string>;

/** One script run against a fresh stand-in: what the script said and what S3 saw and kept. */
interface Rescue {
  run: ScriptRun;
  requests: RecordedRequest[];
  objects: Map<string, StoredObject>;
}

async function rescue(script: string, opts: { versionLine?: string; tamper?: string; env?: Record<string, string> } = {}): Promise<Rescue> {
  s3.clear();
  if (opts.tamper) s3.tamper = (key) => key.endsWith(opts.tamper!);
  const env: Record<string, string> = { ...Object.fromEntries(Object.entries(params).map(([k, v]) => [`SSM_${k}`, v])), ...opts.env };
  if (opts.versionLine) env[VERSION_LINE_OVERRIDE] = opts.versionLine;
  const run = await sandbox.runAsync(script, { env });
  return { run, requests: [...s3.requests], objects: new Map(s3.objects) };
}

/** The wrapper (`aws` of the sandbox), run directly with `args`. */
const aws = (args: string[], cwd = sandbox.root): Promise<CommandRun> => runAsync(wrapper, args, { cwd, env: { PATH: '/usr/bin:/bin', HOME: sandbox.root } });

beforeAll(async () => {
  s3 = await S3StandIn.start({ buckets: { [BUCKET]: REGION } });
  sandbox = new ScriptSandbox({ aws: false });
  wrapper = writeAwsWrapper(sandbox.binDir, cli, s3);
  logs = path.join(sandbox.root, 'logs');
  fs.mkdirSync(path.join(logs, 'nested dir'), { recursive: true });
  fs.writeFileSync(path.join(logs, 'app one.log'), 'line 1\nline 2\n');
  fs.writeFileSync(path.join(logs, 'plain.log'), 'plain\n');
  // Incompressible, so the archive is a few hundred KB and not one TCP segment.
  fs.writeFileSync(path.join(logs, 'nested dir', 'random.bin'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919 + (i >> 5) * 104729) % 251)));
  params = {
    asgName: ASG,
    hookName: 'log-rescue',
    trigger: 'lifecycle',
    eventTime: EVENT_TIME,
    logGlobs: [`${logs}/*.log`, `${logs}/nested dir`, `${logs}/missing-*.gz`].join('|'),
    includeJournal: 'true',
  };
});
afterAll(async () => {
  await s3?.close();
  sandbox?.cleanup();
});

describe('the AWS CLI this suite runs', () => {
  it(`is a v2 (${AWS_CLI_ENV_OVERRIDE}, else /usr/bin/aws or /usr/local/bin/aws), never the aws first on PATH`, () => {
    expect(cli.version).toMatch(/^aws-cli\/2\.\d+\.\d+ /);
    expect(['/usr/bin/aws', '/usr/local/bin/aws', process.env[AWS_CLI_ENV_OVERRIDE]]).toContain(cli.path);
  });

  it('missing or v1, the suite fails and says how to install v2', () => {
    expect(() => findAwsCliV2({ [AWS_CLI_ENV_OVERRIDE]: path.join(sandbox.root, 'no such aws') }))
      .toThrow(/found none .*not found.*apt-get update && apt-get install -y awscli/);
    const v1 = path.join(sandbox.root, 'aws-v1');
    fs.writeFileSync(v1, '#!/bin/sh\necho "aws-cli/1.45.11 Python/3.11.7 Linux/6.8.0 botocore/1.43.11"\n', { mode: 0o755 });
    expect(() => findAwsCliV2({ [AWS_CLI_ENV_OVERRIDE]: v1 })).toThrow(/aws-v1: exit 0, "aws-cli\/1\.45\.11 .*apt-get install -y awscli/);
  });
});

/** The archive holds every matched log file byte for byte, and the journal. */
function expectArchiveOfLogs(archive: Buffer): void {
  const { [JOURNAL_MEMBER]: journal, ...files } = extractTarGz(archive);
  const expected = Object.fromEntries(Object.entries(readTree(logs)).map(([rel, body]) => [`${logs.slice(1)}/${rel}`, body]));
  expect(Object.keys(files).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, body] of Object.entries(expected)) expect({ name, same: files[name].equals(body) }).toEqual({ name, same: true });
  expect(journal.toString()).toMatch(/^2026-11-20T22:29:58\+0000 ip-10-0-0-12 systemd\[1\]/);
}

describe.each([
  { digest: 'SHA256', sse: 'AES256' },
  { digest: 'SHA256', sse: 'aws:kms' },
  { digest: 'MD5', sse: 'AES256' },
  { digest: 'MD5', sse: 'aws:kms' },
] as const)('a rescue where S3 checks $digest and encrypts with $sse', ({ digest, sse }) => {
  let r: Rescue;
  beforeAll(async () => {
    r = await rescue(scriptFor(sse === 'aws:kms'), { versionLine: digest === 'MD5' ? OLD_V2_VERSION_LINE : undefined });
  });

  it('exits 0 and says which digest S3 checked', () => {
    expect({ status: r.run.status, stderr: r.run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.run.stdout).toMatch(new RegExp(`^log-rescue: uploaded 3 files \\(1 missing globs, 0 left out\\) as \\d+ bytes in 1 parts to s3://${BUCKET}/${reEscape(ARCHIVE_KEY)} \\(sha256 [0-9a-f]{64}; S3 checked ${digest}; version [A-Za-z0-9_-]{32}\\)\\n$`));
  });

  it('PUTs the archive, then the manifest, once each, through the real CLI, and S3 keeps both', () => {
    expect(r.requests.map((q) => ({ method: q.method, key: q.key, status: q.status, error: q.errorCode }))).toEqual([
      { method: 'PUT', key: ARCHIVE_KEY, status: 200, error: undefined },
      { method: 'PUT', key: MANIFEST_KEY, status: 200, error: undefined },
    ]);
    expect([...r.objects.keys()]).toEqual([`${BUCKET}/${ARCHIVE_KEY}`, `${BUCKET}/${MANIFEST_KEY}`]);
    for (const q of r.requests) {
      expect(q.url).toBe(`/${BUCKET}/${q.key!.split('/').map(encodeURIComponent).join('/')}`);
      expect(q.headers['user-agent']).toMatch(new RegExp(`^${reEscape(cli.version.split(' ')[0])} .*command/s3api\\.put-object`));
      // Signed for the region the script passes (the wrapper sets none); the stand-in checked the signature.
      expect(q.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${STANDIN_ACCESS_KEY_ID}/\\d{8}/${REGION}/s3/aws4_request,`));
    }
  });

  it(`sends the ${digest} of the exact bytes stored as a header S3 verifies, and no other digest`, () => {
    for (const q of r.requests) {
      const body = r.objects.get(`${BUCKET}/${q.key}`)!.body;
      expect(q.payload.equals(body)).toBe(true);
      // A plain body: no aws-chunked encoding, no trailer, a Content-Length.
      expect({ encoding: q.headers['content-encoding'], trailer: q.headers['x-amz-trailer'], length: q.headers['content-length'] })
        .toEqual({ encoding: undefined, trailer: undefined, length: String(body.length) });
      const digests = Object.fromEntries(Object.entries(q.headers).filter(([n]) => n === 'content-md5' || n.startsWith('x-amz-checksum-') || n === 'x-amz-sdk-checksum-algorithm'));
      expect(digests).toEqual(digest === 'SHA256'
        ? { 'x-amz-sdk-checksum-algorithm': 'SHA256', 'x-amz-checksum-sha256': sha256(body, 'base64') }
        : { 'content-md5': md5(body) });
      expect(r.objects.get(`${BUCKET}/${q.key}`)!.checksum).toEqual(digest === 'SHA256' ? { algorithm: 'SHA256', value: sha256(body, 'base64') } : undefined);
    }
  });

  it(`asks for ${sse}${sse === 'aws:kms' ? ' with the configured key' : ''}, and S3 stores the objects so`, () => {
    for (const q of r.requests) {
      expect({
        sse: q.headers['x-amz-server-side-encryption'],
        key: q.headers['x-amz-server-side-encryption-aws-kms-key-id'],
      }).toEqual({ sse, key: sse === 'aws:kms' ? KMS_KEY_ARN : undefined });
      const stored = r.objects.get(`${BUCKET}/${q.key}`)!;
      expect({ sse: stored.serverSideEncryption, key: stored.kmsKeyId }).toEqual({ sse, key: sse === 'aws:kms' ? KMS_KEY_ARN : undefined });
    }
    expect(r.requests.map((q) => q.headers['content-type'])).toEqual(['application/gzip', 'application/json']);
  });

  it('stores the archive the script made: every log file byte for byte, and the journal', () => {
    expectArchiveOfLogs(r.objects.get(`${BUCKET}/${ARCHIVE_KEY}`)!.body);
  });

  it('stores a manifest whose SHA-256, size, VersionId and checksum are those of the stored archive', () => {
    const archive = r.objects.get(`${BUCKET}/${ARCHIVE_KEY}`)!.body;
    const manifest = JSON.parse(r.objects.get(`${BUCKET}/${MANIFEST_KEY}`)!.body.toString('utf8'));
    expect(manifest).toMatchObject({
      instanceId: INSTANCE, region: REGION, asgName: ASG, archiveKey: ARCHIVE_KEY,
      sha256: sha256(archive, 'hex'), archiveBytes: archive.length, s3Checksum: digest,
      missingGlobs: [`${logs}/missing-*.gz`],
      // The version and checksum S3 answered for the archive this run stored (the CLI's output, read by the script).
      archiveVersionId: r.objects.get(`${BUCKET}/${ARCHIVE_KEY}`)!.versionId,
      archiveS3Checksum: digest === 'SHA256' ? sha256(archive, 'base64') : null,
    });
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([`${logs}/app one.log`, `${logs}/nested dir/random.bin`, `${logs}/plain.log`]);
  });

  it('cleans up its work directory', () => {
    expect(r.run.leftovers).toEqual([]);
  });
});

describe('a body altered between the instance and S3', () => {
  it.each([
    ['SHA256', 'logs.tar.gz'],
    ['SHA256', 'manifest.json'],
    ['MD5', 'logs.tar.gz'],
    ['MD5', 'manifest.json'],
  ] as const)('with %s on %s: S3 answers BadDigest, stores nothing under that key, and the rescue fails', async (digest, target) => {
    const r = await rescue(scriptFor(false), { tamper: target, versionLine: digest === 'MD5' ? OLD_V2_VERSION_LINE : undefined });
    const key = `${KEY_BASE}/${target}`;
    const message = digest === 'SHA256'
      ? 'The SHA256 you specified did not match the calculated checksum.'
      : 'The Content-MD5 you specified did not match what we received.';
    expect(r.run.status).not.toBe(0);
    // The real CLI's words for S3's error XML, then the script's; a service error is exit 254 in v2.
    expect(r.run.stderr).toContain(`An error occurred (BadDigest) when calling the PutObject operation: ${message}`);
    expect(r.run.stderr).toMatch(new RegExp(`log-rescue: error: upload of s3://${BUCKET}/${reEscape(key)} failed \\(aws exit 254\\)\\n$`));
    expect(r.run.stderr).not.toMatch(/unexpected failure/);
    // One attempt: BadDigest is not retried.
    expect(r.requests.filter((q) => q.key === key).map((q) => ({ tampered: q.tampered, status: q.status, error: q.errorCode })))
      .toEqual([{ tampered: true, status: 400, error: 'BadDigest' }]);
    expect(r.objects.has(`${BUCKET}/${key}`)).toBe(false);
    expect([...r.objects.keys()]).toEqual(target === 'manifest.json' ? [`${BUCKET}/${ARCHIVE_KEY}`] : []);
    if (target === 'manifest.json') expectArchiveOfLogs(r.objects.get(`${BUCKET}/${ARCHIVE_KEY}`)!.body);
    expect(r.run.leftovers).toEqual([]);
  });
});

describe('S3 throttling the upload', () => {
  // CLI v2 on its own makes 3 attempts (standard mode); a fourth proves the script's
  // AWS_MAX_ATTEMPTS=5 reached it.
  it('the CLI retries past its default 3 attempts, with the same body and digest each time, and the rescue succeeds', async () => {
    s3.clear();
    let refusals = 0;
    s3.fail = (key) => (key === ARCHIVE_KEY && refusals++ < 3 ? { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } : undefined);
    const env = Object.fromEntries(Object.entries(params).map(([k, v]) => [`SSM_${k}`, v]));
    const run = await sandbox.runAsync(scriptFor(false), { env });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const puts = s3.putsOf(ARCHIVE_KEY);
    expect(puts.map((q) => q.errorCode ?? q.status)).toEqual(['SlowDown', 'SlowDown', 'SlowDown', 200]);
    const stored = s3.objects.get(`${BUCKET}/${ARCHIVE_KEY}`)!.body;
    for (const q of puts) {
      expect(q.payload.equals(stored)).toBe(true);
      expect(q.headers['x-amz-checksum-sha256']).toBe(sha256(stored, 'base64'));
    }
  });
});

describe('an option the real CLI does not know fails', () => {
  it('through the wrapper: the CLI\'s own usage error, exit 252, and nothing reaches S3', async () => {
    s3.clear();
    fs.writeFileSync(path.join(sandbox.root, 'body'), 'x');
    const run = await aws(['s3api', 'put-object', '--region', REGION, '--bucket', BUCKET, '--key', 'k', '--body', 'body', '--no-such-option', 'x']);
    expect(run.status).toBe(252);
    expect(run.stderr).toMatch(/^\nusage: aws \[options\] <command> <subcommand>[\s\S]*\n\nUnknown options: --no-such-option, x\n\n$/);
    expect(s3.requests).toEqual([]);
  });

  it('in the script: a put-object option this CLI lacks (--checksum-crc64nvme, from later v2 releases) fails the rescue', async () => {
    const script = scriptFor(false);
    const withNewFlag = script.replace('sse=(--server-side-encryption AES256)', 'sse=(--server-side-encryption AES256 --checksum-crc64nvme AAAAAAAAAAA=)');
    expect(withNewFlag).not.toBe(script);
    const r = await rescue(withNewFlag);
    expect(r.run.status).toBe(1);
    expect(r.run.stderr).toMatch(new RegExp(`\\nUnknown options: --checksum-crc64nvme, AAAAAAAAAAA=\\n\\nlog-rescue: error: upload of s3://${BUCKET}/${reEscape(ARCHIVE_KEY)} failed \\(aws exit 252\\)\\n$`));
    expect(r.requests).toEqual([]);
  });
});

describe('the S3 stand-in is S3 where it matters, to the real CLI', () => {
  const body = Buffer.from('hello world\n');
  const put = async (args: string[], opts: { tamper?: boolean; region?: string } = {}) => {
    s3.clear();
    if (opts.tamper) s3.tamper = () => true;
    fs.writeFileSync(path.join(sandbox.root, 'body'), body);
    return aws(['s3api', 'put-object', '--region', opts.region ?? REGION, '--bucket', BUCKET, '--key', 'probe/k', '--body', 'body', ...args]);
  };

  it('answers a stored PutObject as S3 does, and the CLI reads it', async () => {
    const run = await put(['--checksum-algorithm', 'SHA256', '--checksum-sha256', sha256(body, 'base64'), '--server-side-encryption', 'aws:kms', '--ssekms-key-id', KMS_KEY_ARN]);
    expect(run.status).toBe(0);
    const stored = s3.objects.get(`${BUCKET}/probe/k`)!;
    expect(JSON.parse(run.stdout)).toEqual({
      ETag: stored.etag, ChecksumSHA256: sha256(body, 'base64'), ServerSideEncryption: 'aws:kms', VersionId: stored.versionId, SSEKMSKeyId: KMS_KEY_ARN,
    });
  });

  it('decodes the CLI\'s own aws-chunked upload with a trailing checksum (--checksum-algorithm alone, over https)', async () => {
    const run = await put(['--checksum-algorithm', 'SHA256']);
    expect(run.status).toBe(0);
    const [q] = s3.requests;
    expect({
      encoding: q.headers['content-encoding'],
      transfer: q.headers['transfer-encoding'],
      trailer: q.headers['x-amz-trailer'],
      decodedLength: q.headers['x-amz-decoded-content-length'],
      contentSha256: q.headers['x-amz-content-sha256'],
      checksumHeader: q.headers['x-amz-checksum-sha256'],
      trailers: q.trailers,
    }).toEqual({
      encoding: 'aws-chunked',
      transfer: 'chunked',
      trailer: 'x-amz-checksum-sha256',
      decodedLength: String(body.length),
      contentSha256: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      checksumHeader: undefined,
      trailers: { 'x-amz-checksum-sha256': sha256(body, 'base64') },
    });
    expect(q.wireBytes).toBeGreaterThan(body.length);
    expect(s3.objects.get(`${BUCKET}/probe/k`)).toMatchObject({ body, checksum: { algorithm: 'SHA256', value: sha256(body, 'base64') }, contentEncoding: undefined });
    expect(JSON.parse(run.stdout).ChecksumSHA256).toBe(sha256(body, 'base64'));
  });

  it('refuses an altered aws-chunked body against its trailer', async () => {
    const run = await put(['--checksum-algorithm', 'SHA256'], { tamper: true });
    expect(run.status).toBe(254);
    expect(s3.requests.map((q) => [q.headers['content-encoding'], q.tampered, q.errorCode])).toEqual([['aws-chunked', true, 'BadDigest']]);
    expect(run.stderr).toContain('(BadDigest) when calling the PutObject operation: The SHA256 you specified did not match the calculated checksum.');
    expect(s3.objects.size).toBe(0);
  });

  it.each([
    ['a Content-MD5 that is not an MD5', ['--content-md5', 'eA=='], 'InvalidDigest', 'The Content-MD5 you specified was invalid.'],
    ['another body\'s Content-MD5', ['--content-md5', md5(Buffer.from('y'))], 'BadDigest', 'The Content-MD5 you specified did not match what we received.'],
    ['another body\'s SHA-256', ['--checksum-algorithm', 'SHA256', '--checksum-sha256', sha256(Buffer.from('y'), 'base64')], 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.'],
    ['a SHA-256 that is not one', ['--checksum-algorithm', 'SHA256', '--checksum-sha256', 'eA=='], 'InvalidRequest', 'Value for x-amz-checksum-sha256 header is invalid.'],
    ['an encryption S3 does not have', ['--server-side-encryption', 'AES128'], 'InvalidArgument', 'The encryption method specified is not supported'],
  ])('refuses %s: exit 254, nothing stored', async (_what, args, code, message) => {
    const run = await put(args);
    expect(run.status).toBe(254);
    expect(run.stderr).toContain(`An error occurred (${code}) when calling the PutObject operation: ${message}`);
    expect(s3.objects.size).toBe(0);
  });

  it('refuses a signature for another region and names the bucket\'s, which the CLI then signs for (as against S3)', async () => {
    const run = await put([], { region: 'us-east-1' });
    expect(run.status).toBe(0);
    expect(s3.requests.map((q) => ({ scope: q.headers.authorization.split('/')[2], status: q.status, error: q.errorCode }))).toEqual([
      { scope: 'us-east-1', status: 400, error: 'AuthorizationHeaderMalformed' },
      { scope: REGION, status: 200, error: undefined },
    ]);
  });

  it('refuses a wrong signature and an unknown bucket', async () => {
    s3.clear();
    fs.writeFileSync(path.join(sandbox.root, 'body'), body);
    const ca = path.join(sandbox.root, 's3-standin-ca.pem');
    const direct = (secret: string, bucket: string) => runAsync(cli.path, ['--endpoint-url', s3.endpoint, 's3api', 'put-object', '--region', REGION, '--bucket', bucket, '--key', 'k', '--body', 'body'], {
      cwd: sandbox.root,
      env: {
        PATH: '/usr/bin:/bin', HOME: sandbox.root, AWS_ACCESS_KEY_ID: STANDIN_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: secret, AWS_CA_BUNDLE: ca,
        AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      },
    });
    const badSignature = await direct('not-the-secret', BUCKET);
    expect(badSignature.status).toBe(254);
    expect(badSignature.stderr).toContain('(SignatureDoesNotMatch) when calling the PutObject operation: The request signature we calculated does not match');
    const wrapperSecret = fs.readFileSync(wrapper, 'utf8').match(/AWS_SECRET_ACCESS_KEY='([^']+)'/)![1];
    const noBucket = await direct(wrapperSecret, 'no-such-bucket');
    expect(noBucket.status).toBe(254);
    expect(noBucket.stderr).toContain('(NoSuchBucket) when calling the PutObject operation: The specified bucket does not exist');
    expect(s3.objects.size).toBe(0);
  });

  it('refuses SSE-KMS over plain http, as S3 does', async () => {
    const plain = await S3StandIn.start({ buckets: { [BUCKET]: REGION }, tls: false });
    try {
      const box = new ScriptSandbox({ aws: false, journalctl: false });
      try {
        const plainWrapper = writeAwsWrapper(box.binDir, cli, plain);
        fs.writeFileSync(path.join(box.root, 'body'), body);
        const args = ['s3api', 'put-object', '--region', REGION, '--bucket', BUCKET, '--key', 'k', '--body', 'body'];
        const env = { PATH: '/usr/bin:/bin', HOME: box.root };
        const kms = await runAsync(plainWrapper, [...args, '--server-side-encryption', 'aws:kms', '--ssekms-key-id', KMS_KEY_ARN], { cwd: box.root, env });
        expect(kms.status).toBe(254);
        expect(kms.stderr).toContain('(InvalidArgument) when calling the PutObject operation: Requests specifying Server Side Encryption with AWS KMS managed keys must be made over a secure connection.');
        const sseS3 = await runAsync(plainWrapper, [...args, '--server-side-encryption', 'AES256'], { cwd: box.root, env });
        expect(sseS3.status).toBe(0);
        expect([...plain.objects.keys()]).toEqual([`${BUCKET}/k`]);
      } finally {
        box.cleanup();
      }
    } finally {
      await plain.close();
    }
  });
});

describe('a large archive through the real CLI: multipart, every part checked by S3', () => {
  let dir: string;
  let big: Buffer;
  const scriptWithParts = (partMiB: number, opts: { kms?: boolean; maxTotalMb?: number } = {}) => {
    const text = scriptOf(renderDocumentForTest(rescueDocumentContent({
      ...docProps, bucketName: BUCKET, kmsKeyArn: opts.kms ? KMS_KEY_ARN : undefined, maxTotalMb: opts.maxTotalMb,
    })));
    return partMiB === 64 ? text : text.replace('part_size=$((64 * 1048576))', `part_size=$((${partMiB} * 1048576))`);
  };
  beforeAll(() => {
    dir = path.join(sandbox.root, 'big');
    fs.mkdirSync(dir, { recursive: true });
    big = Buffer.alloc(11 * 1048576 + 777);
    for (let i = 0, x = 7; i < big.length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; big[i] = x >>> 24; }
    fs.writeFileSync(path.join(dir, 'app.log'), big);
  });
  const bigRescue = (script: string, opts: { versionLine?: string } = {}) => {
    const saved = params.logGlobs;
    params.logGlobs = `${dir}/*.log`;
    return rescue(script, opts).finally(() => { params.logGlobs = saved; });
  };

  it.each([
    { digest: 'SHA256', sse: 'AES256' },
    { digest: 'MD5', sse: 'aws:kms' },
  ] as const)('with $digest and $sse: CreateMultipartUpload, 3 UploadParts, CompleteMultipartUpload, then the manifest', async ({ digest, sse }) => {
    const r = await bigRescue(scriptWithParts(5, { kms: sse === 'aws:kms' }), { versionLine: digest === 'MD5' ? OLD_V2_VERSION_LINE : undefined });
    expect({ status: r.run.status, stderr: r.run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.requests.map((q) => [S3StandIn.operationOf(q), q.status])).toEqual([
      ['CreateMultipartUpload', 200], ['UploadPart', 200], ['UploadPart', 200], ['UploadPart', 200], ['CompleteMultipartUpload', 200], ['PutObject', 200],
    ]);
    const stored = r.objects.get(`${BUCKET}/${ARCHIVE_KEY}`)!;
    expect(extractTarGz(stored.body)[`${dir.slice(1)}/app.log`].equals(big)).toBe(true);
    // What the real CLI 2.9.19 sends: the algorithm and SSE on the create; on each part only its digest header.
    const create = r.requests[0].headers;
    expect({ algorithm: create['x-amz-checksum-algorithm'], sse: create['x-amz-server-side-encryption'], kms: create['x-amz-server-side-encryption-aws-kms-key-id'], type: create['content-type'] })
      .toEqual({ algorithm: digest === 'SHA256' ? 'SHA256' : undefined, sse, kms: sse === 'aws:kms' ? KMS_KEY_ARN : undefined, type: 'application/gzip' });
    for (const q of r.requests.slice(1, 4)) {
      const digests = Object.fromEntries(Object.entries(q.headers).filter(([n]) => n === 'content-md5' || n.startsWith('x-amz-checksum-') || n === 'x-amz-sdk-checksum-algorithm'));
      expect(digests).toEqual(digest === 'SHA256' ? { 'x-amz-checksum-sha256': sha256(q.payload, 'base64') } : { 'content-md5': md5(q.payload) });
      expect(q.headers['x-amz-server-side-encryption']).toBeUndefined();
      // Over https, 2.9.19 signs the part's SHA-256 when it sends --checksum-sha256, and leaves the
      // payload unsigned when it sends Content-MD5: then the MD5 is all S3 checks.
      expect(q.headers['x-amz-content-sha256']).toBe(digest === 'SHA256' ? sha256(q.payload, 'hex') : 'UNSIGNED-PAYLOAD');
    }
    expect(r.requests.slice(1, 4).map((q) => q.payload.length)).toEqual([5 * 1048576, 5 * 1048576, stored.body.length - 10 * 1048576]);
    expect({ sse: stored.serverSideEncryption, kms: stored.kmsKeyId, parts: stored.parts }).toEqual({ sse, kms: sse === 'aws:kms' ? KMS_KEY_ARN : undefined, parts: 3 });
    const manifest = JSON.parse(r.objects.get(`${BUCKET}/${MANIFEST_KEY}`)!.body.toString('utf8'));
    expect(manifest).toMatchObject({
      sha256: sha256(stored.body, 'hex'), archiveBytes: stored.body.length, archiveParts: 3, s3Checksum: digest,
      archiveVersionId: stored.versionId, archiveS3Checksum: stored.checksum?.value ?? null,
    });
    if (digest === 'SHA256') expect(stored.checksum!.value).toMatch(/^[A-Za-z0-9+/]{43}=-3$/);
    expect(r.run.leftovers).toEqual([]);
  });

  it('a part S3 refuses: the script aborts the upload (AbortMultipartUpload), S3 keeps nothing, the rescue fails', async () => {
    s3.clear();
    s3.fail = (_key, operation) => (operation === 'UploadPart' && s3.requests.filter((q) => S3StandIn.operationOf(q) === 'UploadPart').length >= 1
      ? { status: 403, code: 'AccessDenied', message: 'Access Denied' } : undefined);
    const env = { ...Object.fromEntries(Object.entries(params).map(([k, v]) => [`SSM_${k}`, v])), SSM_logGlobs: `${dir}/*.log` };
    const run = await sandbox.runAsync(scriptWithParts(5), { env });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/An error occurred \(AccessDenied\) when calling the UploadPart operation: Access Denied\nlog-rescue: error: upload of part 2 of .* failed \(aws exit 254\)\n$/);
    expect(s3.requests.map((q) => S3StandIn.operationOf(q))).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'AbortMultipartUpload']);
    expect(s3.requests.at(-1)!.status).toBe(204);
    expect(s3.uploads.size).toBe(0);
    expect(s3.objects.size).toBe(0);
  });

  it('64 MiB parts, a 3 GiB sparse file and a cap: the sparse file costs its data, not its size; what the cap left out is listed', async () => {
    const sparse = path.join(dir, 'sparse.log');
    fs.writeFileSync(sparse, 'head\n');
    fs.truncateSync(sparse, 3 * 1024 ** 3);
    fs.appendFileSync(sparse, 'tail\n');
    const old = path.join(dir, 'old.log');
    fs.writeFileSync(old, big.subarray(0, 3 * 1048576));
    const t = Date.now() / 1000 - 3600;
    fs.utimesSync(old, t, t);
    try {
      const started = Date.now();
      const r = await bigRescue(scriptWithParts(64, { maxTotalMb: 12 }));
      const seconds = (Date.now() - started) / 1000;
      expect({ status: r.run.status, stderr: r.run.stderr }).toEqual({ status: 0, stderr: '' });
      const manifest = JSON.parse(r.objects.get(`${BUCKET}/${MANIFEST_KEY}`)!.body.toString('utf8'));
      expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([`${dir}/app.log`, sparse]);
      expect(manifest.leftOut).toEqual([{ path: old, bytes: 3 * 1048576, reason: 'size cap: maxTotalMb 12 reached (newer files first)' }]);
      const stored = r.objects.get(`${BUCKET}/${ARCHIVE_KEY}`)!;
      // One part of 64 MiB holds it: a single PutObject.
      expect(r.requests.map((q) => S3StandIn.operationOf(q))).toEqual(['PutObject', 'PutObject']);
      expect(manifest).toMatchObject({ archiveParts: 1, partBytes: 64 * 1048576, archiveBytes: stored.body.length, archiveVersionId: stored.versionId });
      // eslint-disable-next-line no-console
      console.log(`real CLI: 3 GiB sparse + 11 MiB log, cap 12 MiB: archive ${stored.body.length} bytes in ${seconds.toFixed(1)} s`);
    } finally {
      fs.rmSync(sparse);
      fs.rmSync(old);
    }
  });
});
