import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchLogSubscriptionFilter } from '@cdktf/provider-aws/lib/cloudwatch-log-subscription-filter';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { KinesisFirehoseDeliveryStream } from '@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream';
import { AwsContext } from '../shared/aws-context';
import { policyDocument, serviceTrustPolicy } from '../shared/iam';
import { named } from '../shared/addresses';

export interface SessionSubscriptionProps {
  readonly aws: AwsContext;
  /** The log group resource: the filter names it by its `name` attribute, so it waits for the group. */
  readonly logGroup: Pick<CloudwatchLogGroup, 'name'>;
  /** The Firehose stream the filter delivers to. */
  readonly deliveryStream: Pick<KinesisFirehoseDeliveryStream, 'arn'>;
  readonly namePrefix: string;
}

/**
 * Every event of the session log group goes to the Firehose stream, through a role only CloudWatch
 * Logs of this account may assume and that may only put records into that one stream.
 */
export class SessionSubscription extends Construct {
  readonly filter: CloudwatchLogSubscriptionFilter;
  readonly filterName: string;
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: SessionSubscriptionProps) {
    super(scope, id);
    const { aws } = props;
    this.filterName = `${props.namePrefix}-sessions-to-firehose`;

    this.role = named(new IamRole(this, 'role', {
      name: `${props.namePrefix}-session-logs-to-firehose`,
      description: 'CloudWatch Logs puts session log events into the session Firehose stream',
      assumeRolePolicy: serviceTrustPolicy('logs.amazonaws.com', aws.accountId, aws.arn('logs', '*')),
    }), 'subscription');
    const rolePolicy = named(new IamRolePolicy(this, 'role-policy', {
      name: 'put-into-session-stream',
      role: this.role.id,
      policy: policyDocument([{
        Sid: 'PutIntoSessionStream',
        Effect: 'Allow',
        Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
        Resource: props.deliveryStream.arn,
      }]),
    }), 'subscription');

    this.filter = named(new CloudwatchLogSubscriptionFilter(this, 'filter', {
      name: this.filterName,
      logGroupName: props.logGroup.name,
      // Empty pattern: every event. A session record left out would be a hole in the audit trail.
      filterPattern: '',
      destinationArn: props.deliveryStream.arn,
      roleArn: this.role.arn,
      // CloudWatch Logs sends a test record on creation; the role must already allow it.
      dependsOn: [rolePolicy],
    }), 'sessions');
  }
}
