import { Construct } from 'constructs';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { AwsContext } from './aws-context';
import { policyDocument } from './iam';
import { named } from './addresses';

export interface AlarmTopicProps {
  readonly aws: AwsContext;
  /** Name of the topic, when this construct creates one. */
  readonly name: string;
  /**
   * Notify this existing SNS topic; nothing is created.
   * @default none
   */
  readonly existingTopicArn?: string;
  /**
   * Create a topic when no existing one is given.
   * @default false: alarms notify nobody (they still show in the console)
   */
  readonly createTopic?: boolean;
  /**
   * Subscribe this e-mail address to the created topic.
   * @default no subscription
   */
  readonly email?: string;
}

/**
 * Where a stack's alarms notify: an existing topic, a topic created here, or nowhere (alarms still
 * show in the console). Every alarm takes `actions`.
 */
export class AlarmTopic extends Construct {
  readonly topicArn?: string;
  /** `alarm_actions` / `ok_actions` for every alarm of the stack. */
  readonly actions: string[];

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const { aws } = props;
    if (props.existingTopicArn) {
      this.topicArn = props.existingTopicArn;
    } else if (props.createTopic) {
      // No KMS: CloudWatch cannot publish to topics encrypted with the AWS managed SNS key, and
      // alarm notifications carry no log content.
      const topic = named(new SnsTopic(this, 'topic', { name: props.name }), 'alarms');
      named(new SnsTopicPolicy(this, 'policy', {
        arn: topic.arn,
        policy: policyDocument([{
          Sid: 'CloudWatchAlarmsOfThisAccount',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: topic.arn,
          Condition: {
            StringEquals: { 'aws:SourceAccount': aws.accountId },
            ArnLike: { 'aws:SourceArn': aws.arn('cloudwatch', 'alarm:*') },
          },
        }]),
      }), 'alarms');
      if (props.email) {
        named(new SnsTopicSubscription(this, 'email', { topicArn: topic.arn, protocol: 'email', endpoint: props.email }), 'alarms_email');
      }
      this.topicArn = topic.arn;
    }
    this.actions = this.topicArn ? [this.topicArn] : [];
  }
}
