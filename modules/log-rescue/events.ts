import { Construct } from 'constructs';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Fn } from 'cdktf';
import { EVENTS, TERMINAL_COMMAND_STATUSES } from '../../config/patterns';
import { RescueQueue, rulesOnlyQueuePolicy } from './queue';
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
  /** `<project>-<environment>`: rules are `<namePrefix>-log-rescue-<rule>`, queues `<namePrefix>-log-rescue-events` and `-dlq`. */
  readonly namePrefix: string;
  /** The protected Auto Scaling groups, whose lifecycle actions the lifecycle rule matches. */
  readonly groupNames: string[];
  /** The termination lifecycle hook the lifecycle rule matches. */
  readonly hookName: string;
  /** The rescue document, whose command statuses the command rules match. */
  readonly document: { readonly name: string };
  /** Also rescue on the Spot interruption warning (config `logRescue.spotInterruption`). */
  readonly spotInterruption: boolean;
  /** EventBridge delivery retries before an event goes to the dead-letter queue. */
  readonly maximumRetryAttempts: number;
  /** ... and the age after which EventBridge stops retrying. */
  readonly maximumEventAgeSeconds: number;
  /** The handler's online wait, which its timeout and so the event queue's visibility timeout follow. */
  readonly onlineWaitSeconds: number;
  /** The lifecycle hook's heartbeat timeout, which the retries of a queued event span. */
  readonly heartbeatTimeoutSeconds: number;
}

/**
 * The event path, whole: the EventBridge rules that drive the flow (lifecycle action, command
 * finished on an instance or overall, Spot warning), the event queue they all feed and the handler
 * reads (queue.ts), the dead-letter queue for events that could not be delivered or handled, the
 * queues' policies, and the rules' targets.
 */
export class RescueEvents extends Construct {
  readonly rules: CloudwatchEventRule[];
  /** Where every rule delivers; the handler's event source. */
  readonly eventQueue: SqsQueue;
  /** Events EventBridge could not deliver and messages the handler kept failing. */
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: RescueEventsProps) {
    super(scope, id);
    this.deadLetterQueue = named(new SqsQueue(this, 'dlq', {
      name: `${props.namePrefix}-log-rescue-dlq`,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: 14 * 24 * 3600,
    }), 'dead_letters');

    const patterns = rescueEventPatterns({
      groupNames: props.groupNames, hookName: props.hookName, documentName: props.document.name, spotInterruption: props.spotInterruption,
    });
    // Each rule's address name, which its target shares.
    const rules = patterns.map((r) => ({
      addressName: addressName(r.id),
      rule: named(new CloudwatchEventRule(this, r.id, {
        name: `${props.namePrefix}-log-rescue-${r.id}`,
        description: r.description,
        eventPattern: Fn.jsonencode(r.pattern),
      }), addressName(r.id)),
    }));
    this.rules = rules.map((r) => r.rule);
    const ruleArns = this.rules.map((r) => r.arn);

    named(new SqsQueuePolicy(this, 'dlq-policy', {
      queueUrl: this.deadLetterQueue.url,
      policy: rulesOnlyQueuePolicy('OnlyOurRulesDeadLetter', this.deadLetterQueue.arn, ruleArns),
    }), 'dead_letters');

    const eventQueue = new RescueQueue(this, 'event-queue', {
      namePrefix: props.namePrefix,
      onlineWaitSeconds: props.onlineWaitSeconds,
      heartbeatTimeoutSeconds: props.heartbeatTimeoutSeconds,
      ruleArns,
      deadLetterQueue: this.deadLetterQueue,
    });
    this.eventQueue = eventQueue.queue;

    // Every rule targets the event queue, with retries and the dead-letter queue for what
    // EventBridge cannot deliver. The queue's policy, not a target role, lets the rules send, so
    // each target waits for it: an event delivered before it would be refused and retried.
    for (const { rule, addressName: name } of rules) {
      named(new CloudwatchEventTarget(this, `${rule.node.id}-target`, {
        rule: rule.name,
        // Unchanged from when the target was the function: a new id would replace the target
        // (delete, then create) instead of switching it in place.
        targetId: 'log-rescue-handler',
        arn: this.eventQueue.arn,
        retryPolicy: { maximumRetryAttempts: props.maximumRetryAttempts, maximumEventAgeInSeconds: props.maximumEventAgeSeconds },
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
        dependsOn: [eventQueue.policy],
      }), name);
    }
  }
}
