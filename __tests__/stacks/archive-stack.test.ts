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

/** The statements of a synthesized `${jsonencode(...)}` policy, as text, by Sid. */
function statementText(policy: string, sid: string): string {
  const start = policy.indexOf(`{"Sid" = "${sid}"`);
  if (start < 0) throw new Error(`no statement ${sid} in ${policy.slice(0, 200)}`);
  const next = policy.indexOf('{"Sid" = ', start + 1);
  return policy.slice(start, next < 0 ? undefined : next);
}

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
    const write = statementText(policy, 'MembersWriteOwnPrefix');
    expect(write).toContain('"AWS" = ["arn:${data.aws_partition.current.partition}:iam::222222222222:root", "arn:${data.aws_partition.current.partition}:iam::333333333333:root"]');
    expect(write).toContain('"Action" = ["s3:PutObject", "s3:AbortMultipartUpload"]');
    // `$${` is Terraform's escape for a literal `${`: IAM, not Terraform, fills in the account.
    expect(write).toContain('"Resource" = "${aws_s3_bucket.archive.arn}/$${aws:PrincipalAccount}/*"');
    expect(write).toContain('"aws:PrincipalOrgID" = "o-a1b2c3d4e5"');
    expect(policy).not.toMatch(/[^$]\$\{aws:/);
  });

  it('lets members\' Firehose roles, and no other role, find the bucket and read back their own prefix', () => {
    const policy: string = json.resource!.aws_s3_bucket_policy.archive.policy;
    for (const sid of ['MemberFirehoseFindsBucket', 'MemberFirehoseReadsOwnPrefix']) {
      expect(statementText(policy, sid)).toContain('"ArnLike" = {"aws:PrincipalArn" = "arn:${data.aws_partition.current.partition}:iam::*:role/logrescue-dev*-session-firehose"}');
    }
  });

  it('lets members use the key only through S3 in the archive\'s region, for this bucket', () => {
    const key: string = json.resource!.aws_kms_key.archive.policy;
    const members = statementText(key, 'MembersEncryptThroughS3Only');
    expect(members).toContain('"Action" = ["kms:GenerateDataKey", "kms:Decrypt"]');
    expect(members).toContain('"kms:ViaService" = "s3.eu-central-1.amazonaws.com"');
    expect(members).toContain('"kms:EncryptionContext:aws:s3:arn" = ["arn:${data.aws_partition.current.partition}:s3:::acme-log-archive", "arn:${data.aws_partition.current.partition}:s3:::acme-log-archive/$${aws:PrincipalAccount}/*"]');
    expect(statementText(key, 'AccountAdministersKey')).toContain('"Action" = "kms:*"');
  });

  it('outputs the bucket and the key member stacks read, each saying what it is', () => {
    expect(json.output).toEqual({
      bucket_name: { value: '${aws_s3_bucket.archive.bucket}', description: 'The central archive bucket every member writes to' },
      bucket_arn: { value: '${aws_s3_bucket.archive.arn}', description: 'ARN of the central archive bucket' },
      kms_key_arn: { value: '${aws_kms_key.archive.arn}', description: 'The key objects are encrypted with; member stacks read it from this state' },
    });
  });
});
