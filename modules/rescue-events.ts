import { Construct } from 'constructs';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Fn } from 'cdktf';
import { TERMINAL_COMMAND_STATUSES } from '../config/patterns';
import { LogRescueConfig } from '../config/schema';
import { AwsContext } from './aws-context';
import { policyDocument } from './iam';

export { TERMINAL_COMMAND_STATUSES };

export interface RescueEventsProps {
  readonly config: LogRescueConfig;
  readonly aws: AwsContext;
  readonly namePrefix: string;
  readonly groupNames: string[];
  readonly hookName: string;
  readonly documentName: string;
}

/**
 * The dead-letter queue and the EventBridge rules that drive the flow: lifecycle action ->
 * handler; command finished -> handler completes the action; Spot warning -> handler.
 * The queue exists before the function so the function can use it as its failure destination.
 */
export class RescueEvents extends Construct {
  readonly deadLetterQueue: SqsQueue;
  readonly rules: CloudwatchEventRule[] = [];

  constructor(scope: Construct, id: string, private readonly props: RescueEventsProps) {
    super(scope, id);
    this.deadLetterQueue = new SqsQueue(this, 'dlq', {
      name: `${props.namePrefix}-log-rescue-dlq`,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: 14 * 24 * 3600,
    });

    this.rule('lifecycle', 'Instance of a protected group is terminating', {
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
      detail: { AutoScalingGroupName: props.groupNames, LifecycleHookName: [props.hookName] },
    });
    this.rule('command-status', 'The rescue command reached a final status', {
      source: ['aws.ssm'],
      'detail-type': ['EC2 Command Status-change Notification'],
      detail: { 'document-name': [props.documentName], status: [...TERMINAL_COMMAND_STATUSES] },
    });
    if (props.config.spotInterruption) {
      // The warning carries no group name; the handler checks membership.
      this.rule('spot-warning', 'A Spot instance will be interrupted in two minutes', {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Spot Instance Interruption Warning'],
      });
    }

    new SqsQueuePolicy(this, 'dlq-policy', {
      queueUrl: this.deadLetterQueue.url,
      policy: policyDocument([
        {
          Sid: 'OnlyOurRulesDeadLetter',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: this.deadLetterQueue.arn,
          Condition: { ArnEquals: { 'aws:SourceArn': this.rules.map((r) => r.arn) } },
        },
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 'sqs:*',
          Resource: this.deadLetterQueue.arn,
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ]),
    });
  }

  private rule(id: string, description: string, pattern: Record<string, unknown>): void {
    this.rules.push(new CloudwatchEventRule(this, id, {
      name: `${this.props.namePrefix}-log-rescue-${id}`,
      description,
      eventPattern: Fn.jsonencode(pattern),
    }));
  }

  /** Point every rule at the function, with retries and the dead-letter queue. */
  targetFunction(functionArn: string, functionName: string): void {
    const retry = this.props.config.retry;
    this.rules.forEach((rule) => {
      const id = rule.node.id;
      new CloudwatchEventTarget(this, `${id}-target`, {
        rule: rule.name,
        targetId: 'log-rescue-handler',
        arn: functionArn,
        retryPolicy: { maximumRetryAttempts: retry.maximumRetryAttempts, maximumEventAgeInSeconds: retry.maximumEventAgeSeconds },
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
      });
      new LambdaPermission(this, `${id}-invoke`, {
        statementId: `events-${id}`,
        action: 'lambda:InvokeFunction',
        functionName,
        principal: 'events.amazonaws.com',
        sourceArn: rule.arn,
        sourceAccount: this.props.aws.accountId,
      });
    });
  }
}
