/**
 * config/schema.ts: the defaults it fills, the rules it holds each field to (the message names the
 * field, the value given and what is allowed), and its exported checks (bucketNameProblem,
 * ipv4NetworkProblem, kmsKeyArn, sessionKmsKeyOf) against the AWS rules they stand for.
 *
 * @lane unit
 */
import { bucketNameProblem, ipv4NetworkProblem, kmsKeyArn, sessionKmsKeyOf } from '../../config/schema';
import { configProblems, testConfig } from '../support/synth';

function problemsOf(overrides: Record<string, unknown>): string[] {
  const problems = configProblems(overrides);
  if (!problems.length) throw new Error(`config was accepted: ${JSON.stringify(overrides)}`);
  return problems;
}

describe('config validation', () => {
  it('accepts the committed default and fills every default', () => {
    const c = testConfig();
    expect(c.backend).toEqual({ type: 'local', directory: '.' });
    expect(c.logRescue.lifecycleHook).toEqual({ name: 'log-rescue', heartbeatTimeoutSeconds: 900, defaultResult: 'CONTINUE' });
    expect(c.sessionLogs.logGroup.retentionDays).toBe(3);
    expect(c.logRescue.archiveBucket.preventDestroy).toBe(true);
  });

  it.each([
    ['CloudWatch retention not accepted by CloudWatch', { sessionLogs: { logGroup: { retentionDays: 4 } } }, 'sessionLogs.logGroup.retentionDays: got 4; allowed: one of the retention values CloudWatch Logs accepts'],
    ['invalid S3 bucket name', { logRescue: { archiveBucket: { bucketName: 'My_Bucket' } } }, 'logRescue.archiveBucket.bucketName: got "My_Bucket"; allowed: a valid S3 bucket name'],
    ['bucket name shaped like an IP', { sessionLogs: { archiveBucket: { bucketName: '192.168.1.10' } } }, 'sessionLogs.archiveBucket.bucketName: got "192.168.1.10"; allowed: a valid S3 bucket name: not formatted as an IP address'],
    ['heartbeat below 30', { logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: 20 } } }, 'logRescue.lifecycleHook.heartbeatTimeoutSeconds: got 20; allowed: integer 30..7200'],
    ['heartbeat above 7200', { logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: 7201 } } }, 'logRescue.lifecycleHook.heartbeatTimeoutSeconds: got 7201; allowed: integer 30..7200'],
    ['unknown backend type', { backend: { type: 'consul' } }, 'backend.type: got "consul"; allowed: one of local, s3, cloud'],
    ['a region that is not a region', { region: 'us-east-9' }, 'region: got "us-east-9"; allowed: an AWS region such as us-east-1'],
    ['unknown key at the top', { regoin: 'us-east-1' }, 'regoin: got "us-east-1"; allowed: no such key here (check the spelling)'],
    ['unknown nested key', { logRescue: { lifecycleHook: { heartbeatTimeout: 300 } } }, 'logRescue.lifecycleHook.heartbeatTimeout: got 300; allowed: no such key here'],
  ])('rejects %s, naming field, value and what is allowed', (_name, overrides, expected) => {
    const problems = problemsOf(overrides);
    expect(problems.join('\n')).toContain(expected);
  });

  describe('handler concurrency', () => {
    it('reserves nothing by default and caps the event source mapping at 30', () => {
      const h = testConfig().logRescue.handler;
      expect(h.reservedConcurrency).toBeUndefined();
      expect(h.maximumConcurrency).toBe(30);
    });

    // ScalingConfig.MaximumConcurrency: "Valid Range: Minimum value of 2. Maximum value of 1000."
    // (Lambda API reference, ScalingConfig, https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html)
    it('accepts the maximum concurrency Lambda accepts, 2..1000, and nothing else', () => {
      for (const ok of [2, 1000]) expect(testConfig({ logRescue: { handler: { maximumConcurrency: ok } } }).logRescue.handler.maximumConcurrency).toBe(ok);
      for (const bad of [1, 1001]) {
        expect(problemsOf({ logRescue: { handler: { maximumConcurrency: bad } } }).join('\n'))
          .toContain(`logRescue.handler.maximumConcurrency: got ${bad}; allowed: integer 2..1000`);
      }
      expect(problemsOf({ logRescue: { handler: { maximumConcurrency: 2.5 } } }).join('\n'))
        .toMatch(/logRescue\.handler\.maximumConcurrency: got 2\.5; allowed: .*integer/);
    });

    it('takes a reservation at least as high as the maximum concurrency', () => {
      const c = testConfig({ logRescue: { handler: { reservedConcurrency: 30 } } }).logRescue.handler;
      expect([c.reservedConcurrency, c.maximumConcurrency]).toEqual([30, 30]);
      expect(testConfig({ logRescue: { handler: { reservedConcurrency: 10, maximumConcurrency: 10 } } }).logRescue.handler.reservedConcurrency).toBe(10);
    });

    // Lambda throttles a function at its reservation while the mapping keeps polling up to its own
    // maximum (AWS Knowledge Center, lambda-sqs-scaling, https://repost.aws/knowledge-center/lambda-sqs-scaling).
    it('refuses a maximum concurrency above the reservation, naming both fields and values', () => {
      const explicit = problemsOf({ logRescue: { handler: { reservedConcurrency: 10, maximumConcurrency: 20 } } });
      expect(explicit).toEqual([expect.stringMatching(
        /^logRescue\.handler\.maximumConcurrency: got 20; allowed: at most handler\.reservedConcurrency \(10\) when that is set/,
      )]);
      // The default maximum (30) counts as set.
      expect(problemsOf({ logRescue: { handler: { reservedConcurrency: 10 } } }).join('\n'))
        .toContain('logRescue.handler.maximumConcurrency: got 30; allowed: at most handler.reservedConcurrency (10)');
    });
  });
});

// S3 User Guide, "General purpose bucket naming rules"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3..63 characters of
// lowercase letters, numbers, dots and hyphens, beginning and ending with a letter or number, no two
// adjacent periods, not formatted as an IP address, and no reserved prefix or suffix.
describe('bucketNameProblem', () => {
  const CHARACTERS = 'lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit';
  const PREFIX = 'no reserved prefix (xn--, sthree-, amzn-s3-demo-)';
  const SUFFIX = 'no reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)';

  it.each(['abc', 'a'.repeat(63), 'acme-log-archive-111111111111', 'logs.example.com', '1st-bucket', 'a-b.c-d', '192.168.5'])('accepts %j', (name) => {
    expect(bucketNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['ab', 'length 3..63'],
    ['a'.repeat(64), 'length 3..63'],
    ['My-Bucket', CHARACTERS],
    ['my_bucket', CHARACTERS],
    ['-bucket', CHARACTERS],
    ['bucket-', CHARACTERS],
    ['bucket.', CHARACTERS],
    ['my..bucket', 'no two adjacent dots'],
    ['192.168.5.4', 'not formatted as an IP address'],
    ['xn--bucket', PREFIX],
    ['sthree-bucket', PREFIX],
    ['sthree-configurator-x', PREFIX],
    ['amzn-s3-demo-bucket', PREFIX],
    ['logs-s3alias', SUFFIX],
    ['logs--ol-s3', SUFFIX],
    ['logs--x-s3', SUFFIX],
    ['logs--table-s3', SUFFIX],
    ['logs.mrap', SUFFIX],
  ])('refuses %j: %s', (name, problem) => {
    expect(bucketNameProblem(name)).toBe(problem);
  });

  it('is the message of every bucket name field, after "a valid S3 bucket name"', () => {
    expect(configProblems({ logRescue: { archiveBucket: { bucketName: 'logs--x-s3' } } }))
      .toEqual([`logRescue.archiveBucket.bucketName: got "logs--x-s3"; allowed: a valid S3 bucket name: ${SUFFIX}`]);
  });
});

describe('ipv4NetworkProblem', () => {
  it.each(['10.42.0.0/16', '10.42.7.0/24', '10.42.0.128/25', '172.16.0.0/12', '0.0.0.0/0'])('accepts the network address %s', (cidr) => {
    expect(ipv4NetworkProblem(cidr)).toBeUndefined();
  });

  it.each([
    ['10.42.1.0/16', 'host bits zero (a network address such as 10.42.0.0/16)'],
    ['10.42.0.64/24', 'host bits zero (a network address such as 10.42.0.0/16)'],
    ['10.42.0.1/32', undefined],
    ['256.0.0.0/16', 'octets 0..255'],
    ['10.300.0.0/16', 'octets 0..255'],
  ])('%s: %s', (cidr, problem) => {
    expect(ipv4NetworkProblem(cidr)).toBe(problem);
  });

  it('stops a demo fleet VPC CIDR with host bits, naming field, value and what is allowed', () => {
    expect(configProblems({ demoFleet: { vpcCidr: '10.42.1.0/16' } }))
      .toEqual(['demoFleet.vpcCidr: got "10.42.1.0/16"; allowed: an IPv4 network CIDR: host bits zero (a network address such as 10.42.0.0/16)']);
  });
});

// KMS API reference, DescribeKey, KeyId: "Key ID: 1234abcd-12ab-34cd-56ef-1234567890ab", and for a
// multi-Region key "mrk-1234abcd12ab34cd56ef1234567890ab"; a key ARN is
// arn:<partition>:kms:<region>:<account>:key/<key id>
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html).
describe('kmsKeyArn', () => {
  it.each([
    'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
    'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  ])('accepts %s', (arn) => {
    expect(kmsKeyArn.safeParse(arn).success).toBe(true);
  });

  it.each([
    ['an alias ARN', 'arn:aws:kms:us-east-1:111122223333:alias/logs'],
    ['a bare key id', '1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['an 11-digit account', 'arn:aws:kms:us-east-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    ['uppercase hex', 'arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab'],
    ['a short multi-Region id', 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890a'],
    ['anything after the key id', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab; reboot'],
    ['another service', 'arn:aws:s3:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
  ])('refuses %s', (_what, arn) => {
    expect(kmsKeyArn.safeParse(arn).success).toBe(false);
  });

  it('says what a key ARN looks like when a field gets something else', () => {
    expect(configProblems({ logRescue: { archiveBucket: { encryption: 'SSE-KMS', kmsKeyArn: 'alias/logs' } } })).toEqual([
      'logRescue.archiveBucket.kmsKeyArn: got "alias/logs"; allowed: an ARN of the form arn:aws:kms:<region>:<account>:key/<key id> '
        + '(a key id such as 1234abcd-12ab-34cd-56ef-1234567890ab or mrk-1234abcd12ab34cd56ef1234567890ab)',
    ]);
  });
});

describe('sessionKmsKeyOf', () => {
  const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

  it.each([
    ['unset', {}, undefined],
    ['"none"', { sessionKmsKeyArn: 'none' }, undefined],
    ['a key ARN', { sessionKmsKeyArn: KEY }, KEY],
  ])('%s', (_what, document, key) => {
    expect(sessionKmsKeyOf(document)).toBe(key);
  });
});
