import { Construct } from 'constructs';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Fn } from 'cdktf';
import { EVENTS, TERMINAL_COMMAND_STATUSES } from '../../config/patterns';
import { LogRescueConfig } from '../../config/schema';
import { rulesOnlyQueuePolicy } from './queue';
import { named, addressName } from '../shared/addresses';

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
      id: 'command-invocation',
      description: 'The rescue command finished on one instance',
      pattern: { ...of(EVENTS.commandInvocation), detail: { 'document-name': [p.documentName], status: [...TERMINAL_COMMAND_STATUSES] } },
    },
    // One command covers up to 50 instances; its own final status settles those whose invocation
    // event never came.
    {
      id: 'command-status',
      description: 'The rescue command reached a final status (backstop for instances that did not report)',
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
  readonly namePrefix: string;
  readonly groupNames: string[];
  readonly hookName: string;
  readonly documentName: string;
}

/**
 * The EventBridge rules that drive the flow (lifecycle action, command finished on an instance or
 * overall, Spot warning) and the dead-letter queue for events that could not be delivered or
 * handled. The rules feed the event queue (queue.ts), which the handler reads.
 */
export class RescueEvents extends Construct {
  readonly deadLetterQueue: SqsQueue;
  readonly rules: CloudwatchEventRule[] = [];
  /** Each rule's address name, which its target shares. */
  private readonly ruleNames = new Map<CloudwatchEventRule, string>();

  constructor(scope: Construct, id: string, private readonly props: RescueEventsProps) {
    super(scope, id);
    this.deadLetterQueue = named(new SqsQueue(this, 'dlq', {
      name: `${props.namePrefix}-log-rescue-dlq`,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: 14 * 24 * 3600,
    }), 'dead_letters');

    for (const r of rescueEventPatterns({ ...props, spotInterruption: props.config.spotInterruption })) this.rule(r.id, r.description, r.pattern);

    named(new SqsQueuePolicy(this, 'dlq-policy', {
      queueUrl: this.deadLetterQueue.url,
      policy: rulesOnlyQueuePolicy('OnlyOurRulesDeadLetter', this.deadLetterQueue.arn, this.rules.map((r) => r.arn)),
    }), 'dead_letters');
  }

  private rule(id: string, description: string, pattern: EventPattern): void {
    const rule = named(new CloudwatchEventRule(this, id, {
      name: `${this.props.namePrefix}-log-rescue-${id}`,
      description,
      eventPattern: Fn.jsonencode(pattern),
    }), addressName(id));
    this.rules.push(rule);
    this.ruleNames.set(rule, addressName(id));
  }

  /**
   * Point every rule at the event queue, with retries and the dead-letter queue for what EventBridge
   * cannot deliver. The queue's policy, not a target role, lets the rules send, so each target waits
   * for it: an event delivered before it would be refused and retried.
   */
  targetQueue(queueArn: string, queuePolicy: SqsQueuePolicy): void {
    const retry = this.props.config.retry;
    for (const rule of this.rules) {
      named(new CloudwatchEventTarget(this, `${rule.node.id}-target`, {
        rule: rule.name,
        // Unchanged from when the target was the function: a new id would replace the target
        // (delete, then create) instead of switching it in place.
        targetId: 'log-rescue-handler',
        arn: queueArn,
        retryPolicy: { maximumRetryAttempts: retry.maximumRetryAttempts, maximumEventAgeInSeconds: retry.maximumEventAgeSeconds },
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
        dependsOn: [queuePolicy],
      }), this.ruleNames.get(rule)!);
    }
  }
}
