/** @lane synth */
import { onlyResource, resourceAt } from '../../support/synth';
import { addressOf, contextRefs, parseJsonencode, ref, sessionStack, statement } from '../../stacks/session-logs.helpers';

const stream = (s: any) => onlyResource(s, 'aws_kinesis_firehose_delivery_stream');

describe('session Firehose stream', () => {
  const s = sessionStack();
  const bucketArn = ref(s, 'aws_s3_bucket', 'archive/bucket', 'arn');

  it('delivers to the archive bucket under date-partitioned session-logs/, errors under session-logs-errors/', () => {
    const f = stream(s);
    expect(f).toMatchObject({ name: 'logrescue-dev-session-logs', destination: 'extended_s3' });
    const e = f.extended_s3_configuration;
    expect(e).toMatchObject({
      bucket_arn: bucketArn,
      role_arn: ref(s, 'aws_iam_role', 'firehose/role', 'arn'),
      prefix: 'session-logs/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/',
      error_output_prefix: 'session-logs-errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/',
      compression_format: 'GZIP',
    });
    expect(e.kms_key_arn).toBeUndefined();
    expect(f.depends_on).toEqual([addressOf(s, 'aws_iam_role_policy', 'firehose/role-policy')]);
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

  it('buffers for cost by default (128 MiB / 900 s) and takes buffering from config', () => {
    expect(stream(s).extended_s3_configuration).toMatchObject({ buffering_size: 128, buffering_interval: 900 });
    const t = stream(sessionStack({ firehose: { bufferingSizeMb: 5, bufferingIntervalSeconds: 60 } }));
    expect(t.extended_s3_configuration).toMatchObject({ buffering_size: 5, buffering_interval: 60 });
  });

  it('logs delivery errors to its own log group and stream, with retention', () => {
    const group = resourceAt(s, 'aws_cloudwatch_log_group', 'firehose/error-log-group');
    expect(group).toEqual(expect.objectContaining({ name: '/aws/kinesisfirehose/logrescue-dev-session-logs', retention_in_days: 14 }));
    const logStream = onlyResource(s, 'aws_cloudwatch_log_stream');
    expect(logStream).toMatchObject({ name: 'DestinationDelivery', log_group_name: ref(s, 'aws_cloudwatch_log_group', 'firehose/error-log-group', 'name') });
    expect(stream(s).extended_s3_configuration.cloudwatch_logging_options).toEqual({
      enabled: true,
      log_group_name: ref(s, 'aws_cloudwatch_log_group', 'firehose/error-log-group', 'name'),
      log_stream_name: ref(s, 'aws_cloudwatch_log_stream', 'firehose/error-log-stream', 'name'),
    });
    const retained = resourceAt(sessionStack({ firehose: { errorLogRetentionDays: 30 } }), 'aws_cloudwatch_log_group', 'firehose/error-log-group');
    expect(retained.retention_in_days).toBe(30);
  });

  it('encrypts the stream with an AWS-owned key by default', () => {
    expect(stream(s).server_side_encryption).toEqual({ enabled: true, key_type: 'AWS_OWNED_CMK' });
  });

  it('with KMS: the stream uses the log group key, S3 objects the bucket key', () => {
    const k = sessionStack({ logGroup: { kms: 'create' }, archiveBucket: { encryption: 'SSE-KMS' } });
    expect(stream(k).server_side_encryption).toEqual({
      enabled: true, key_type: 'CUSTOMER_MANAGED_CMK', key_arn: ref(k, 'aws_kms_key', 'log-group/key', 'arn'),
    });
    expect(stream(k).extended_s3_configuration.kms_key_arn).toBe(ref(k, 'aws_kms_key', 'archive/key', 'arn'));
  });

  describe('its role', () => {
    it('is assumable by Firehose on behalf of this account only', () => {
      const { account } = contextRefs(s);
      const role = resourceAt(s, 'aws_iam_role', 'firehose/role');
      expect(role.name).toBe('logrescue-dev-session-firehose');
      expect(parseJsonencode(role.assume_role_policy).Statement).toEqual([{
        Effect: 'Allow', Principal: { Service: 'firehose.amazonaws.com' }, Action: 'sts:AssumeRole',
        // What Firehose documents it sends when it assumes a delivery role: the account as external id.
        Condition: { StringEquals: { 'sts:ExternalId': account } },
      }]);
    });

    it('may write objects only under the two session prefixes, bucket-level reads on the bucket, its own error stream', () => {
      const policy = resourceAt(s, 'aws_iam_role_policy', 'firehose/role-policy');
      expect(policy.role).toBe(ref(s, 'aws_iam_role', 'firehose/role', 'id'));
      const doc = parseJsonencode(policy.policy);
      expect(doc.Statement.map((st: any) => st.Sid)).toEqual(['FindBucket', 'WriteSessionPrefixes', 'WriteOwnErrorLog']);
      expect(statement(policy.policy, 'FindBucket')).toEqual({
        Sid: 'FindBucket', Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: bucketArn,
      });
      expect(statement(policy.policy, 'WriteSessionPrefixes')).toEqual({
        Sid: 'WriteSessionPrefixes', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        Resource: [`${bucketArn}/session-logs/*`, `${bucketArn}/session-logs-errors/*`],
      });
      expect(statement(policy.policy, 'WriteOwnErrorLog')).toEqual({
        Sid: 'WriteOwnErrorLog', Effect: 'Allow', Action: 'logs:PutLogEvents',
        Resource: `${ref(s, 'aws_cloudwatch_log_group', 'firehose/error-log-group', 'arn')}:log-stream:DestinationDelivery`,
      });
      expect(JSON.stringify(doc)).not.toMatch(/"\*"|FullAccess|s3:\*|logs:\*/);
    });

    it('with a KMS bucket: may use the bucket key only through S3 and only for this bucket', () => {
      const k = sessionStack({ archiveBucket: { encryption: 'SSE-KMS' } });
      const kBucket = ref(k, 'aws_s3_bucket', 'archive/bucket', 'arn');
      const policy = resourceAt(k, 'aws_iam_role_policy', 'firehose/role-policy').policy;
      expect(statement(policy, 'EncryptObjectsWithBucketKey')).toEqual({
        Sid: 'EncryptObjectsWithBucketKey', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: ref(k, 'aws_kms_key', 'archive/key', 'arn'),
        Condition: {
          StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [kBucket, `${kBucket}/session-logs/*`, `${kBucket}/session-logs-errors/*`] },
        },
      });
    });
  });
});

describe('session subscription filter', () => {
  const s = sessionStack();

  it('sends every event of the session log group to the stream through its own role', () => {
    expect(onlyResource(s, 'aws_cloudwatch_log_subscription_filter')).toEqual(expect.objectContaining({
      name: 'logrescue-dev-sessions-to-firehose',
      log_group_name: ref(s, 'aws_cloudwatch_log_group', 'log-group/group', 'name'),
      filter_pattern: '',
      destination_arn: ref(s, 'aws_kinesis_firehose_delivery_stream', 'firehose/stream', 'arn'),
      role_arn: ref(s, 'aws_iam_role', 'subscription/role', 'arn'),
      depends_on: [addressOf(s, 'aws_iam_role_policy', 'subscription/role-policy')],
    }));
  });

  it('its role trusts CloudWatch Logs of this account and region only, and may only put records into this stream', () => {
    const { account, partition } = contextRefs(s);
    const role = resourceAt(s, 'aws_iam_role', 'subscription/role');
    expect(parseJsonencode(role.assume_role_policy).Statement).toEqual([{
      Effect: 'Allow', Principal: { Service: 'logs.amazonaws.com' }, Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': `arn:${partition}:logs:us-east-1:${account}:*` },
      },
    }]);
    const policy = resourceAt(s, 'aws_iam_role_policy', 'subscription/role-policy');
    expect(parseJsonencode(policy.policy).Statement).toEqual([{
      Sid: 'PutIntoSessionStream', Effect: 'Allow', Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
      Resource: ref(s, 'aws_kinesis_firehose_delivery_stream', 'firehose/stream', 'arn'),
    }]);
  });
});
