import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { SqsQueueRedriveAllowPolicy } from '@cdktf/provider-aws/lib/sqs-queue-redrive-allow-policy';
import { rescueQueueMaxReceiveCount, rescueQueueVisibilitySeconds } from '../../handlers/log-rescue/timing';
import { policyDocument } from '../shared/iam';
import { named } from '../shared/addresses';

/**
 * Policy of a queue no service but our EventBridge rules may send to, over TLS only (the handler's
 * own role sends its look-again copies to the event queue by its IAM policy, in this account). The
 * event queue and the dead-letter queue (which the rules' targets dead-letter to) share it, so they
 * cannot drift apart.
 */
export function rulesOnlyQueuePolicy(sid: string, queueArn: string, ruleArns: string[]): string {
  return policyDocument([
    {
      Sid: sid,
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: queueArn,
      Condition: { ArnEquals: { 'aws:SourceArn': ruleArns } },
    },
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:*',
      Resource: queueArn,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ]);
}

export interface RescueQueueProps {
  readonly namePrefix: string;
  /** The handler's online wait, which its timeout and so the queue's visibility timeout follow. */
  readonly onlineWaitSeconds: number;
  /** The lifecycle hook's heartbeat timeout, which the retries of an event span. */
  readonly heartbeatTimeoutSeconds: number;
  /** The rules that feed the queue; no other service may send to it. */
  readonly ruleArns: string[];
  /** Where a message goes after its last receive (`rescueQueueMaxReceiveCount`). */
  readonly deadLetterQueue: SqsQueue;
}

/**
 * The event queue: every rule delivers here and the handler reads it in batches, so a scale-in
 * storm becomes one SendCommand per batch of instances instead of one per instance. A part of
 * RescueEvents (events.ts), which owns the rules that feed it and points them at it.
 */
export class RescueQueue extends Construct {
  readonly queue: SqsQueue;
  /** What lets the rules send; a target should wait for it. */
  readonly policy: SqsQueuePolicy;

  constructor(scope: Construct, id: string, props: RescueQueueProps) {
    super(scope, id);
    this.queue = named(new SqsQueue(this, 'queue', {
      name: `${props.namePrefix}-log-rescue-events`,
      sqsManagedSseEnabled: true,
      // The function timeout + 10 s, not AWS's six timeouts: a batch received again while its first
      // run goes is harmless (no second command, no second count), while every second of this holds
      // the instance of a failed event. The full reasoning and its measurement: rescueQueueVisibilitySeconds.
      visibilityTimeoutSeconds: rescueQueueVisibilitySeconds(props.onlineWaitSeconds),
      // Outlasts a handler outage over a weekend. A message keeps its first enqueue time in the
      // dead-letter queue, whose 14 days therefore must stay longer than this.
      messageRetentionSeconds: 4 * 24 * 3600,
      redrivePolicy: Fn.jsonencode({ deadLetterTargetArn: props.deadLetterQueue.arn, maxReceiveCount: rescueQueueMaxReceiveCount(props.heartbeatTimeoutSeconds, props.onlineWaitSeconds) }),
    }), 'events');

    this.policy = named(new SqsQueuePolicy(this, 'policy', {
      queueUrl: this.queue.url,
      policy: rulesOnlyQueuePolicy('OnlyOurRulesSend', this.queue.arn, props.ruleArns),
    }), 'events');

    // By default any queue of the account may name the dead-letter queue as its own; only this one
    // may. (EventBridge's dead-lettering is a SendMessage, which the DLQ's own policy governs.)
    named(new SqsQueueRedriveAllowPolicy(this, 'dlq-redrive-allow', {
      queueUrl: props.deadLetterQueue.url,
      redriveAllowPolicy: Fn.jsonencode({ redrivePermission: 'byQueue', sourceQueueArns: [this.queue.arn] }),
    }), 'dead_letters');
  }
}
