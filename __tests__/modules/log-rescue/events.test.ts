/**
 * RescueEvents on a bare stack: the whole event path (rules, event queue, dead-letter queue, the
 * queues' policies and the rules' targets) comes from one construct, wired to itself, from flat
 * props and no flow config; each rule's name and exact pattern, and the dead-letter queue's own
 * settings and policy. (The event queue's own settings: queue.test.ts.)
 * @lane unit
 */
import { TerraformStack, Testing } from 'cdktf';
import { synthBare } from '../../support/bare-stack';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { RescueEvents, RescueEventsProps, TERMINAL_COMMAND_STATUSES } from '../../../modules/log-rescue/events';

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
  return synthBare(stack).resource!;
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

  it('names each rule <namePrefix>-log-rescue-<rule>', () => {
    for (const name of RULES) expect(r.aws_cloudwatch_event_rule[name].name).toBe(`acme-prod-log-rescue-${name.replace(/_/g, '-')}`);
    expect(synth({ namePrefix: 'other-test' }).aws_cloudwatch_event_rule.lifecycle.name).toBe('other-test-log-rescue-lifecycle');
  });

  it('matches lifecycle actions of the groups and hook it is given only', () => {
    expect(r.aws_cloudwatch_event_rule.lifecycle.event_pattern).toBe('${jsonencode({"source" = ["aws.autoscaling"], "detail-type" = ["EC2 Instance-terminate Lifecycle Action"], ' +
      '"detail" = {"AutoScalingGroupName" = ["web-fleet"], "LifecycleHookName" = ["log-rescue"]}})}');
    const other = synth({ groupNames: ['web-fleet', 'worker-fleet'], hookName: 'rescue-hook' }).aws_cloudwatch_event_rule.lifecycle.event_pattern;
    expect(other).toContain('"detail" = {"AutoScalingGroupName" = ["web-fleet", "worker-fleet"], "LifecycleHookName" = ["rescue-hook"]}');
  });

  it('matches final statuses of its document only, per instance and per command', () => {
    const statuses = `"status" = [${TERMINAL_COMMAND_STATUSES.map((s) => `"${s}"`).join(', ')}]`;
    expect(r.aws_cloudwatch_event_rule.command_invocation.event_pattern).toBe('${jsonencode({"source" = ["aws.ssm"], "detail-type" = ["EC2 Command Invocation Status-change Notification"], ' +
      `"detail" = {"document-name" = ["acme-prod-rescue-logs"], ${statuses}}})}`);
    expect(r.aws_cloudwatch_event_rule.command_status.event_pattern).toBe('${jsonencode({"source" = ["aws.ssm"], "detail-type" = ["EC2 Command Status-change Notification"], ' +
      `"detail" = {"document-name" = ["acme-prod-rescue-logs"], ${statuses}}})}`);
    expect(TERMINAL_COMMAND_STATUSES).toEqual(expect.arrayContaining(['Success', 'Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'DeliveryTimedOut', 'AccessDenied']));
  });

  it('matches every Spot interruption warning (the handler checks group membership)', () => {
    expect(r.aws_cloudwatch_event_rule.spot_warning.event_pattern).toBe('${jsonencode({"source" = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"]})}');
  });

  it('lets the queue policy, not a target role, admit the rules, under the target id the function target had', () => {
    for (const target of Object.values(r.aws_cloudwatch_event_target)) {
      // A target role would be a second, broader way in.
      expect(target.role_arn).toBeUndefined();
      expect(target.target_id).toBe('log-rescue-handler');
    }
    expect(r.aws_iam_role).toBeUndefined();
  });

  it('keeps dead letters 14 days, encrypted, and lets only its own rules dead-letter to them, over TLS only', () => {
    expect(r.aws_sqs_queue.dead_letters).toEqual({ name: 'acme-prod-log-rescue-dlq', sqs_managed_sse_enabled: true, message_retention_seconds: 1209600 });
    // The rules in the order the module makes them.
    const rules = ['lifecycle', 'command_invocation', 'command_status', 'spot_warning'].map((x) => `aws_cloudwatch_event_rule.${x}.arn`);
    const policy = r.aws_sqs_queue_policy.dead_letters;
    expect(policy.queue_url).toBe('${aws_sqs_queue.dead_letters.url}');
    expect(policy.policy).toBe('${jsonencode({"Version" = "2012-10-17", "Statement" = [' +
      '{"Sid" = "OnlyOurRulesDeadLetter", "Effect" = "Allow", "Principal" = {"Service" = "events.amazonaws.com"}, "Action" = "sqs:SendMessage", "Resource" = aws_sqs_queue.dead_letters.arn, ' +
      `"Condition" = {"ArnEquals" = {"aws:SourceArn" = [${rules.join(', ')}]}}}, ` +
      '{"Sid" = "DenyInsecureTransport", "Effect" = "Deny", "Principal" = "*", "Action" = "sqs:*", "Resource" = aws_sqs_queue.dead_letters.arn, "Condition" = {"Bool" = {"aws:SecureTransport" = "false"}}}]})}');
  });
});
