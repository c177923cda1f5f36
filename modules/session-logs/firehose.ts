import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchLogStream } from '@cdktf/provider-aws/lib/cloudwatch-log-stream';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { KinesisFirehoseDeliveryStream } from '@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream';
import { AwsContext } from '../shared/aws-context';
import { policyDocument, PolicyStatement, serviceTrustPolicy } from '../shared/iam';
import { LogArchiveBucket } from '../shared/log-archive-bucket';
import { named } from '../shared/addresses';

/** Key prefix of delivered session records; the Glue table reads it. */
export const SESSION_LOGS_PREFIX = 'session-logs';
/** Key prefix of records Firehose could not process or deliver. */
export const SESSION_ERRORS_PREFIX = 'session-logs-errors';
/** The stream Firehose writes S3 delivery errors to (the name its console uses). */
export const FIREHOSE_ERROR_LOG_STREAM = 'DestinationDelivery';

/** Hive-style date partitions, in UTC, matching the Glue table's partition projection. */
const DATE_PARTITIONS = 'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';

export interface SessionFirehoseProps {
  /** MiB Firehose buffers before it writes an object: bigger means fewer, larger objects. */
  readonly bufferingSizeMb: number;
  /** Seconds Firehose buffers before it writes an object: the latency until a session shows up in S3. */
  readonly bufferingIntervalSeconds: number;
  /** Retention of Firehose's own delivery-error log group. */
  readonly errorLogRetentionDays: number;
  readonly aws: AwsContext;
  readonly archive: LogArchiveBucket;
  /** `<project>-<environment>`: the stream is `<namePrefix>-session-logs`. */
  readonly namePrefix: string;
  /**
   * Encrypt records at rest in the stream with this key.
   * @default an AWS-owned key
   */
  readonly streamKmsKeyArn?: string;
  /**
   * Everything the stream writes goes under `<keyPrefixRoot>/` (a central archive's `<account>/<region>`).
   * @default the bucket's root
   */
  readonly keyPrefixRoot?: string;
}

/**
 * The delivery role's name for a name prefix; a central archive's bucket policy matches member
 * roles by it (with `*` in the prefix).
 */
export function firehoseRoleName(namePrefix: string): string {
  return `${namePrefix}-session-firehose`;
}

/** The delivered-records and error prefixes under `root` (none: the bucket's root). */
export function sessionPrefixes(root?: string): { logs: string; errors: string } {
  const under = (p: string) => (root ? `${root}/${p}` : p);
  return { logs: under(SESSION_LOGS_PREFIX), errors: under(SESSION_ERRORS_PREFIX) };
}

/**
 * Amazon Data Firehose from the session log group's subscription into the archive bucket. Firehose
 * itself gunzips each CloudWatch Logs batch, drops control messages and keeps only the log events'
 * messages (the session records), one per line, then gzips the object once.
 */
export class SessionFirehose extends Construct {
  readonly stream: KinesisFirehoseDeliveryStream;
  readonly streamName: string;
  readonly streamArn: string;
  readonly role: IamRole;
  readonly errorLogGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: SessionFirehoseProps) {
    super(scope, id);
    const { aws, archive } = props;
    this.streamName = `${props.namePrefix}-session-logs`;

    this.errorLogGroup = named(new CloudwatchLogGroup(this, 'error-log-group', {
      name: `/aws/kinesisfirehose/${this.streamName}`,
      retentionInDays: props.errorLogRetentionDays,
    }), 'firehose_errors');
    const errorLogStream = named(new CloudwatchLogStream(this, 'error-log-stream', {
      logGroupName: this.errorLogGroup.name,
      name: FIREHOSE_ERROR_LOG_STREAM,
    }), 'firehose_errors');

    this.role = named(new IamRole(this, 'role', {
      name: firehoseRoleName(props.namePrefix),
      description: `Firehose ${this.streamName} writes session logs to the archive bucket`,
      assumeRolePolicy: serviceTrustPolicy('firehose.amazonaws.com', aws.accountId),
    }), 'firehose');

    const where = sessionPrefixes(props.keyPrefixRoot);
    const prefixes = [where.logs, where.errors];
    const statements: PolicyStatement[] = [
      {
        Sid: 'FindBucket',
        Effect: 'Allow',
        Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        Resource: archive.bucketArn,
      },
      // The object actions of AWS's documented policy for a Firehose S3 destination (Amazon Data
      // Firehose Developer Guide, "Grant Firehose access to an Amazon S3 destination"), on this
      // stream's prefixes only.
      {
        Sid: 'WriteSessionPrefixes',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        Resource: prefixes.map((p) => archive.objectsArn(p)),
      },
      {
        Sid: 'WriteOwnErrorLog',
        Effect: 'Allow',
        Action: 'logs:PutLogEvents',
        Resource: `${this.errorLogGroup.arn}:log-stream:${FIREHOSE_ERROR_LOG_STREAM}`,
      },
    ];
    if (archive.kmsKeyArn) {
      statements.push({
        Sid: 'EncryptObjectsWithBucketKey',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: archive.kmsKeyArn,
        Condition: {
          // S3 calls KMS from the bucket's region, which for a central archive may not be this stack's.
          StringEquals: { 'kms:ViaService': `s3.${archive.region}.amazonaws.com` },
          // The object ARN, or the bucket ARN when S3 Bucket Keys are on.
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [archive.bucketArn, ...prefixes.map((p) => archive.objectsArn(p))] },
        },
      });
    }
    const rolePolicy = named(new IamRolePolicy(this, 'role-policy', {
      name: 'deliver-session-logs',
      role: this.role.id,
      policy: policyDocument(statements),
    }), 'firehose');

    this.stream = named(new KinesisFirehoseDeliveryStream(this, 'stream', {
      name: this.streamName,
      destination: 'extended_s3',
      serverSideEncryption: props.streamKmsKeyArn
        ? { enabled: true, keyType: 'CUSTOMER_MANAGED_CMK', keyArn: props.streamKmsKeyArn }
        : { enabled: true, keyType: 'AWS_OWNED_CMK' },
      extendedS3Configuration: {
        roleArn: this.role.arn,
        bucketArn: archive.bucketArn,
        prefix: `${where.logs}/${DATE_PARTITIONS}`,
        errorOutputPrefix: `${where.errors}/!{firehose:error-output-type}/${DATE_PARTITIONS}`,
        bufferingSize: props.bufferingSizeMb,
        bufferingInterval: props.bufferingIntervalSeconds,
        // Records arrive gzipped; Decompression undoes that so this is the only compression.
        compressionFormat: 'GZIP',
        kmsKeyArn: archive.kmsKeyArn,
        processingConfiguration: {
          enabled: true,
          processors: [
            { type: 'Decompression', parameters: [{ parameterName: 'CompressionFormat', parameterValue: 'GZIP' }] },
            // Drops CONTROL_MESSAGE records; emits the messages of a batch separated by newlines.
            { type: 'CloudWatchLogProcessing', parameters: [{ parameterName: 'DataMessageExtraction', parameterValue: 'true' }] },
            // A batch's last message has no newline after it; without this, it would share a
            // line with the next batch's first message in the object and break the JSON lines.
            { type: 'AppendDelimiterToRecord' },
          ],
        },
        cloudwatchLoggingOptions: {
          enabled: true,
          logGroupName: this.errorLogGroup.name,
          logStreamName: errorLogStream.name,
        },
      },
      // Firehose checks it can use the role when the stream is created.
      dependsOn: [rolePolicy],
    }), 'sessions');
    this.streamArn = this.stream.arn;
  }
}
