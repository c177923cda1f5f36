import { Construct } from 'constructs';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Fn } from 'cdktf';
import { EVENTS, TERMINAL_COMMAND_STATUSES } from '../config/patterns';
import { LogRescueConfig } from '../config/schema';
import { AwsContext } from './aws-context';
import { policyDocument } from './iam';

export { TERMINAL_COMMAND_STATUSES };

export type EventPattern = { [key: string]: readonly string[] | EventPattern };

/**
 * The rules' event patterns, as data: the stack deploys them and the storm simulation matches its
 * events against the same ones.
 */
export function rescueEventPatterns(p: {
  groupNames: string[]; hookName: string; documentName: string; spotInterruption: boolean;
}): Array<{ id: string; description: string; pattern: EventPattern }> {
  const of = (e: { source: string; detailType: string }): EventPattern => ({ source: [e.source], 'detail-type': [e.detailType] });
  const rules: Array<{ id: string; description: string; pattern: EventPattern }> = [
    {
      id: 'lifecycle',
      description: 'Instance of a protected group is terminating',
      pattern: { ...of(EVENTS.lifecycle), detail: { AutoScalingGroupName: p.groupNames, LifecycleHookName: [p.hookName] } },
    },
    {
      id: 'command-status',
      description: 'The rescue command reached a final status',
      pattern: { ...of(EVENTS.commandStatus), detail: { 'document-name': [p.documentName], status: [...TERMINAL_COMMAND_STATUSES] } },
    },
  ];
  // The warning carries no group name; the handler checks membership.
  if (p.spotInterruption) {
    rules.push({ id: 'spot-warning', description: 'A Spot instance will be interrupted in two minutes', pattern: of(EVENTS.spotWarning) });
  }
  return rules;
}

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

    for (const r of rescueEventPatterns({ ...props, spotInterruption: props.config.spotInterruption })) this.rule(r.id, r.description, r.pattern);

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

  private rule(id: string, description: string, pattern: EventPattern): void {
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
