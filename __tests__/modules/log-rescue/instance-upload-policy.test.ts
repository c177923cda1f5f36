/**
 * InstanceUploadPolicy on a bare stack, for an archive bucket made beside it or an existing one: a
 * managed policy that may only put objects under the given prefix, plus the archive's KMS key
 * through S3 from the bucket's region when the archive has a key, attached to the roles it is given.
 * What AWS decides with it is judged in __tests__/iam/; here, the statements the module writes.
 * @lane unit
 */
import { decodeJsonExpression } from '../../../scripts/hcl-expr';
import { resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareArchive, bareStack, synthBare } from '../../support/bare-stack';
import { LogArchiveBucketProps } from '../../../modules/shared/log-archive-bucket';
import { InstanceUploadPolicy, InstanceUploadPolicyProps } from '../../../modules/log-rescue/instance-upload-policy';

type Props = Omit<InstanceUploadPolicyProps, 'aws' | 'archive'>;

const PROPS: Props = { name: 'acme-prod-log-rescue-instance-upload', prefix: 'instance-logs' };
const KEY_ARN = 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** The policy (construct id `instance-policy`) for an archive (`bareArchive` with `archive`) on a bare stack in eu-west-1. */
function synth(over: Partial<Props> = {}, archive: Partial<LogArchiveBucketProps> = {}): StackJson {
  const b = bareStack('eu-west-1');
  new InstanceUploadPolicy(b.stack, 'instance-policy', { ...PROPS, ...over, aws: b.aws, archive: bareArchive(b, archive) });
  return synthBare(b.stack);
}

const statementsOf = (s: StackJson) => (decodeJsonExpression(at(s, 'aws_iam_policy', 'instance_upload').policy) as any).Statement;

const upload = (objects: string) => ({
  Sid: 'UploadRescuedLogsOnly', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: objects,
});

describe('InstanceUploadPolicy', () => {
  const s = synth();
  const other = synth({ name: 'other-test-upload', prefix: 'rescued/logs', attachToRoles: ['web-role', 'Worker.Role'] });

  it('may only put objects (multipart included) under the prefix of an SSE-S3 archive, at aws_iam_policy.instance_upload', () => {
    expect(Object.keys(resourcesOf(s, 'aws_iam_policy'))).toEqual(['instance_upload']);
    expect(at(s, 'aws_iam_policy', 'instance_upload')).toMatchObject({
      name: 'acme-prod-log-rescue-instance-upload',
      description: 'Lets the log rescue command upload this instance\'s logs to the archive, nothing more',
    });
    expect(statementsOf(s)).toEqual([upload('${aws_s3_bucket.archive.arn}/instance-logs/*')]);
    expect(at(other, 'aws_iam_policy', 'instance_upload').name).toBe('other-test-upload');
    expect(statementsOf(other)).toEqual([upload('${aws_s3_bucket.archive.arn}/rescued/logs/*')]);
  });

  it('with an SSE-KMS archive: also a data key and decrypt of the archive key, only through S3 and only for this archive', () => {
    expect(statementsOf(synth({}, { encryption: 'SSE-KMS' }))).toEqual([
      upload('${aws_s3_bucket.archive.arn}/instance-logs/*'),
      {
        Sid: 'EncryptUploadsWithArchiveKey', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: { $expr: 'aws_kms_key.archive.arn' },
        Condition: {
          StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [{ $expr: 'aws_s3_bucket.archive.arn' }, '${aws_s3_bucket.archive.arn}/instance-logs/*'] },
        },
      },
    ]);
  });

  it('for an existing archive in another region: its ARN and key, with S3 calling KMS from the bucket\'s region', () => {
    const central = synth({}, { existingBucketName: 'acme-central-logs', existingKmsKeyArn: KEY_ARN, existingBucketRegion: 'us-west-2' });
    const objects = 'arn:${data.aws_partition.current.partition}:s3:::acme-central-logs/instance-logs/*';
    expect(statementsOf(central)).toEqual([
      upload(objects),
      {
        Sid: 'EncryptUploadsWithArchiveKey', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: KEY_ARN,
        Condition: {
          StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': ['arn:${data.aws_partition.current.partition}:s3:::acme-central-logs', objects] },
        },
      },
    ]);
    // An existing SSE-S3 bucket: no key statement.
    expect(statementsOf(synth({}, { existingBucketName: 'acme-central-logs' }))).toEqual([upload('arn:${data.aws_partition.current.partition}:s3:::acme-central-logs/instance-logs/*')]);
  });

  it('attaches to no role by default, and to each role it is given at instance_upload_<role>', () => {
    expect(resourcesOf(s, 'aws_iam_role_policy_attachment')).toEqual({});
    expect(resourcesOf(other, 'aws_iam_role_policy_attachment')).toEqual({
      instance_upload_web_role: { role: 'web-role', policy_arn: '${aws_iam_policy.instance_upload.arn}' },
      instance_upload_worker_role: { role: 'Worker.Role', policy_arn: '${aws_iam_policy.instance_upload.arn}' },
    });
  });
});
