/**
 * Policy checks over the synthesized JSON of every stack: least privilege, confused-deputy
 * protection, and the storage guarantees every bucket, log group, queue, stream and function must
 * have. A rule may be waived only in WAIVERS below, with the reason; the test prints them.
 *
 * @lane synth
 */
import { decodeJsonExpression, isExpr, Value } from '../scripts/hcl-expr';
import { StackJson, synthStacks, testConfig } from './support/synth';

interface Finding {
  stack: string; address: string; rule: string; detail: string;
  /** For trust-has-source-condition: the condition keys the statement does have. */
  conditionKeys?: string[];
}

/** Actions AWS authorizes only against Resource "*" (no resource-level permissions). */
const STAR_ONLY_ACTIONS = new Set([
  'ssm:DescribeInstanceInformation',
  // The service authorization reference lists no resource type for either (the log rescue handler
  // reads a command's parameters and its per-instance statuses with them).
  'ssm:ListCommands', 'ssm:ListCommandInvocations',
  'autoscaling:DescribeAutoScalingInstances',
  'logs:DescribeLogGroups',
  'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel',
]);

/**
 * Explicit exceptions: rule, address pattern, reason, and (for a trust without aws:Source*) the
 * condition key the statement must carry instead. Each is printed when the suite runs.
 */
interface Waiver { rule: string; address: RegExp; reason: string; requiresConditionKey?: string }
const WAIVERS: Waiver[] = [
  {
    rule: 'trust-has-source-condition', address: /^aws_iam_role\..*instance/,
    reason: 'EC2 does not send aws:SourceAccount/aws:SourceArn when an instance assumes its role; a condition would stop instances getting credentials.',
  },
  {
    rule: 'trust-has-source-condition', address: /^aws_iam_role\.firehose/, requiresConditionKey: 'sts:ExternalId',
    reason: 'Firehose documents sts:ExternalId = the account id as the condition of its role trust; the trust carries it.',
  },
  {
    rule: 'trust-has-source-condition', address: /^aws_kms_key\.sessions/, requiresConditionKey: 'kms:EncryptionContext:aws:logs:arn',
    reason: 'CloudWatch Logs documents kms:EncryptionContext:aws:logs:arn (the log group ARN) as the condition of a key policy for it; the statement carries it.',
  },
];

const POLICY_ATTRS: Record<string, string[]> = {
  aws_iam_role: ['assume_role_policy', 'inline_policy'],
  aws_iam_role_policy: ['policy'],
  aws_iam_policy: ['policy'],
  aws_s3_bucket_policy: ['policy'],
  aws_sqs_queue_policy: ['policy'],
  aws_sns_topic_policy: ['policy'],
  aws_sqs_queue: ['policy'],
  aws_sns_topic: ['policy'],
  aws_kms_key: ['policy'],
  aws_kms_key_policy: ['policy'],
};

const asList = (v: Value | undefined): Value[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function statements(text: unknown): any[] {
  // aws_iam_role.inline_policy: blocks of { name, policy }.
  if (Array.isArray(text)) return text.flatMap((block) => statements((block as { policy?: unknown } | null)?.policy));
  if (typeof text !== 'string') return [];
  const doc = decodeJsonExpression(text) as any;
  if (isExpr(doc)) throw new Error(`policy is not a readable document: ${text.slice(0, 120)}`);
  return asList(doc.Statement) as any[];
}

function servicePrincipals(st: any): string[] {
  const p = st.Principal;
  if (!p || p === '*' || typeof p !== 'object') return [];
  return asList(p.Service).filter((s): s is string => typeof s === 'string');
}

function conditionKeys(st: any): string[] {
  return Object.values(st.Condition ?? {}).flatMap((block: any) => Object.keys(block ?? {}));
}

/** A statement's resources include the bucket itself and all its objects (`arn` and `arn/*`). */
function coversBucketAndObjects(resources: Value[], bucket: string): boolean {
  const text = resources.map((r) => (isExpr(r) ? `\${${r.$expr}}` : String(r)));
  const arn = `\${aws_s3_bucket.${bucket}.arn}`;
  return text.includes(arn) && text.some((r) => r === `${arn}/*`);
}

const refersTo = (value: unknown, type: string, name: string) => new RegExp(`\\$\\{${type}\\.${name}\\.[a-z_]+\\}`).test(JSON.stringify(value ?? ''));

/** An event source ARN that is an SQS queue: a queue of the stack, or a literal SQS ARN. */
const fromSqs = (value: unknown) => queueNamed(value) !== undefined || /^arn:[a-z-]+:sqs:/.test(String(value ?? ''));

/** The logical name of the aws_sqs_queue a `${aws_sqs_queue.<name>.arn}` value points at. */
const queueNamed = (value: unknown) => /^\$\{aws_sqs_queue\.([^.}]+)\.arn\}$/.exec(String(value ?? ''))?.[1];

/**
 * Whether a queue of the stack dead-letters what its consumer keeps failing: a redrive_policy
 * naming another queue of the stack (or an SQS ARN) after at least one receive.
 */
function deadLetters(res: Record<string, Record<string, any>>, queue: string | undefined): boolean {
  const redrive = queue ? res.aws_sqs_queue?.[queue]?.redrive_policy : undefined;
  if (typeof redrive !== 'string') return false;
  const p = decodeJsonExpression(redrive) as any;
  if (isExpr(p) || !(typeof p.maxReceiveCount === 'number' && p.maxReceiveCount >= 1)) return false;
  const target = p.deadLetterTargetArn;
  const targetQueue = isExpr(target) ? /^aws_sqs_queue\.([^.]+)\.arn$/.exec(target.$expr)?.[1] : undefined;
  if (targetQueue) return targetQueue !== queue && Boolean(res.aws_sqs_queue?.[targetQueue]);
  return typeof target === 'string' && /^arn:[a-z-]+:sqs:/.test(target);
}

function check(stackName: string, stack: StackJson): Finding[] {
  const findings: Finding[] = [];
  const add = (address: string, rule: string, detail: string, extra: Partial<Finding> = {}) => findings.push({ stack: stackName, address, rule, detail, ...extra });
  const res = stack.resource ?? {};
  const each = (type: string) => Object.entries(res[type] ?? {}) as Array<[string, any]>;

  for (const [type, attrs] of Object.entries(POLICY_ATTRS)) {
    for (const [name, r] of each(type)) {
      for (const attr of attrs) {
        for (const st of statements(r[attr])) {
          const address = `${type}.${name}`;
          if (st.Effect !== 'Allow') continue;
          // An Allow of everything but a list is as wide as "*", whatever it leaves out.
          for (const not of ['NotAction', 'NotResource', 'NotPrincipal']) {
            if (st[not] !== undefined) add(address, 'no-not-element', `${attr}: Allow with ${not}`);
          }
          const actions = asList(st.Action).filter((a): a is string => typeof a === 'string');
          for (const a of actions) {
            if (a === '*' || /^[a-z0-9-]+:\*$/.test(a)) add(address, 'no-wildcard-action', `${attr}: Action ${a}`);
          }
          const resources = asList(st.Resource);
          // In a key policy "*" means "this key"; everywhere else it means everything.
          if (type !== 'aws_kms_key' && type !== 'aws_kms_key_policy' && resources.includes('*')) {
            const notStarOnly = actions.filter((a) => !STAR_ONLY_ACTIONS.has(a));
            if (notStarOnly.length) add(address, 'no-star-resource', `${attr}: Resource "*" for ${notStarOnly.join(', ')}`);
          }
          const services = servicePrincipals(st);
          if (services.length) {
            const keys = conditionKeys(st);
            if (!keys.some((k) => /^aws:Source(Account|Arn)$/i.test(k))) {
              add(address, 'trust-has-source-condition', `${attr}: ${services.join(', ')} without aws:SourceAccount/aws:SourceArn`, { conditionKeys: keys });
            }
          }
        }
      }
    }
  }

  for (const [name, r] of each('aws_iam_role_policy_attachment')) {
    if (/FullAccess/.test(String(r.policy_arn))) add(`aws_iam_role_policy_attachment.${name}`, 'no-full-access-managed-policy', String(r.policy_arn));
  }
  for (const [name, r] of each('aws_iam_role')) {
    for (const arn of asList(r.managed_policy_arns)) if (/FullAccess/.test(String(arn))) add(`aws_iam_role.${name}`, 'no-full-access-managed-policy', String(arn));
  }

  for (const [name, b] of each('aws_s3_bucket')) {
    const address = `aws_s3_bucket.${name}`;
    const of = (type: string) => each(type).filter(([, r]) => refersTo(r.bucket, 'aws_s3_bucket', name)).map(([, r]) => r);
    if (b.force_destroy !== false) add(address, 'bucket-no-force-destroy', `force_destroy = ${b.force_destroy}`);
    if (!b.lifecycle?.prevent_destroy) add(address, 'bucket-prevent-destroy', 'lifecycle.prevent_destroy is not set');
    if (!of('aws_s3_bucket_versioning').some((v) => v.versioning_configuration?.status === 'Enabled')) add(address, 'bucket-versioning', 'no enabled versioning');
    const pab = of('aws_s3_bucket_public_access_block')[0];
    if (!pab || !['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'].every((k) => pab[k] === true)) {
      add(address, 'bucket-public-access-block', 'not all four public access block settings are true');
    }
    if (!of('aws_s3_bucket_server_side_encryption_configuration').length) add(address, 'bucket-encryption', 'no default encryption');
    // Every principal, every S3 action, on the bucket and every object in it.
    const tlsDeny = of('aws_s3_bucket_policy').flatMap((p) => statements(p.policy))
      .some((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false'
        && (st.Principal === '*' || (st.Principal as { AWS?: unknown } | undefined)?.AWS === '*')
        && asList(st.Action).some((a) => a === 's3:*' || a === '*')
        && coversBucketAndObjects(asList(st.Resource), name));
    if (!tlsDeny) add(address, 'bucket-tls-only', 'no Deny of s3:* to every principal on the bucket and bucket/* when aws:SecureTransport = false');
  }

  for (const [name, g] of each('aws_cloudwatch_log_group')) {
    if (!(g.retention_in_days > 0)) add(`aws_cloudwatch_log_group.${name}`, 'log-group-retention', `retention_in_days = ${g.retention_in_days}`);
  }

  for (const [name, f] of each('aws_lambda_function')) {
    const address = `aws_lambda_function.${name}`;
    const invokeConfigs = each('aws_lambda_function_event_invoke_config').filter(([, c]) => refersTo(c.function_name, 'aws_lambda_function', name));
    // A function fed by an SQS queue fails a message back to that queue; the queue's redrive policy
    // is then its dead-letter queue (Lambda's own DLQ and destinations apply to async invocations only).
    const mappings = each('aws_lambda_event_source_mapping').filter(([, m]) => refersTo(m.function_name, 'aws_lambda_function', name));
    const hasFailureTarget = f.dead_letter_config?.target_arn || invokeConfigs.some(([, c]) => c.destination_config?.on_failure?.destination)
      || (mappings.length > 0 && mappings.every(([, m]) => deadLetters(res, queueNamed(m.event_source_arn))));
    if (!hasFailureTarget) add(address, 'lambda-failure-destination', 'no DLQ, on-failure destination or dead-lettering source queue');
    if (!f.timeout) add(address, 'lambda-timeout', 'no explicit timeout');
    // A function fed by SQS is capped by its mapping, not by a reservation (which Lambda refuses
    // when it leaves the account fewer than 100 unreserved executions, so it is never required):
    // the mapping's maximum concurrency must be one Lambda accepts, 2..1000 ("Valid Range: Minimum
    // value of 2. Maximum value of 1000.": Lambda API reference, ScalingConfig,
    // https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html), and not above the
    // function's reservation when it has one (Lambda would throttle the batches the mapping polled:
    // AWS Knowledge Center, https://repost.aws/knowledge-center/lambda-sqs-scaling).
    for (const [mappingName, m] of mappings.filter(([, mm]) => fromSqs(mm.event_source_arn))) {
      const max = m.scaling_config?.maximum_concurrency;
      if (!(Number.isInteger(max) && max >= 2 && max <= 1000)) {
        add(`aws_lambda_event_source_mapping.${mappingName}`, 'sqs-mapping-maximum-concurrency', `scaling_config.maximum_concurrency = ${max}`);
      } else if (typeof f.reserved_concurrent_executions === 'number' && f.reserved_concurrent_executions >= 0 && max > f.reserved_concurrent_executions) {
        add(`aws_lambda_event_source_mapping.${mappingName}`, 'sqs-mapping-maximum-concurrency',
          `scaling_config.maximum_concurrency = ${max} above ${address}.reserved_concurrent_executions = ${f.reserved_concurrent_executions}`);
      }
    }
  }

  for (const [name, s] of each('aws_kinesis_firehose_delivery_stream')) {
    if (s.server_side_encryption?.enabled !== true) add(`aws_kinesis_firehose_delivery_stream.${name}`, 'firehose-encrypted', 'server_side_encryption not enabled');
  }
  for (const [name, q] of each('aws_sqs_queue')) {
    if (q.sqs_managed_sse_enabled !== true && !q.kms_master_key_id) add(`aws_sqs_queue.${name}`, 'sqs-encrypted', 'neither SQS-managed SSE nor KMS');
  }
  return findings;
}

function waived(f: Finding): boolean {
  return WAIVERS.some((w) => w.rule === f.rule && w.address.test(f.address)
    && (w.requiresConditionKey === undefined || (f.conditionKeys ?? []).includes(w.requiresConditionKey)));
}

const VARIANTS: Record<string, Record<string, unknown>> = {
  default: {},
  'everything on': {
    logRescue: { archiveBucket: { encryption: 'SSE-KMS' }, alarms: { createTopic: true, email: 'oncall@example.com' } },
    sessionLogs: {
      archiveBucket: { encryption: 'SSE-KMS' },
      logGroup: { kms: 'create' },
      createInstanceRole: true,
      alarms: { createTopic: true },
    },
  },
  // The demo fleet's own stack, and the Session Manager endpoints in a VPC of the user's.
  'demo fleet and VPC endpoints': {
    logRescue: { autoScalingGroups: ['logrescue-test-demo-fleet'] },
    sessionLogs: {
      createInstanceRole: true,
      vpcEndpoints: { enabled: true, vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], vpcCidr: '10.0.0.0/16' },
    },
    demoFleet: { enabled: true },
  },
};

describe('policy checks', () => {
  beforeAll(() => {
    // eslint-disable-next-line no-console
    console.log(`Policy check waivers:\n${WAIVERS.map((w) => `  - ${w.rule} for ${w.address}`
      + `${w.requiresConditionKey ? ` (only with ${w.requiresConditionKey})` : ''}: ${w.reason}`).join('\n')}`);
  });

  it.each(Object.keys(VARIANTS))('%s: every stack passes every rule', (variant) => {
    const stacks = synthStacks(testConfig(VARIANTS[variant]));
    const types = new Set(Object.values(stacks).flatMap((st) => Object.keys(st.resource ?? {})));
    // What the variant is there for is really in it.
    if (variant === 'demo fleet and VPC endpoints') expect(['aws_autoscaling_group', 'aws_vpc_endpoint'].filter((t) => !types.has(t))).toEqual([]);
    const findings = Object.entries(stacks).flatMap(([name, s]) => check(name, s)).filter((f) => !waived(f));
    expect(findings.map((f) => `${f.stack} ${f.address} [${f.rule}] ${f.detail}`)).toEqual([]);
  });

  it('catches what it claims to (rules fire on a bad stack)', () => {
    const bad: StackJson = {
      terraform: {},
      resource: {
        aws_iam_role_policy: { p: { policy: '${jsonencode({"Statement" = [{"Effect" = "Allow", "Action" = "*", "Resource" = "*"}, {"Effect" = "Allow", "Action" = "s3:*", "Resource" = "arn:aws:s3:::x"}]})}' } },
        aws_iam_role: { r: { assume_role_policy: '${jsonencode({"Statement" = [{"Effect" = "Allow", "Principal" = {"Service" = "firehose.amazonaws.com"}, "Action" = "sts:AssumeRole"}]})}' } },
        aws_iam_role_policy_attachment: { a: { policy_arn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess' } },
        aws_s3_bucket: { b: { force_destroy: true } },
        aws_cloudwatch_log_group: { g: { name: 'x' } },
        aws_lambda_function: { f: { function_name: 'x' } },
        aws_lambda_event_source_mapping: { m: { function_name: '${aws_lambda_function.f.arn}', event_source_arn: '${aws_sqs_queue.q.arn}' } },
        aws_kinesis_firehose_delivery_stream: { s: {} },
        aws_sqs_queue: { q: {} },
      },
    };
    const rules = new Set(check('bad', bad).map((f) => f.rule));
    expect([...rules].sort()).toEqual([
      'bucket-encryption', 'bucket-no-force-destroy', 'bucket-prevent-destroy', 'bucket-public-access-block', 'bucket-tls-only', 'bucket-versioning',
      'firehose-encrypted', 'lambda-failure-destination', 'lambda-timeout', 'log-group-retention',
      'no-full-access-managed-policy', 'no-star-resource', 'no-wildcard-action', 'sqs-encrypted', 'sqs-mapping-maximum-concurrency', 'trust-has-source-condition',
    ]);
  });

  it('reads every place a policy can be, and what only looks like compliance', () => {
    const doc = (statement: string) => `\${jsonencode({"Statement" = [${statement}]})}`;
    const tls = (action: string, resources: string) => doc(
      `{"Effect" = "Deny", "Principal" = "*", "Action" = "${action}", "Resource" = ${resources}, "Condition" = {"Bool" = {"aws:SecureTransport" = "false"}}}`,
    );
    const bucketParts = (b: string) => ({
      [`${b}_v`]: { bucket: `\${aws_s3_bucket.${b}.id}`, versioning_configuration: { status: 'Enabled' } },
    });
    const goodBucket = { force_destroy: false, lifecycle: { prevent_destroy: true } };
    const stack: StackJson = {
      terraform: {},
      resource: {
        aws_iam_role: {
          inline: { inline_policy: [{ name: 'x', policy: doc('{"Effect" = "Allow", "Action" = "s3:*", "Resource" = "arn:aws:s3:::x"}') }] },
          // The waiver for Firehose holds only while the trust carries sts:ExternalId.
          firehose_role: { assume_role_policy: doc('{"Effect" = "Allow", "Principal" = {"Service" = "firehose.amazonaws.com"}, "Action" = "sts:AssumeRole"}') },
        },
        aws_iam_policy: { not: { policy: doc('{"Effect" = "Allow", "NotAction" = "iam:*", "Resource" = "arn:aws:s3:::x"}') } },
        aws_sqs_queue: { q: { sqs_managed_sse_enabled: true, policy: doc('{"Effect" = "Allow", "Principal" = {"Service" = "events.amazonaws.com"}, "Action" = "sqs:SendMessage", "Resource" = "*"}') } },
        aws_sns_topic: { t: { policy: doc('{"Effect" = "Allow", "Action" = "*", "Resource" = "arn:aws:sns:us-east-1:123456789012:t"}') } },
        aws_lambda_function: { f: { timeout: 60, reserved_concurrent_executions: -1, dead_letter_config: { target_arn: 'arn:aws:sqs:us-east-1:123456789012:d' } } },
        aws_s3_bucket: { onlyPut: goodBucket, onlyObjects: goodBucket, full: goodBucket },
        aws_s3_bucket_versioning: { ...bucketParts('onlyPut'), ...bucketParts('onlyObjects'), ...bucketParts('full') },
        aws_s3_bucket_policy: {
          onlyPut: { bucket: '${aws_s3_bucket.onlyPut.id}', policy: tls('s3:PutObject', '["${aws_s3_bucket.onlyPut.arn}", "${aws_s3_bucket.onlyPut.arn}/*"]') },
          onlyObjects: { bucket: '${aws_s3_bucket.onlyObjects.id}', policy: tls('s3:*', '"${aws_s3_bucket.onlyObjects.arn}/*"') },
          full: { bucket: '${aws_s3_bucket.full.id}', policy: tls('s3:*', '["${aws_s3_bucket.full.arn}", "${aws_s3_bucket.full.arn}/*"]') },
        },
      },
    };
    const found = check('odd', stack).filter((f) => !waived(f))
      .filter((f) => !['bucket-public-access-block', 'bucket-encryption'].includes(f.rule))
      .map((f) => `${f.address} [${f.rule}]`).sort();
    expect(found).toEqual([
      'aws_iam_policy.not [no-not-element]',
      'aws_iam_role.firehose_role [trust-has-source-condition]',
      'aws_iam_role.inline [no-wildcard-action]',
      'aws_s3_bucket.onlyObjects [bucket-tls-only]',
      'aws_s3_bucket.onlyPut [bucket-tls-only]',
      'aws_sns_topic.t [no-wildcard-action]',
      'aws_sqs_queue.q [no-star-resource]',
      'aws_sqs_queue.q [trust-has-source-condition]',
    ]);
  });

  it('asks every SQS mapping for a maximum concurrency Lambda accepts, within the reservation if any, and no function for a reservation', () => {
    const fn = (reserved?: number) => ({ timeout: 60, ...(reserved === undefined ? {} : { reserved_concurrent_executions: reserved }) });
    const mapping = (f: string, max?: number, source = '${aws_sqs_queue.q.arn}') => ({
      function_name: `\${aws_lambda_function.${f}.arn}`, event_source_arn: source, ...(max === undefined ? {} : { scaling_config: { maximum_concurrency: max } }),
    });
    const stack: StackJson = {
      terraform: {},
      resource: {
        aws_sqs_queue: { q: { sqs_managed_sse_enabled: true } },
        aws_lambda_function: {
          unreserved: fn(), unlimited: fn(-1), reservedAbove: fn(30), reservedEqual: fn(30), reservedBelow: fn(10),
          noCap: fn(), tooLow: fn(), tooHigh: fn(), literalQueue: fn(), stream: fn(),
        },
        aws_lambda_event_source_mapping: {
          unreserved: mapping('unreserved', 30), unlimited: mapping('unlimited', 30), reservedAbove: mapping('reservedAbove', 20),
          reservedEqual: mapping('reservedEqual', 30), reservedBelow: mapping('reservedBelow', 30),
          noCap: mapping('noCap'), tooLow: mapping('tooLow', 1), tooHigh: mapping('tooHigh', 1001),
          literalQueue: mapping('literalQueue', undefined, 'arn:aws:sqs:us-east-1:123456789012:q'),
          // Scaling config is SQS only; a stream mapping needs none.
          stream: mapping('stream', undefined, 'arn:aws:kinesis:us-east-1:123456789012:stream/s'),
        },
      },
    };
    const flagged = check('concurrency', stack).filter((f) => f.rule === 'sqs-mapping-maximum-concurrency').map((f) => f.address).sort();
    expect(flagged).toEqual(['literalQueue', 'noCap', 'reservedBelow', 'tooHigh', 'tooLow'].map((n) => `aws_lambda_event_source_mapping.${n}`));
    expect(check('concurrency', stack).map((f) => f.rule)).not.toContain('lambda-reserved-concurrency');
  });

  it('counts a dead-lettering source queue as a function\'s failure destination, and nothing less', () => {
    const fn = { timeout: 60, reserved_concurrent_executions: 2 };
    const mapping = (f: string, q: string) => ({ function_name: `\${aws_lambda_function.${f}.arn}`, event_source_arn: `\${aws_sqs_queue.${q}.arn}` });
    const redrive = (to: string, count = 3) => `\${jsonencode({"deadLetterTargetArn" = ${to}, "maxReceiveCount" = ${count}})}`;
    const stack: StackJson = {
      terraform: {},
      resource: {
        aws_lambda_function: { fed: fn, fedNoRedrive: fn, fedRedriveElsewhere: fn, fedZeroReceives: fn, bare: fn },
        aws_sqs_queue: {
          dlq: { sqs_managed_sse_enabled: true },
          withDlq: { sqs_managed_sse_enabled: true, redrive_policy: redrive('aws_sqs_queue.dlq.arn') },
          plain: { sqs_managed_sse_enabled: true },
          // A redrive policy naming a queue that is not there, or that never moves anything, is no destination.
          toNowhere: { sqs_managed_sse_enabled: true, redrive_policy: redrive('aws_sqs_queue.missing.arn') },
          zeroReceives: { sqs_managed_sse_enabled: true, redrive_policy: redrive('aws_sqs_queue.dlq.arn', 0) },
        },
        aws_lambda_event_source_mapping: {
          a: mapping('fed', 'withDlq'), b: mapping('fedNoRedrive', 'plain'), c: mapping('fedRedriveElsewhere', 'toNowhere'), d: mapping('fedZeroReceives', 'zeroReceives'),
        },
      },
    };
    const flagged = check('queue-fed', stack).filter((f) => f.rule === 'lambda-failure-destination').map((f) => f.address).sort();
    expect(flagged).toEqual(['bare', 'fedNoRedrive', 'fedRedriveElsewhere', 'fedZeroReceives'].map((n) => `aws_lambda_function.${n}`));
  });
});
