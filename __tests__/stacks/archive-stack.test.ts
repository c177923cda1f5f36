/**
 * stacks/archive-stack.ts synthesized on its own: the log-archive account's stack puts the central
 * bucket in the archive's account and region whatever the flows' home region, names it as the
 * config says, always encrypts with a key of its own, takes its lifecycle from
 * logRescue.archiveBucket and its lock from the organisation, lets members write under their own
 * account's prefix only (IAM's ${aws:PrincipalAccount}, escaped for Terraform), and outputs what
 * member stacks read. How the policies decide requests is __tests__/iam/organisation.iam.test.ts.
 *
 * @lane synth
 */
import { App, Testing } from 'cdktf';
import { AppConfig } from '../../config/schema';
import { ArchiveStack } from '../../stacks/archive-stack';
import { synthBare } from '../support/bare-stack';
import { StackJson, testConfig } from '../support/synth';
import { statement } from './session-logs.helpers';

const ORG = {
  id: 'o-a1b2c3d4e5',
  archive: { accountId: '111111111111', region: 'eu-central-1', bucketName: 'acme-log-archive', deployRoleArn: 'arn:aws:iam::111111111111:role/deploy' },
  members: [{ name: 'payments', accountId: '222222222222' }, { name: 'web', accountId: '333333333333' }],
};

function archiveStack(overrides: Record<string, unknown> = {}): { stack: ArchiveStack; json: StackJson } {
  const config: AppConfig = testConfig({ region: 'us-west-2', ...overrides, organisation: { ...ORG, ...(overrides.organisation as object) } });
  const stack = new ArchiveStack(Testing.app() as App, config, config.organisation!);
  return { stack, json: synthBare(stack) };
}

const PARTITION = '${data.aws_partition.current.partition}';
const MEMBERS = { AWS: [`arn:${PARTITION}:iam::222222222222:root`, `arn:${PARTITION}:iam::333333333333:root`] };
const IN_ORG = { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' };
/** `$${` is Terraform's escape for a literal `${`: IAM, not Terraform, fills in the account. */
const OWN_PREFIX = '${aws_s3_bucket.archive.arn}/$${aws:PrincipalAccount}/*';

describe('ArchiveStack', () => {
  const { stack, json } = archiveStack();

  it('runs in the log-archive account\'s region, with its deploy role and a state of its own', () => {
    expect(stack.node.id).toBe('archive');
    expect(json.provider!.aws[0]).toMatchObject({
      region: 'eu-central-1',
      assume_role: [{ role_arn: 'arn:aws:iam::111111111111:role/deploy', session_name: 'logrescue-archive' }],
    });
    expect(json.provider!.aws[0].default_tags[0].tags.Stack).toBe('archive');
    expect(json.terraform.backend).toEqual({ local: { path: '../../../terraform.archive.tfstate' } });
  });

  it('makes the named bucket with a key of its own, whatever logRescue.archiveBucket says about bucket and encryption', () => {
    const { json: j } = archiveStack({ logRescue: { archiveBucket: { existingBucketName: 'someone-elses-bucket', encryption: 'SSE-S3' } } });
    expect(j.resource!.aws_s3_bucket.archive.bucket).toBe('acme-log-archive');
    expect(Object.keys(j.resource!.aws_kms_key)).toEqual(['archive']);
    expect(j.resource!.aws_s3_bucket_server_side_encryption_configuration.archive.rule[0].apply_server_side_encryption_by_default)
      .toEqual({ sse_algorithm: 'aws:kms', kms_master_key_id: '${aws_kms_key.archive.arn}' });
  });

  it('takes its lifecycle from logRescue.archiveBucket and its lock from organisation.archive.objectLock', () => {
    const { json: j } = archiveStack({
      logRescue: { archiveBucket: { lifecycle: { transitionDays: 60, storageClass: 'DEEP_ARCHIVE', expirationDays: 800 } } },
      organisation: { archive: { ...ORG.archive, objectLock: { mode: 'COMPLIANCE', days: 730 } } },
    });
    const rule = j.resource!.aws_s3_bucket_lifecycle_configuration.archive.rule[0];
    expect([rule.transition, rule.expiration]).toEqual([[{ days: 60, storage_class: 'DEEP_ARCHIVE' }], [{ days: 800 }]]);
    expect(j.resource!.aws_s3_bucket_object_lock_configuration.archive.rule.default_retention).toEqual({ mode: 'COMPLIANCE', days: 730 });
    expect(json.resource!.aws_s3_bucket_object_lock_configuration).toBeUndefined();
  });

  it('lets each member write only under its own account\'s prefix, from the organisation', () => {
    const policy: string = json.resource!.aws_s3_bucket_policy.archive.policy;
    expect(statement(policy, 'MembersWriteOwnPrefix')).toEqual({
      Sid: 'MembersWriteOwnPrefix', Effect: 'Allow', Principal: MEMBERS,
      Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: OWN_PREFIX, Condition: { StringEquals: IN_ORG },
    });
    expect(policy).not.toMatch(/[^$]\$\{aws:/);
  });

  it('lets only the members\' session Firehose roles find the bucket and read their own prefix', () => {
    const policy: string = json.resource!.aws_s3_bucket_policy.archive.policy;
    const firehoseRoles = { StringEquals: IN_ORG, ArnLike: { 'aws:PrincipalArn': `arn:${PARTITION}:iam::*:role/logrescue-dev*-session-firehose` } };
    expect(statement(policy, 'MemberFirehoseFindsBucket')).toEqual({
      Sid: 'MemberFirehoseFindsBucket', Effect: 'Allow', Principal: MEMBERS,
      Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: '${aws_s3_bucket.archive.arn}', Condition: firehoseRoles,
    });
    expect(statement(policy, 'MemberFirehoseReadsOwnPrefix')).toEqual({
      Sid: 'MemberFirehoseReadsOwnPrefix', Effect: 'Allow', Principal: MEMBERS, Action: 's3:GetObject', Resource: OWN_PREFIX, Condition: firehoseRoles,
    });
  });

  it('lets members use the key only through S3 in the archive\'s region, for this bucket', () => {
    const key: string = json.resource!.aws_kms_key.archive.policy;
    expect(statement(key, 'MembersEncryptThroughS3Only')).toEqual({
      Sid: 'MembersEncryptThroughS3Only', Effect: 'Allow', Principal: MEMBERS, Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: '*',
      Condition: {
        StringEquals: { 'kms:ViaService': 's3.eu-central-1.amazonaws.com', ...IN_ORG },
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': [`arn:${PARTITION}:s3:::acme-log-archive`, `arn:${PARTITION}:s3:::acme-log-archive/$\${aws:PrincipalAccount}/*`] },
      },
    });
    expect(statement(key, 'AccountAdministersKey')).toMatchObject({ Action: 'kms:*', Principal: { AWS: `arn:${PARTITION}:iam::\${data.aws_caller_identity.current.account_id}:root` } });
  });

  it('outputs the bucket and the key member stacks read, each saying what it is', () => {
    expect(json.output).toEqual({
      bucket_name: { value: '${aws_s3_bucket.archive.bucket}', description: 'The central archive bucket every member writes to' },
      bucket_arn: { value: '${aws_s3_bucket.archive.arn}', description: 'ARN of the central archive bucket' },
      kms_key_arn: { value: '${aws_kms_key.archive.arn}', description: 'The key objects are encrypted with; member stacks read it from this state' },
    });
  });
});
