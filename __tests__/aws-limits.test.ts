/**
 * AWS limits that `terraform plan` does not check but `apply` or the running system would hit, for
 * the ones no test closer to the code already guards. docs/aws-limits.md lists every limit with its
 * source and its test; the last test here keeps that table honest.
 *
 * @lane synth
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { handlerTimeoutSeconds, rescueQueueMaxReceiveCount, rescueQueueVisibilitySeconds } from '../handlers/log-rescue/timing';
import { LOG_RETENTION_DAYS } from '../config/schema';
import { configProblems, onlyResource, resourcesOf, synthStacks, testConfig } from './support/synth';

const ROOT = path.join(__dirname, '..');

const problemsOf = configProblems;

/** Every online wait (0..60) and heartbeat (30..7200) the config accepts. */
const ONLINE_WAITS = Array.from({ length: 61 }, (_, i) => i);
const HEARTBEATS = Array.from({ length: 7200 - 30 + 1 }, (_, i) => 30 + i);

describe('the event queue and the function', () => {
  // "Your function's timeout must be less than or equal to the queue's visibility timeout. Lambda
  // validates this requirement when you create or update an event source mapping" (Lambda Developer
  // Guide, Creating and configuring an Amazon SQS event source mapping,
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html); the timeout itself is
  // at most 900 s ("up to a maximum value of 900 seconds (15 minutes)": Configure Lambda function
  // timeout, https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
  it('gives the queue a visibility timeout of at least the function timeout, and the function at most 900 s, for every online wait', () => {
    const bad = ONLINE_WAITS.filter((w) => !(rescueQueueVisibilitySeconds(w) >= handlerTimeoutSeconds(w) && handlerTimeoutSeconds(w) <= 900));
    expect(bad).toEqual([]);
    // ... and the stack uses exactly these two numbers.
    const s = synthStacks(testConfig({ logRescue: { handler: { onlineWaitSeconds: 60 } } }))['log-rescue'];
    const queue = Object.values(resourcesOf(s, 'aws_sqs_queue')).find((q: any) => String(q.name).endsWith('-events')) as any;
    expect([onlyResource(s, 'aws_lambda_function').timeout, queue.visibility_timeout_seconds]).toEqual([handlerTimeoutSeconds(60), rescueQueueVisibilitySeconds(60)]);
  });

  // The redrive policy's maxReceiveCount is 1..1000 (the SQS console's "Maximum receives"; see
  // docs/aws-limits.md for what the stored AWS pages do and do not show).
  it('keeps maxReceiveCount within 1..1000 for every heartbeat and online wait the config accepts', () => {
    let lowest = Infinity;
    let highest = -Infinity;
    for (const h of HEARTBEATS) {
      for (const w of ONLINE_WAITS) {
        const n = rescueQueueMaxReceiveCount(h, w);
        lowest = Math.min(lowest, n);
        highest = Math.max(highest, n);
      }
    }
    expect(lowest >= 1 && highest <= 1000).toBe(true);
    expect([lowest, highest]).toEqual([5, 67]);
  });
});

describe('the event source mapping', () => {
  // "For streams and Amazon SQS event sources, when you set BatchSize to a value greater than 10,
  // you must set MaximumBatchingWindowInSeconds to at least 1"; the window is "any value from 0
  // seconds to 300 seconds" (Lambda API reference, CreateEventSourceMapping,
  // https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html); BatchSize "For
  // standard queues, the maximum is 10,000" (Lambda parameters for Amazon SQS event source mappings,
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).
  it('needs a batching window of at least 1 s for batches over 10, and stays within 10,000 messages and 300 s', () => {
    expect(problemsOf({ logRescue: { handler: { batchSize: 11, batchWindowSeconds: 0 } } })).toEqual([
      expect.stringContaining('logRescue.handler.batchWindowSeconds: got 0; allowed: at least 1 when handler.batchSize is over 10 (it is 11)'),
    ]);
    expect(problemsOf({ logRescue: { handler: { batchSize: 10, batchWindowSeconds: 0 } } })).toEqual([]);
    // The largest the config accepts, and one more.
    expect(problemsOf({ logRescue: { handler: { batchSize: 50, batchWindowSeconds: 20 } } })).toEqual([]);
    expect(problemsOf({ logRescue: { handler: { batchSize: 51 } } }).join('\n')).toContain('logRescue.handler.batchSize: got 51; allowed: integer 1..50');
    expect(problemsOf({ logRescue: { handler: { batchWindowSeconds: 21 } } }).join('\n')).toContain('logRescue.handler.batchWindowSeconds: got 21; allowed: integer 0..20');
    const mapping = onlyResource(synthStacks(testConfig({ logRescue: { handler: { batchSize: 50, batchWindowSeconds: 20 } } }))['log-rescue'], 'aws_lambda_event_source_mapping');
    expect(mapping.batch_size <= 10_000 && mapping.maximum_batching_window_in_seconds <= 300).toBe(true);
  });
});

describe('EventBridge targets', () => {
  // RetryPolicy: MaximumRetryAttempts "Valid Range: Minimum value of 0. Maximum value of 185.",
  // MaximumEventAgeInSeconds "Minimum value of 60. Maximum value of 86400." (EventBridge API
  // reference, RetryPolicy, https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html).
  it('take only the retry policy EventBridge accepts', () => {
    for (const ok of [{ maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 }, { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 }]) {
      expect(problemsOf({ logRescue: { retry: ok } })).toEqual([]);
    }
    expect(problemsOf({ logRescue: { retry: { maximumRetryAttempts: 186 } } }).join('\n')).toContain('logRescue.retry.maximumRetryAttempts: got 186; allowed: integer 0..185');
    expect(problemsOf({ logRescue: { retry: { maximumEventAgeSeconds: 59 } } }).join('\n')).toContain('logRescue.retry.maximumEventAgeSeconds: got 59; allowed: integer 60..86400');
    expect(problemsOf({ logRescue: { retry: { maximumEventAgeSeconds: 86401 } } }).join('\n')).toContain('logRescue.retry.maximumEventAgeSeconds: got 86401; allowed: integer 60..86400');
  });
});

describe('Firehose', () => {
  // BufferingHints: SizeInMBs "Minimum value of 1. Maximum value of 128.", IntervalInSeconds
  // "Minimum value of 0. Maximum value of 900." (Amazon Data Firehose API reference, BufferingHints,
  // https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html).
  it('buffers only within the ranges Firehose accepts', () => {
    for (const ok of [{ bufferingSizeMb: 1, bufferingIntervalSeconds: 0 }, { bufferingSizeMb: 128, bufferingIntervalSeconds: 900 }]) {
      expect(problemsOf({ sessionLogs: { firehose: ok } })).toEqual([]);
    }
    expect(problemsOf({ sessionLogs: { firehose: { bufferingSizeMb: 0 } } }).join('\n')).toContain('sessionLogs.firehose.bufferingSizeMb: got 0; allowed: integer 1..128');
    expect(problemsOf({ sessionLogs: { firehose: { bufferingSizeMb: 129 } } }).join('\n')).toContain('sessionLogs.firehose.bufferingSizeMb: got 129; allowed: integer 1..128');
    expect(problemsOf({ sessionLogs: { firehose: { bufferingIntervalSeconds: 901 } } }).join('\n')).toContain('sessionLogs.firehose.bufferingIntervalSeconds: got 901; allowed: integer 0..900');
  });
});

describe('CloudWatch Logs', () => {
  // "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
  // 2192, 2557, 2922, 3288, and 3653." (CloudWatch Logs API reference, PutRetentionPolicy,
  // retentionInDays, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html)
  const DOCUMENTED = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

  it('accepts exactly the documented retention values, and every log group of every stack uses one', () => {
    expect([...LOG_RETENTION_DAYS]).toEqual(DOCUMENTED);
    const configs = [
      testConfig(),
      testConfig({
        logRescue: { handler: { logRetentionDays: 3653 } },
        sessionLogs: { logGroup: { retentionDays: 1, kms: 'create' }, firehose: { errorLogRetentionDays: 2192 }, createInstanceRole: true },
        demoFleet: { enabled: true },
      }),
    ];
    const used = configs.flatMap((c) => Object.values(synthStacks(c)).flatMap((s) => Object.values(resourcesOf(s, 'aws_cloudwatch_log_group')) as any[]));
    expect(used.length).toBeGreaterThanOrEqual(6);
    expect(used.filter((g) => !DOCUMENTED.includes(g.retention_in_days)).map((g) => [g.name, g.retention_in_days])).toEqual([]);
  });
});

describe('resource names', () => {
  // With the longest project (20) and environment (12) the config accepts, every name stays within
  // what its service accepts:
  // - IAM role names 1..64 ("RoleName ... Maximum length of 64": IAM API reference, PolicyRole,
  //   https://docs.aws.amazon.com/IAM/latest/APIReference/API_PolicyRole.html); instance profile
  //   names 1..128 (AWS::IAM::InstanceProfile InstanceProfileName "Maximum: 128",
  //   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-instanceprofile.html);
  // - Lambda function names: "If you specify only the function name, it is limited to 64 characters"
  //   (Lambda API reference, e.g. ListEventSourceMappings FunctionName);
  // - SQS: "A queue name can have up to 80 characters." (SQS API reference, CreateQueue, QueueName);
  // - EventBridge rule names at most 64 (the service's validation: "Member must have length less
  //   than or equal to 64 (Service: EventBridge ...)", as quoted in aws-samples/aws-control-tower-config-customization#36);
  // - S3 bucket_prefix at most 37 ("Must be lowercase and less than or equal to 37 characters in
  //   length": Terraform AWS provider, aws_s3_bucket, bucket_prefix), as the provider adds 26.
  const LIMITS: Array<[string, string, number]> = [
    ['aws_iam_role', 'name', 64],
    ['aws_iam_instance_profile', 'name', 128],
    ['aws_lambda_function', 'function_name', 64],
    ['aws_sqs_queue', 'name', 80],
    ['aws_cloudwatch_event_rule', 'name', 64],
    ['aws_s3_bucket', 'bucket_prefix', 37],
  ];

  it('fit their services\' length limits with the longest project and environment', () => {
    const stacks = synthStacks(testConfig({
      project: 'p'.repeat(20), environment: 'e'.repeat(12),
      sessionLogs: { createInstanceRole: true, archiveBucket: { encryption: 'SSE-KMS' } },
      demoFleet: { enabled: true },
    }));
    const seen: Record<string, number> = {};
    const tooLong: string[] = [];
    for (const s of Object.values(stacks)) {
      for (const [type, attr, max] of LIMITS) {
        for (const r of Object.values(resourcesOf(s, type)) as any[]) {
          const v = r[attr];
          if (typeof v !== 'string') continue;
          seen[type] = Math.max(seen[type] ?? 0, v.length);
          if (v.length > max) tooLong.push(`${type}.${attr} ${v} (${v.length} > ${max})`);
        }
      }
    }
    expect(tooLong).toEqual([]);
    // Every kind was really there; the closest call is the command-invocation rule, 63 of 64.
    expect(Object.keys(seen).sort()).toEqual(LIMITS.map(([t]) => t).sort());
    expect(seen.aws_cloudwatch_event_rule).toBe(63);
  });
});

describe('docs/aws-limits.md', () => {
  const rowsOf = (doc: string) => doc.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Limit') && !/^\|\s*-/.test(l));

  it('names, for every limit, an AWS source and a test that exists, or why no test can', () => {
    const rows = rowsOf(readFileSync(path.join(ROOT, 'docs/aws-limits.md'), 'utf8'));
    expect(rows.length).toBeGreaterThanOrEqual(15);
    const problems: string[] = [];
    for (const row of rows) {
      const cells = row.split(' | ');
      const limit = cells[0].replace(/^\|\s*/, '');
      if (!/https:\/\//.test(row)) problems.push(`${limit}: no source link`);
      const refs = [...row.matchAll(/`(__tests__\/[^`]+\.test\.ts)`: "([^"]+)"/g)];
      if (refs.length === 0 && !/No test\b/.test(row)) problems.push(`${limit}: neither a test nor "No test: why"`);
      for (const [, file, name] of refs) {
        const full = path.join(ROOT, file);
        if (!existsSync(full)) { problems.push(`${limit}: ${file} does not exist`); continue; }
        const source = readFileSync(full, 'utf8').replace(/\\'/g, "'");
        if (!source.includes(name)) problems.push(`${limit}: ${file} has no test "${name}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('is linked from the README', () => {
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain('docs/aws-limits.md');
  });
});
