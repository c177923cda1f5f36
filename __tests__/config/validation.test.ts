/**
 * @lane unit
 */
import { parseConfig } from '../../config/load';
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

  it('lists every problem at once', () => {
    const problems = problemsOf({ region: 'mars-1', logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: 1 } }, backend: { type: 'nope' } });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['backend.type', 'logRescue.lifecycleHook.heartbeatTimeoutSeconds', 'region']);
  });

  it('formats one readable message', () => {
    try {
      parseConfig({ region: 'nowhere', logRescue: { autoScalingGroups: ['a'] } }, 'x.json');
      throw new Error('accepted');
    } catch (e) {
      expect((e as Error).message).toBe('Invalid configuration in x.json (1 problem):\n  - region: got "nowhere"; allowed: an AWS region such as us-east-1 or eu-west-1 (known: ' +
        'us-east-1, us-east-2, us-west-1, us-west-2, af-south-1, ap-east-1, ap-east-2, ap-south-1, ap-south-2, ap-southeast-1, ap-southeast-2, ap-southeast-3, ap-southeast-4, ap-southeast-5, ap-southeast-7, ap-northeast-1, ap-northeast-2, ap-northeast-3, ca-central-1, ca-west-1, eu-central-1, eu-central-2, eu-west-1, eu-west-2, eu-west-3, eu-south-1, eu-south-2, eu-north-1, il-central-1, me-south-1, me-central-1, mx-central-1, sa-east-1, us-gov-east-1, us-gov-west-1, cn-north-1, cn-northwest-1)');
    }
  });
});
