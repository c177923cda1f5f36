/**
 * RescueQueue on a bare stack, given a dead-letter queue and rule ARNs: the encrypted event queue
 * whose visibility timeout follows the online wait and whose retries span the heartbeat, the policy
 * that lets only the given rules send over TLS, and the redrive-allow policy that keeps every other
 * queue off the dead-letter queue.
 * @lane unit
 */
import { TerraformOutput } from 'cdktf';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { named } from '../../../modules/shared/addresses';
import { RescueQueue, RescueQueueProps } from '../../../modules/log-rescue/queue';

const RULES = ['arn:aws:events:eu-west-1:111122223333:rule/acme-prod-log-rescue-lifecycle', 'arn:aws:events:eu-west-1:111122223333:rule/acme-prod-log-rescue-spot-warning'];

type Props = Omit<RescueQueueProps, 'deadLetterQueue'>;

const PROPS: Props = { namePrefix: 'acme-prod', onlineWaitSeconds: 20, heartbeatTimeoutSeconds: 900, ruleArns: RULES };

/**
 * The queue (construct id `event-queue`) and a dead-letter queue at `aws_sqs_queue.dead_letters`, on
 * a bare stack; outputs `queue` and `policy` show what its `queue` and `policy` fields refer to.
 */
function synth(over: Partial<Props> = {}): StackJson {
  const b = bareStack('eu-west-1');
  const deadLetterQueue = named(new SqsQueue(b.stack, 'dlq', { name: 'acme-prod-log-rescue-dlq' }), 'dead_letters');
  const q = new RescueQueue(b.stack, 'event-queue', { ...PROPS, ...over, deadLetterQueue });
  new TerraformOutput(b.stack, 'queue', { value: q.queue.arn });
  new TerraformOutput(b.stack, 'policy', { value: q.policy.id });
  return synthBare(b.stack);
}

const eventQueue = (over: Partial<Props> = {}) => at(synth(over), 'aws_sqs_queue', 'events');
const maxReceiveCount = (over: Partial<Props>) => Number(/"maxReceiveCount" = (\d+)/.exec(String(eventQueue(over).redrive_policy))?.[1]);

describe('RescueQueue', () => {
  const s = synth();

  it('is the encrypted event queue <namePrefix>-log-rescue-events, keeping a message four days, at aws_sqs_queue.events', () => {
    // The test's dead-letter queue and this one: the module makes no other queue.
    expect(Object.keys(resourcesOf(s, 'aws_sqs_queue')).sort()).toEqual(['dead_letters', 'events']);
    expect(at(s, 'aws_sqs_queue', 'events')).toMatchObject({
      name: 'acme-prod-log-rescue-events', sqs_managed_sse_enabled: true, message_retention_seconds: 345600,
    });
    expect(eventQueue({ namePrefix: 'other-test' }).name).toBe('other-test-log-rescue-events');
    expect(s.output!.queue.value).toBe('${aws_sqs_queue.events.arn}');
  });

  it('holds a received batch for the function timeout (which follows the online wait) plus 10 s', () => {
    // The function timeout is 120 s with a 20 s online wait.
    expect(at(s, 'aws_sqs_queue', 'events').visibility_timeout_seconds).toBe(130);
    expect(eventQueue({ onlineWaitSeconds: 45 }).visibility_timeout_seconds).toBe(155);
  });

  it('retries a failed event for as long as a heartbeat timeout, then dead-letters it', () => {
    // Seven visibility timeouts (910 s) after the first receive, the heartbeat (900 s) is over.
    expect(at(s, 'aws_sqs_queue', 'events').redrive_policy).toBe('${jsonencode({"deadLetterTargetArn" = aws_sqs_queue.dead_letters.arn, "maxReceiveCount" = 8})}');
    expect(maxReceiveCount({ heartbeatTimeoutSeconds: 7200 })).toBe(57);
    expect(maxReceiveCount({ heartbeatTimeoutSeconds: 1000 })).toBe(9);
    // The shortest heartbeat the config allows (the command's shortest timeout, 30 s, + 240) gives
    // 4 (270 / 130, + 1), or 3 with the longest online wait: the floor keeps 5, so an event failing
    // from its third receive raises its alarm two receives before the dead-letter queue.
    expect(maxReceiveCount({ heartbeatTimeoutSeconds: 270 })).toBe(5);
    expect(maxReceiveCount({ heartbeatTimeoutSeconds: 270, onlineWaitSeconds: 60 })).toBe(5);
  });

  it('lets only the rules it is given send to the event queue, and nobody use it without TLS', () => {
    const policy = at(s, 'aws_sqs_queue_policy', 'events');
    expect(policy.queue_url).toBe('${aws_sqs_queue.events.url}');
    expect(policy.policy).toBe('${jsonencode({"Version" = "2012-10-17", "Statement" = [' +
      '{"Sid" = "OnlyOurRulesSend", "Effect" = "Allow", "Principal" = {"Service" = "events.amazonaws.com"}, "Action" = "sqs:SendMessage", "Resource" = aws_sqs_queue.events.arn, ' +
      `"Condition" = {"ArnEquals" = {"aws:SourceArn" = ["${RULES[0]}", "${RULES[1]}"]}}}, ` +
      '{"Sid" = "DenyInsecureTransport", "Effect" = "Deny", "Principal" = "*", "Action" = "sqs:*", "Resource" = aws_sqs_queue.events.arn, "Condition" = {"Bool" = {"aws:SecureTransport" = "false"}}}]})}');
    const one = at(synth({ ruleArns: [RULES[1]] }), 'aws_sqs_queue_policy', 'events').policy;
    expect(one).toContain(`"aws:SourceArn" = ["${RULES[1]}"]`);
    expect(one).not.toContain(RULES[0]);
    // A target waits for the policy before it delivers.
    expect(s.output!.policy.value).toBe('${aws_sqs_queue_policy.events.id}');
  });

  it('lets only the event queue name the dead-letter queue as its own', () => {
    expect(Object.keys(resourcesOf(s, 'aws_sqs_queue_redrive_allow_policy'))).toEqual(['dead_letters']);
    expect(at(s, 'aws_sqs_queue_redrive_allow_policy', 'dead_letters')).toEqual({
      queue_url: '${aws_sqs_queue.dead_letters.url}',
      redrive_allow_policy: '${jsonencode({"redrivePermission" = "byQueue", "sourceQueueArns" = [aws_sqs_queue.events.arn]})}',
    });
  });
});
