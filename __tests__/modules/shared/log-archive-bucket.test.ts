/** @lane synth */
import { onlyResource, resourcesOf, synthStacks, testConfig } from '../../support/synth';
import { bucketPrefixFor } from '../../../modules/shared/log-archive-bucket';
import { bareArchive, bareStack, synthBare } from '../../support/bare-stack';

const rescue = (overrides: Record<string, unknown> = {}) =>
  synthStacks(testConfig({ logRescue: { archiveBucket: overrides } }))['log-rescue'];

describe('log archive bucket', () => {
  const stack = rescue();

  it('is a generated-name bucket that Terraform refuses to destroy and never force-destroys', () => {
    const bucket = onlyResource(stack, 'aws_s3_bucket');
    expect(bucket.bucket_prefix).toBe('logrescue-dev-rescue-');
    expect(bucket.force_destroy).toBe(false);
    expect(bucket.lifecycle).toEqual({ prevent_destroy: true });
    expect(bucket.object_lock_enabled).toBeUndefined();
  });

  it('blocks every kind of public access and enforces bucket-owner ownership', () => {
    const pab = onlyResource(stack, 'aws_s3_bucket_public_access_block');
    expect(pab).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(onlyResource(stack, 'aws_s3_bucket_ownership_controls').rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
    expect(onlyResource(stack, 'aws_s3_bucket_versioning').versioning_configuration).toEqual({ status: 'Enabled' });
  });

  it('encrypts with SSE-S3 by default and denies non-TLS and wrongly encrypted puts', () => {
    const sse = onlyResource(stack, 'aws_s3_bucket_server_side_encryption_configuration');
    expect(sse.rule).toEqual([{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }]);
    const policy = onlyResource(stack, 'aws_s3_bucket_policy').policy as string;
    expect(policy).toContain('"Sid" = "DenyInsecureTransport"');
    expect(policy).toContain('"Bool" = {"aws:SecureTransport" = "false"}');
    // Only a header that is there and wrong is denied: writers relying on the default send none.
    // What AWS decides for real requests is in __tests__/iam/.
    expect(policy).toContain('"Condition" = {"Null" = {"s3:x-amz-server-side-encryption" = "false"}, "StringNotEquals" = {"s3:x-amz-server-side-encryption" = "AES256"}}');
    expect(policy).not.toContain('IfExists');
    expect(onlyResource(stack, 'aws_s3_bucket_policy').depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_public_access_block\./)]);
  });

  it('tiers, expires and cleans up noncurrent versions with the documented defaults', () => {
    const rule = onlyResource(stack, 'aws_s3_bucket_lifecycle_configuration').rule[0];
    expect(rule).toEqual({
      id: 'archive-tiers', status: 'Enabled', filter: [{ prefix: '' }],
      transition: [{ days: 30, storage_class: 'GLACIER_IR' }],
      expiration: [{ days: 365 }],
      noncurrent_version_expiration: [{ noncurrent_days: 30 }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
    });
  });

  it('takes lifecycle numbers from config, and 0 days keeps objects forever', () => {
    const rule = onlyResource(rescue({ lifecycle: { transitionDays: 90, storageClass: 'DEEP_ARCHIVE', expirationDays: 0, noncurrentVersionExpirationDays: 7 } }),
      'aws_s3_bucket_lifecycle_configuration').rule[0];
    expect(rule.transition).toEqual([{ days: 90, storage_class: 'DEEP_ARCHIVE' }]);
    expect(rule.expiration).toBeUndefined();
    expect(rule.noncurrent_version_expiration).toEqual([{ noncurrent_days: 7 }]);
  });

  it('creates a rotating, destroy-protected KMS key for SSE-KMS and pins puts to it', () => {
    const s = rescue({ encryption: 'SSE-KMS' });
    const key = onlyResource(s, 'aws_kms_key');
    expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
    const keyName = Object.keys(resourcesOf(s, 'aws_kms_key'))[0];
    const sse = onlyResource(s, 'aws_s3_bucket_server_side_encryption_configuration').rule[0];
    expect(sse).toEqual({ apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: `\${aws_kms_key.${keyName}.arn}` }, bucket_key_enabled: true });
    expect(onlyResource(s, 'aws_s3_bucket_policy').policy).toContain(`"s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.${keyName}.arn`);
  });

  it('uses a given KMS key without creating one', () => {
    const arn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const s = rescue({ encryption: 'SSE-KMS', kmsKeyArn: arn });
    expect(resourcesOf(s, 'aws_kms_key')).toEqual({});
    expect(onlyResource(s, 'aws_s3_bucket_server_side_encryption_configuration').rule[0].apply_server_side_encryption_by_default.kms_master_key_id).toBe(arn);
  });

  it('turns on Object Lock with default retention when configured', () => {
    const s = rescue({ objectLock: { mode: 'COMPLIANCE', days: 400 }, lifecycle: { expirationDays: 0 } });
    // On the lock configuration, not the bucket, where it would force a new bucket.
    expect(onlyResource(s, 'aws_s3_bucket').object_lock_enabled).toBeUndefined();
    const lock = onlyResource(s, 'aws_s3_bucket_object_lock_configuration');
    expect(lock).toMatchObject({ object_lock_enabled: 'Enabled', rule: { default_retention: { mode: 'COMPLIANCE', days: 400 } } });
    expect(lock.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_versioning\./)]);
  });

  it('declares removed blocks (destroy = false) for what it does not create, so a config change never destroys it', () => {
    const removed = (stack: any) => (stack.removed ?? []).map((r: any) => [r.from, r.lifecycle]);
    // The readable address, and the hashed one deployments before readable addresses have it at.
    expect(removed(stack)).toEqual([
      ['aws_kms_key.archive', { destroy: false }],
      ['aws_kms_key.archive_key_26435480', { destroy: false }],
      ['aws_s3_bucket_object_lock_configuration.archive', { destroy: false }],
      ['aws_s3_bucket_object_lock_configuration.archive_object-lock_B1F76808', { destroy: false }],
    ]);
    expect(removed(rescue({ existingBucketName: 'acme-central-logs' })).map(([from]: string[]) => from).filter((a: string) => !/_[0-9A-F]{8}$/.test(a))).toEqual([
      'aws_s3_bucket', 'aws_s3_bucket_public_access_block', 'aws_s3_bucket_ownership_controls', 'aws_s3_bucket_versioning', 'aws_kms_key',
      'aws_s3_bucket_server_side_encryption_configuration', 'aws_s3_bucket_lifecycle_configuration', 'aws_s3_bucket_object_lock_configuration',
      'aws_s3_bucket_policy',
    ].map((t) => `${t}.archive`));
    // Same addresses as the resources have when they are created.
    const kms = rescue({ encryption: 'SSE-KMS' });
    expect(stack.removed![0].from).toBe(`aws_kms_key.${Object.keys(resourcesOf(kms, 'aws_kms_key'))[0]}`);
    expect(kms.removed).toEqual(stack.removed!.slice(2));
  });

  it('creates nothing for an existing bucket and still exposes its name and ARN', () => {
    const s = rescue({ existingBucketName: 'acme-central-logs' });
    expect(resourcesOf(s, 'aws_s3_bucket')).toEqual({});
    expect(s.output!.bucket_name.value).toBe('acme-central-logs');
  });

  it('keeps generated prefixes within the 37 characters S3 allows', () => {
    expect(bucketPrefixFor('abcdefghijklmnopqrst-production-sessions')).toBe('abcdefghijklmnopqrst-production-sess-');
    expect(bucketPrefixFor('abcdefghijklmnopqrst-production-sessions').length).toBeLessThanOrEqual(37);
  });
});

describe('log archive bucket on a bare stack: what a central archive adds', () => {
  it('appends the extra statements after its own, given the bucket ARN, and gives a created key its policy', () => {
    const b = bareStack();
    const keyPolicy = '{"Version":"2012-10-17","Statement":[]}';
    bareArchive(b, {
      encryption: 'SSE-KMS', keyPolicy,
      extraStatements: (bucket) => [{ Sid: 'MembersWriteOwnPrefix', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::222222222222:root'] }, Action: 's3:PutObject', Resource: `${bucket}/x/*` }],
    });
    const s = synthBare(b.stack);
    expect(onlyResource(s, 'aws_kms_key').policy).toBe(keyPolicy);
    const policy = String(onlyResource(s, 'aws_s3_bucket_policy').policy);
    const sids = [...policy.matchAll(/"Sid" = "([A-Za-z]+)"/g)].map((m) => m[1]);
    expect(sids).toEqual(['DenyInsecureTransport', 'DenyWrongEncryptionHeader', 'DenyOtherKmsKeys', 'DenyAwsManagedKey', 'MembersWriteOwnPrefix']);
    expect(policy).toContain('"Resource" = "${aws_s3_bucket.archive.arn}/x/*"');
  });

  it('knows its region: the stack\'s for a bucket it creates, the given one for an existing bucket', () => {
    const here = bareStack('eu-west-1', 'here');
    expect(bareArchive(here).region).toBe('eu-west-1');
    const central = bareStack('eu-west-1', 'central');
    expect(bareArchive(central, { existingBucketName: 'acme-log-archive', existingBucketRegion: 'us-east-1' }).region).toBe('us-east-1');
    expect(bareArchive(bareStack('eu-west-1', 'same'), { existingBucketName: 'acme-log-archive' }).region).toBe('eu-west-1');
  });
});
