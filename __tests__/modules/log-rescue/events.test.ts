/**
 * RescueEvents on a bare stack: the whole event path (rules, event queue, dead-letter queue, the
 * queues' policies and the rules' targets) comes from one construct, wired to itself, from flat
 * props and no flow config.
 * @lane unit
 */
import { TerraformStack, Testing } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { RescueEvents, RescueEventsProps } from '../../../modules/log-rescue/events';

const PROPS: RescueEventsProps = {
  namePrefix: 'acme-prod',
  groupNames: ['web-fleet'],
  hookName: 'log-rescue',
  document: { name: 'acme-prod-rescue-logs' },
  spotInterruption: true,
  maximumRetryAttempts: 8,
  maximumEventAgeSeconds: 3600,
  onlineWaitSeconds: 20,
  heartbeatTimeoutSeconds: 900,
};

function synth(over: Partial<RescueEventsProps> = {}): Record<string, Record<string, any>> {
  const stack = new TerraformStack(Testing.app(), 'events-test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  new RescueEvents(stack, 'events', { ...PROPS, ...over });
  return JSON.parse(Testing.synth(stack)).resource;
}

describe('RescueEvents', () => {
  const r = synth();
  const RULES = ['command_invocation', 'command_status', 'lifecycle', 'spot_warning'];

  it('points every rule at the event queue, with retries and the dead-letter queue, after the policy that lets it send', () => {
    expect(Object.keys(r.aws_cloudwatch_event_rule).sort()).toEqual(RULES);
    expect(Object.keys(r.aws_cloudwatch_event_target).sort()).toEqual(RULES);
    for (const [name, target] of Object.entries(r.aws_cloudwatch_event_target)) {
      expect(target).toMatchObject({
        rule: `\${aws_cloudwatch_event_rule.${name}.name}`,
        arn: '${aws_sqs_queue.events.arn}',
        retry_policy: { maximum_retry_attempts: 8, maximum_event_age_in_seconds: 3600 },
        dead_letter_config: { arn: '${aws_sqs_queue.dead_letters.arn}' },
        depends_on: ['aws_sqs_queue_policy.events'],
      });
    }
  });

  it('lets only its own rules send to either queue', () => {
    for (const queue of ['events', 'dead_letters']) {
      const policy = String(r.aws_sqs_queue_policy[queue].policy);
      for (const rule of RULES) expect(policy).toContain(`aws_cloudwatch_event_rule.${rule}.arn`);
      expect(policy).toContain(`"Resource" = aws_sqs_queue.${queue}.arn`);
    }
  });

  it('dead-letters what the handler keeps failing, and no other queue may use its dead-letter queue', () => {
    expect(r.aws_sqs_queue.events).toMatchObject({ name: 'acme-prod-log-rescue-events', sqs_managed_sse_enabled: true });
    expect(String(r.aws_sqs_queue.events.redrive_policy)).toContain('"deadLetterTargetArn" = aws_sqs_queue.dead_letters.arn');
    expect(String(r.aws_sqs_queue_redrive_allow_policy.dead_letters.redrive_allow_policy)).toContain('"sourceQueueArns" = [aws_sqs_queue.events.arn]');
  });

  it('matches the document and groups it is given', () => {
    expect(String(r.aws_cloudwatch_event_rule.command_status.event_pattern)).toContain('"document-name" = ["acme-prod-rescue-logs"]');
    expect(String(r.aws_cloudwatch_event_rule.lifecycle.event_pattern)).toContain('"AutoScalingGroupName" = ["web-fleet"]');
  });

  it('has no Spot rule, and so no Spot target, when spotInterruption is off', () => {
    const off = synth({ spotInterruption: false });
    expect(Object.keys(off.aws_cloudwatch_event_target).sort()).toEqual(RULES.filter((x) => x !== 'spot_warning'));
    expect(Object.keys(off.aws_cloudwatch_event_rule).sort()).toEqual(RULES.filter((x) => x !== 'spot_warning'));
  });
});
