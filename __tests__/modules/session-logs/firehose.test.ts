/**
 * SessionFirehose on a bare stack: the stream, its error log and a delivery role limited to its
 * prefixes (at the bucket root or under a central archive's root) and keys; then what the
 * session-logs stack passes it from config. The filter that feeds it is in subscription.test.ts.
 * @lane synth
 */
import { onlyResource, resourceAt, resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareArchive, bareStack, synthBare } from '../../support/bare-stack';
import { addressOf, contextRefs, parseJsonencode, ref, sessionStack, statement } from '../../stacks/session-logs.helpers';
import { SessionFirehose, SessionFirehoseProps, sessionPrefixes } from '../../../modules/session-logs/firehose';
import { LogArchiveBucketProps } from '../../../modules/shared/log-archive-bucket';

type Props = Omit<SessionFirehoseProps, 'aws' | 'archive'>;

const PROPS: Props = {
  bufferingSizeMb: 64,
  bufferingIntervalSeconds: 300,
  errorLogRetentionDays: 30,
  namePrefix: 'acme-prod',
};

const STREAM_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A member account's view of the organisation's archive: someone else's bucket, in another region, with its own key. */
const CENTRAL_KEY = 'arn:aws:kms:us-east-1:111111111111:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const CENTRAL: Partial<LogArchiveBucketProps> = { existingBucketName: 'central-archive', existingBucketRegion: 'us-east-1', existingKmsKeyArn: CENTRAL_KEY };

/** The stream (construct id `firehose`) writing to an archive bucket (`archive`, SSE-S3 unless `archive` says otherwise) on a bare stack in eu-west-1. */
function synth(over: Partial<Props> = {}, archive: Partial<LogArchiveBucketProps> = {}): { s: StackJson; firehose: SessionFirehose } {
  const b = bareStack('eu-west-1');
  const firehose = new SessionFirehose(b.stack, 'firehose', { ...PROPS, ...over, aws: b.aws, archive: bareArchive(b, archive) });
  return { s: synthBare(b.stack), firehose };
}

const stream = (s: StackJson) => at(s, 'aws_kinesis_firehose_delivery_stream', 'sessions');
const rolePolicy = (s: StackJson) => at(s, 'aws_iam_role_policy', 'firehose').policy as string;

const BUCKET_ARN = '${aws_s3_bucket.archive.arn}';
const ARCHIVE_KEY = '${aws_kms_key.archive.arn}';
const ERROR_GROUP = 'aws_cloudwatch_log_group.firehose_errors';
const DATES = 'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';

describe('SessionFirehose', () => {
  const { s, firehose } = synth();

  it('delivers to the archive bucket under date-partitioned session-logs/, errors under session-logs-errors/, once its role may', () => {
    expect(Object.keys(resourcesOf(s, 'aws_kinesis_firehose_delivery_stream'))).toEqual(['sessions']);
    const f = stream(s);
    expect(f).toMatchObject({ name: 'acme-prod-session-logs', destination: 'extended_s3' });
    expect(firehose.streamName).toBe('acme-prod-session-logs');
    const e = f.extended_s3_configuration;
    expect(e).toMatchObject({
      bucket_arn: BUCKET_ARN,
      role_arn: '${aws_iam_role.firehose.arn}',
      prefix: `session-logs/${DATES}`,
      error_output_prefix: `session-logs-errors/!{firehose:error-output-type}/${DATES}`,
      compression_format: 'GZIP',
    });
    expect(e.kms_key_arn).toBeUndefined();
    // Firehose checks it can use the role when the stream is created.
    expect(f.depends_on).toEqual(['aws_iam_role_policy.firehose']);
  });

  it('gunzips CloudWatch Logs batches, extracts the messages and puts each record on its own line', () => {
    expect(stream(s).extended_s3_configuration.processing_configuration).toEqual({
      enabled: true,
      processors: [
        { type: 'Decompression', parameters: [{ parameter_name: 'CompressionFormat', parameter_value: 'GZIP' }] },
        { type: 'CloudWatchLogProcessing', parameters: [{ parameter_name: 'DataMessageExtraction', parameter_value: 'true' }] },
        { type: 'AppendDelimiterToRecord' },
      ],
    });
  });

  it('buffers as its props say', () => {
    expect(stream(s).extended_s3_configuration).toMatchObject({ buffering_size: 64, buffering_interval: 300 });
    const t = synth({ bufferingSizeMb: 5, bufferingIntervalSeconds: 60 }).s;
    expect(stream(t).extended_s3_configuration).toMatchObject({ buffering_size: 5, buffering_interval: 60 });
  });

  it('logs delivery errors to its own log group and stream, with the retention of its props', () => {
    expect(Object.keys(resourcesOf(s, 'aws_cloudwatch_log_group'))).toEqual(['firehose_errors']);
    expect(at(s, 'aws_cloudwatch_log_group', 'firehose_errors')).toEqual(expect.objectContaining({
      name: '/aws/kinesisfirehose/acme-prod-session-logs', retention_in_days: 30,
    }));
    expect(onlyResource(s, 'aws_cloudwatch_log_stream')).toMatchObject({ name: 'DestinationDelivery', log_group_name: `\${${ERROR_GROUP}.name}` });
    expect(stream(s).extended_s3_configuration.cloudwatch_logging_options).toEqual({
      enabled: true,
      log_group_name: `\${${ERROR_GROUP}.name}`,
      log_stream_name: '${aws_cloudwatch_log_stream.firehose_errors.name}',
    });
    expect(at(synth({ errorLogRetentionDays: 7 }).s, 'aws_cloudwatch_log_group', 'firehose_errors').retention_in_days).toBe(7);
  });

  it('encrypts the stream with an AWS-owned key, or with the key streamKmsKeyArn names', () => {
    expect(stream(s).server_side_encryption).toEqual({ enabled: true, key_type: 'AWS_OWNED_CMK' });
    expect(stream(synth({ streamKmsKeyArn: STREAM_KEY }).s).server_side_encryption).toEqual({
      enabled: true, key_type: 'CUSTOMER_MANAGED_CMK', key_arn: STREAM_KEY,
    });
  });

  it('with an SSE-KMS archive: S3 objects are encrypted with the bucket key, which is not the stream key', () => {
    const k = synth({ streamKmsKeyArn: STREAM_KEY }, { encryption: 'SSE-KMS' }).s;
    expect(Object.keys(resourcesOf(k, 'aws_kms_key'))).toEqual(['archive']);
    expect(stream(k).extended_s3_configuration.kms_key_arn).toBe(ARCHIVE_KEY);
    expect(stream(k).server_side_encryption.key_arn).toBe(STREAM_KEY);
  });

  describe('its role', () => {
    it('is <namePrefix>-session-firehose, assumable by Firehose on behalf of this account only', () => {
      const { account } = contextRefs(s);
      expect(Object.keys(resourcesOf(s, 'aws_iam_role'))).toEqual(['firehose']);
      const role = at(s, 'aws_iam_role', 'firehose');
      expect(role.name).toBe('acme-prod-session-firehose');
      expect(parseJsonencode(role.assume_role_policy).Statement).toEqual([{
        Effect: 'Allow', Principal: { Service: 'firehose.amazonaws.com' }, Action: 'sts:AssumeRole',
        // What Firehose documents it sends when it assumes a delivery role: the account as external id.
        Condition: { StringEquals: { 'sts:ExternalId': account } },
      }]);
    });

    it('may write objects only under the two session prefixes, bucket-level reads on the bucket, its own error stream; no KMS with SSE-S3', () => {
      const policy = at(s, 'aws_iam_role_policy', 'firehose');
      expect(policy.role).toBe('${aws_iam_role.firehose.id}');
      const doc = parseJsonencode(policy.policy);
      expect(doc.Statement.map((st: any) => st.Sid)).toEqual(['FindBucket', 'WriteSessionPrefixes', 'WriteOwnErrorLog']);
      expect(statement(policy.policy, 'FindBucket')).toEqual({
        Sid: 'FindBucket', Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: BUCKET_ARN,
      });
      expect(statement(policy.policy, 'WriteSessionPrefixes')).toEqual({
        Sid: 'WriteSessionPrefixes', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        Resource: [`${BUCKET_ARN}/session-logs/*`, `${BUCKET_ARN}/session-logs-errors/*`],
      });
      expect(statement(policy.policy, 'WriteOwnErrorLog')).toEqual({
        Sid: 'WriteOwnErrorLog', Effect: 'Allow', Action: 'logs:PutLogEvents',
        Resource: `\${${ERROR_GROUP}.arn}:log-stream:DestinationDelivery`,
      });
      expect(JSON.stringify(doc)).not.toMatch(/"\*"|FullAccess|s3:\*|logs:\*|kms:/);
    });

    it('with an SSE-KMS archive: may use the bucket key only through S3 in the bucket\'s region and only for this bucket', () => {
      const policy = rolePolicy(synth({}, { encryption: 'SSE-KMS' }).s);
      expect(parseJsonencode(policy).Statement.map((st: any) => st.Sid)).toEqual(['FindBucket', 'WriteSessionPrefixes', 'WriteOwnErrorLog', 'EncryptObjectsWithBucketKey']);
      expect(statement(policy, 'EncryptObjectsWithBucketKey')).toEqual({
        Sid: 'EncryptObjectsWithBucketKey', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: ARCHIVE_KEY,
        Condition: {
          StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [BUCKET_ARN, `${BUCKET_ARN}/session-logs/*`, `${BUCKET_ARN}/session-logs-errors/*`] },
        },
      });
    });
  });

  describe('keyPrefixRoot, into a central archive in another region', () => {
    const ROOT = '222222222222/eu-west-1';
    const c = synth({ keyPrefixRoot: ROOT }, CENTRAL).s;
    const { partition } = contextRefs(c);
    const central = `arn:${partition}:s3:::central-archive`;
    const objects = [`${central}/${ROOT}/session-logs/*`, `${central}/${ROOT}/session-logs-errors/*`];

    it('puts delivered records and errors under <root>/, in the existing bucket with its key', () => {
      expect(sessionPrefixes(ROOT)).toEqual({ logs: `${ROOT}/session-logs`, errors: `${ROOT}/session-logs-errors` });
      expect(sessionPrefixes()).toEqual({ logs: 'session-logs', errors: 'session-logs-errors' });
      expect(resourcesOf(c, 'aws_s3_bucket')).toEqual({});
      expect(stream(c).extended_s3_configuration).toMatchObject({
        bucket_arn: central,
        prefix: `${ROOT}/session-logs/${DATES}`,
        error_output_prefix: `${ROOT}/session-logs-errors/!{firehose:error-output-type}/${DATES}`,
        kms_key_arn: CENTRAL_KEY,
      });
    });

    it('its role may write objects only under <root>/, and may use the archive key only through S3 in the archive\'s region for them', () => {
      const policy = rolePolicy(c);
      expect(statement(policy, 'FindBucket').Resource).toBe(central);
      expect(statement(policy, 'WriteSessionPrefixes').Resource).toEqual(objects);
      expect(statement(policy, 'EncryptObjectsWithBucketKey')).toEqual({
        Sid: 'EncryptObjectsWithBucketKey', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: CENTRAL_KEY,
        Condition: {
          // The stack is in eu-west-1; S3 calls the key from the bucket's region.
          StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [central, ...objects] },
        },
      });
      expect(policy).not.toMatch(/central-archive\/session-logs/);
    });
  });
});

describe('in the session-logs stack', () => {
  const s = sessionStack();
  const k = sessionStack({
    firehose: { bufferingSizeMb: 5, bufferingIntervalSeconds: 60, errorLogRetentionDays: 30 },
    logGroup: { kms: 'create' },
    archiveBucket: { encryption: 'SSE-KMS' },
  });
  const streamOf = (x: StackJson) => onlyResource(x, 'aws_kinesis_firehose_delivery_stream');
  const errorGroupOf = (x: StackJson) => resourceAt(x, 'aws_cloudwatch_log_group', 'firehose/error-log-group');

  it('by default: logrescue-dev-session-logs into the stack\'s archive at the bucket root, buffering for cost (128 MiB / 900 s), errors kept 14 days, AWS-owned stream key, SSE-S3 objects', () => {
    const bucketArn = ref(s, 'aws_s3_bucket', 'archive/bucket', 'arn');
    const f = streamOf(s);
    expect(f).toMatchObject({ name: 'logrescue-dev-session-logs', server_side_encryption: { enabled: true, key_type: 'AWS_OWNED_CMK' } });
    expect(f.server_side_encryption.key_arn).toBeUndefined();
    expect(f.extended_s3_configuration).toMatchObject({
      bucket_arn: bucketArn,
      role_arn: ref(s, 'aws_iam_role', 'firehose/role', 'arn'),
      prefix: `session-logs/${DATES}`,
      buffering_size: 128,
      buffering_interval: 900,
    });
    expect(f.extended_s3_configuration.kms_key_arn).toBeUndefined();
    expect(f.depends_on).toEqual([addressOf(s, 'aws_iam_role_policy', 'firehose/role-policy')]);
    expect(errorGroupOf(s)).toMatchObject({ name: '/aws/kinesisfirehose/logrescue-dev-session-logs', retention_in_days: 14 });
    expect(resourceAt(s, 'aws_iam_role', 'firehose/role').name).toBe('logrescue-dev-session-firehose');
    const policy = resourceAt(s, 'aws_iam_role_policy', 'firehose/role-policy').policy;
    expect(statement(policy, 'WriteSessionPrefixes').Resource).toEqual([`${bucketArn}/session-logs/*`, `${bucketArn}/session-logs-errors/*`]);
    expect(parseJsonencode(policy).Statement.map((st: any) => st.Sid)).not.toContain('EncryptObjectsWithBucketKey');
  });

  it('passes firehose.* buffering and error retention; with KMS the stream uses the log group key, S3 objects the bucket key', () => {
    const f = streamOf(k);
    expect(f.extended_s3_configuration).toMatchObject({ buffering_size: 5, buffering_interval: 60 });
    expect(errorGroupOf(k).retention_in_days).toBe(30);
    expect(f.server_side_encryption).toEqual({
      enabled: true, key_type: 'CUSTOMER_MANAGED_CMK', key_arn: ref(k, 'aws_kms_key', 'log-group/key', 'arn'),
    });
    const bucketKey = ref(k, 'aws_kms_key', 'archive/key', 'arn');
    expect(f.extended_s3_configuration.kms_key_arn).toBe(bucketKey);
    const kms = statement(resourceAt(k, 'aws_iam_role_policy', 'firehose/role-policy').policy, 'EncryptObjectsWithBucketKey');
    expect(kms.Resource).toBe(bucketKey);
    expect(kms.Condition.StringEquals).toEqual({ 'kms:ViaService': 's3.us-east-1.amazonaws.com' });
  });
});
