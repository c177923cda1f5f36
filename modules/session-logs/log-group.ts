import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { AwsContext } from '../shared/aws-context';
import { policyDocument } from '../shared/iam';
import { named, retainIfRemoved } from '../shared/addresses';

/** What the account may do with the key: the console's key-administrator and key-user sets. */
export const ACCOUNT_KEY_ACTIONS = [
  'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*',
  'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand', 'kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:RetireGrant',
];

export interface SessionLogGroupProps {
  /** Name of the log group Session Manager streams to. */
  readonly name: string;
  /** Days CloudWatch Logs keeps events (a value it accepts); S3 is the long-term store. */
  readonly retentionDays: number;
  /** STANDARD: subscription filters, which feed Firehose, need it. */
  readonly logGroupClass: string;
  /** `none`, `create` (a key CloudWatch Logs may use for this group only), or the ARN of a key to use. */
  readonly kms: string;
  readonly aws: AwsContext;
  /** `<project>-<environment>`, for the key's alias and description. */
  readonly namePrefix: string;
}

/**
 * The CloudWatch Logs group Session Manager streams sessions into: short retention (S3 is the
 * archive), STANDARD class (subscription filters need it), optionally encrypted with a KMS key
 * that CloudWatch Logs may use for this one group only.
 */
export class SessionLogGroup extends Construct {
  readonly logGroup: CloudwatchLogGroup;
  readonly name: string;
  /** `arn:...:log-group:<name>`, without the `:*` suffix. */
  readonly arn: string;
  /** The key the group is encrypted with, when one is configured or created. */
  readonly kmsKeyArn?: string;
  /** Present only when this construct created the key. */
  readonly kmsKey?: KmsKey;

  constructor(scope: Construct, id: string, props: SessionLogGroupProps) {
    super(scope, id);
    const { aws } = props;
    this.name = props.name;

    if (props.kms === 'create') {
      // Built from the name rather than the resource's ARN: the group needs the key first.
      const groupArn = aws.arn('logs', `log-group:${props.name}`);
      this.kmsKey = named(new KmsKey(this, 'key', {
        description: `Encrypts Session Manager log group ${props.name} (${props.namePrefix})`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        // Losing the key loses every session still in the group (and the Firehose stream's data).
        lifecycle: { preventDestroy: true },
        policy: policyDocument([
          {
            // The account (through IAM policies) manages and uses the key, so it can never become
            // unmanageable; CreateGrant is how Firehose gets to use it for the stream.
            Sid: 'AccountAdministersKey',
            Effect: 'Allow',
            Principal: { AWS: `arn:${aws.partition}:iam::${aws.accountId}:root` },
            Action: ACCOUNT_KEY_ACTIONS,
            Resource: '*',
          },
          {
            Sid: 'CloudWatchLogsUsesKeyForThisGroupOnly',
            Effect: 'Allow',
            Principal: { Service: `logs.${aws.region}.amazonaws.com` },
            Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
            Resource: '*',
            Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': groupArn } },
          },
        ]),
      }), 'sessions');
      named(new KmsAlias(this, 'alias', { name: `alias/${props.namePrefix}/session-logs`, targetKeyId: this.kmsKey.keyId }), 'sessions');
      this.kmsKeyArn = this.kmsKey.arn;
    } else {
      if (props.kms !== 'none') this.kmsKeyArn = props.kms;
      // A key created under an earlier config stays (forgotten, not deleted) when the config moves away.
      retainIfRemoved(this, 'aws_kms_key', 'sessions');
    }

    this.logGroup = named(new CloudwatchLogGroup(this, 'group', {
      name: props.name,
      retentionInDays: props.retentionDays,
      logGroupClass: props.logGroupClass,
      kmsKeyId: this.kmsKeyArn,
    }), 'sessions');
    this.arn = this.logGroup.arn;
  }
}
