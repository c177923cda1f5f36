import { onlyResource, resourceAt, resourcesOf, StackJson, synthStacks, testConfig } from '../support/synth';
import { TERMINAL_COMMAND_STATUSES } from '../../modules/rescue-events';
import { renderDocumentForTest } from '../support/bash-standins';

const synth = (logRescue: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  synthStacks(testConfig({ logRescue, ...extra }))['log-rescue'];

/** Parse a `${jsonencode({...})}` policy or pattern into its HCL-ish text for assertions. */
const text = (v: unknown) => String(v);

function ref(stack: StackJson, type: string, suffix: string): string {
  const entry = Object.entries(resourcesOf(stack, type)).find(([, r]: [string, any]) => String(r['//']?.metadata?.path).endsWith(suffix));
  if (!entry) throw new Error(`no ${type} at ${suffix}`);
  return `${type}.${entry[0]}`;
}

describe('log-rescue stack', () => {
  const stack = synth({ autoScalingGroups: ['web-fleet', 'worker-fleet'] });

  it('puts a termination lifecycle hook with the configured heartbeat on every group', () => {
    const hooks = Object.values(resourcesOf(stack, 'aws_autoscaling_lifecycle_hook'));
    expect(hooks.map((h: any) => h.autoscaling_group_name).sort()).toEqual(['web-fleet', 'worker-fleet']);
    for (const h of hooks) {
      expect(h).toMatchObject({
        name: 'log-rescue', lifecycle_transition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeat_timeout: 900, default_result: 'CONTINUE',
      });
    }
  });

  it('matches lifecycle actions of the configured groups and hook only', () => {
    const rule = resourceAt(stack, 'aws_cloudwatch_event_rule', 'events/lifecycle');
    expect(rule.name).toBe('logrescue-dev-log-rescue-lifecycle');
    expect(text(rule.event_pattern)).toBe('${jsonencode({"source" = ["aws.autoscaling"], "detail-type" = ["EC2 Instance-terminate Lifecycle Action"], ' +
      '"detail" = {"AutoScalingGroupName" = ["web-fleet", "worker-fleet"], "LifecycleHookName" = ["log-rescue"]}})}');
  });

  it('matches final statuses of our document only', () => {
    const rule = resourceAt(stack, 'aws_cloudwatch_event_rule', 'events/command-status');
    const doc = ref(stack, 'aws_ssm_document', 'document');
    expect(text(rule.event_pattern)).toBe(`\${jsonencode({"source" = ["aws.ssm"], "detail-type" = ["EC2 Command Status-change Notification"], ` +
      `"detail" = {"document-name" = [${doc}.name], "status" = [${TERMINAL_COMMAND_STATUSES.map((s) => `"${s}"`).join(', ')}]}})}`);
    expect(TERMINAL_COMMAND_STATUSES).toEqual(expect.arrayContaining(['Success', 'Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'DeliveryTimedOut', 'AccessDenied']));
  });

  it('has a Spot warning rule by default and none when switched off', () => {
    expect(resourceAt(stack, 'aws_cloudwatch_event_rule', 'events/spot-warning').event_pattern)
      .toBe('${jsonencode({"source" = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"]})}');
    const off = synth({ spotInterruption: false });
    expect(Object.keys(resourcesOf(off, 'aws_cloudwatch_event_rule'))).toHaveLength(2);
  });

  it('targets the function with a retry policy and the dead-letter queue, and lets only those rules invoke it', () => {
    const targets = Object.values(resourcesOf(stack, 'aws_cloudwatch_event_target'));
    expect(targets).toHaveLength(3);
    const fn = ref(stack, 'aws_lambda_function', 'handler/function');
    const dlq = ref(stack, 'aws_sqs_queue', 'events/dlq');
    for (const t of targets as any[]) {
      expect(t).toMatchObject({
        arn: `\${${fn}.arn}`,
        retry_policy: { maximum_retry_attempts: 8, maximum_event_age_in_seconds: 3600 },
        dead_letter_config: { arn: `\${${dlq}.arn}` },
      });
    }
    const perms = Object.values(resourcesOf(stack, 'aws_lambda_permission')) as any[];
    expect(perms.map((p) => p.source_arn).sort()).toEqual(
      ['command-status', 'lifecycle', 'spot-warning'].map((r) => `\${${ref(stack, 'aws_cloudwatch_event_rule', `events/${r}`)}.arn}`).sort());
    for (const p of perms) {
      expect(p.principal).toBe('events.amazonaws.com');
      expect(p.source_account).toMatch(/^\$\{data\.aws_caller_identity\.context_caller_[A-F0-9]+\.account_id\}$/);
    }
  });

  it('encrypts the dead-letter queue and lets only our rules write to it', () => {
    expect(onlyResource(stack, 'aws_sqs_queue')).toMatchObject({ sqs_managed_sse_enabled: true, message_retention_seconds: 1209600 });
    const policy = text(onlyResource(stack, 'aws_sqs_queue_policy').policy);
    expect(policy).toContain('"Principal" = {"Service" = "events.amazonaws.com"}');
    expect(policy).toContain(`"ArnEquals" = {"aws:SourceArn" = [${['lifecycle', 'command-status', 'spot-warning'].map((r) => `${ref(stack, 'aws_cloudwatch_event_rule', `events/${r}`)}.arn`).join(', ')}]}`);
  });

  it('runs the bundled handler on Node.js 22 arm64 with its settings, retries, failure destination and concurrency cap', () => {
    const fn = onlyResource(stack, 'aws_lambda_function');
    expect(fn).toMatchObject({
      function_name: 'logrescue-dev-log-rescue', runtime: 'nodejs22.x', architectures: ['arm64'], handler: 'index.handler',
      memory_size: 256, timeout: 120, reserved_concurrent_executions: 30,
    });
    expect(fn.filename).toMatch(/^assets\/handler_code_[A-F0-9]+\/[A-F0-9]+\/handler\.zip$/);
    expect(fn.source_code_hash).toBe(`\${filebase64sha256("${fn.filename}")}`);
    expect(fn.environment.variables).toEqual({
      DOCUMENT_NAME: `\${${ref(stack, 'aws_ssm_document', 'document')}.name}`,
      ASG_NAMES: '${join(",", ["web-fleet", "worker-fleet"])}',
      HOOK_NAME: 'log-rescue',
      ONLINE_WAIT_SECONDS: '20',
      EXECUTION_TIMEOUT_SECONDS: '600',
      HEARTBEAT_TIMEOUT_SECONDS: '900',
      METRIC_NAMESPACE: 'LogRescue',
      STACK_ID: 'logrescue-dev',
    });
    const async = onlyResource(stack, 'aws_lambda_function_event_invoke_config');
    expect(async).toMatchObject({ maximum_retry_attempts: 2, destination_config: { on_failure: { destination: `\${${ref(stack, 'aws_sqs_queue', 'events/dlq')}.arn}` } } });
    expect(onlyResource(stack, 'aws_cloudwatch_log_group')).toMatchObject({ name: '/aws/lambda/logrescue-dev-log-rescue', retention_in_days: 30 });
  });

  it('gives the function least privilege: our document, tagged instances, our groups, own logs', () => {
    const role = resourceAt(stack, 'aws_iam_role', 'handler/role');
    expect(text(role.assume_role_policy)).toContain('"Principal" = {"Service" = "lambda.amazonaws.com"}, "Action" = "sts:AssumeRole", "Condition" = {"StringEquals" = {"aws:SourceAccount" = data.aws_caller_identity.');
    const p = text(resourceAt(stack, 'aws_iam_role_policy', 'handler/policy').policy);
    expect(p).toContain(`"Sid" = "SendOnlyTheRescueDocument", "Effect" = "Allow", "Action" = "ssm:SendCommand", "Resource" = "arn:\${data.aws_partition.context_partition_`);
    expect(p).toContain(`:document/\${${ref(stack, 'aws_ssm_document', 'document')}.name}"`);
    expect(p).toContain('"Condition" = {"StringEquals" = {"ssm:resourceTag/aws:autoscaling:groupName" = ["web-fleet", "worker-fleet"]}}');
    expect(p).toMatch(/"Action" = \["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"\], "Resource" = formatlist\("arn:%s:autoscaling:%s:%s:autoScalingGroup:\*:autoScalingGroupName\/%s", data\.aws_partition\.context_partition_[A-F0-9]+\.partition, "us-east-1", data\.aws_caller_identity\.context_caller_[A-F0-9]+\.account_id, \["web-fleet", "worker-fleet"\]\)/);
    expect(p).toContain('"Action" = ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource" = "${aws_cloudwatch_log_group.');
    expect(p).not.toMatch(/"Action" = "\*"|"ssm:\*"|"autoscaling:\*"/);
    // The only "*" resource is for the two read actions that support nothing else.
    expect(p.match(/"Resource" = "\*"/g)).toHaveLength(1);
    expect(p).toContain('"Action" = ["ssm:DescribeInstanceInformation", "autoscaling:DescribeAutoScalingInstances"], "Resource" = "*"');
  });

  it('exports an instance policy that may only put objects under the rescue prefix', () => {
    const p = text(onlyResource(stack, 'aws_iam_policy').policy);
    expect(p).toBe('${jsonencode({"Version" = "2012-10-17", "Statement" = [{"Sid" = "UploadRescuedLogsOnly", "Effect" = "Allow", "Action" = "s3:PutObject", ' +
      `"Resource" = "\${${ref(stack, 'aws_s3_bucket', 'archive/bucket')}.arn}/instance-logs/*"}]})}`);
    const kms = synth({ archiveBucket: { encryption: 'SSE-KMS' } });
    expect(text(onlyResource(kms, 'aws_iam_policy').policy)).toContain('"Action" = ["kms:GenerateDataKey", "kms:Encrypt"]');
  });

  it('raises alarms on not rescued, dead letters and handler errors, notifying the configured topic', () => {
    const topicArn = 'arn:aws:sns:us-east-1:111122223333:oncall';
    const s = synth({ alarms: { snsTopicArn: topicArn } });
    const alarms = Object.values(resourcesOf(s, 'aws_cloudwatch_metric_alarm')) as any[];
    expect(alarms.map((a) => `${a.namespace}/${a.metric_name}`).sort()).toEqual(['AWS/Lambda/Errors', 'AWS/SQS/ApproximateNumberOfMessagesVisible', 'LogRescue/NotRescued']);
    for (const a of alarms) expect(a).toMatchObject({ comparison_operator: 'GreaterThanThreshold', threshold: 0, alarm_actions: [topicArn] });
    expect(alarms.find((a) => a.metric_name === 'NotRescued').dimensions).toEqual({ Stack: 'logrescue-dev' });
    const created = synth({ alarms: { createTopic: true, email: 'oncall@example.com' } });
    expect(onlyResource(created, 'aws_sns_topic_subscription')).toMatchObject({ protocol: 'email', endpoint: 'oncall@example.com' });
    expect(text(onlyResource(created, 'aws_sns_topic_policy').policy)).toContain('"aws:SourceAccount"');
  });

  it('caps the Lambda async event age at the 6 hours Lambda allows, while EventBridge keeps the configured age', () => {
    const s = synth({ retry: { maximumEventAgeSeconds: 86400 } });
    expect(onlyResource(s, 'aws_lambda_function_event_invoke_config').maximum_event_age_in_seconds).toBe(21600);
    for (const t of Object.values(resourcesOf(s, 'aws_cloudwatch_event_target')) as any[]) expect(t.retry_policy.maximum_event_age_in_seconds).toBe(86400);
  });

  it('lets the document collect only the configured globs', () => {
    const s = synth({ command: { logGlobs: ['/var/log/app one/*.log', '/var/log/messages'] } });
    const doc = renderDocumentForTest(onlyResource(s, 'aws_ssm_document').content, { [`${ref(s, 'aws_s3_bucket', 'archive/bucket')}.bucket`]: 'acme-logs' });
    const pattern = new RegExp(doc.parameters.logGlobs.allowedPattern!);
    expect(doc.parameters.logGlobs.default).toBe('/var/log/app one/*.log|/var/log/messages');
    expect(pattern.test('/var/log/app one/*.log|/var/log/messages')).toBe(true);
    for (const other of ['/etc/shadow', '/var/log/app one/*.log|/etc/shadow', '/var/log/app one/x.log|/var/log/messages', '/var/log/messages']) {
      expect(pattern.test(other)).toBe(false);
    }
  });

  it('outputs what a user needs', () => {
    expect(Object.keys(stack.output!).sort()).toEqual(['bucket_name', 'dead_letter_queue_url', 'document_name', 'function_name', 'instance_policy_arn']);
  });

  it('reads group names from another team\'s state, without duplicating a listed group', () => {
    const s = synth(
      { autoScalingGroups: ['web-fleet', { fromRemoteState: { state: 'fleet', output: 'asg_names' } }] },
      { remoteStates: { fleet: { type: 's3', bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' } } },
    );
    expect(Object.values(s.data!.terraform_remote_state)[0]).toMatchObject({ backend: 's3', config: { bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' } });
    const remoteHook = resourceAt(s, 'aws_autoscaling_lifecycle_hook', 'hooks/hook-from-remote-state');
    // Names from the other state minus listed ones, each checked against the name pattern.
    expect(remoteHook.for_each).toMatch(/^\$\{toset\(toset\(\[ for key, val in toset\(setsubtract\(toset\(concat\(flatten\(\[data\.terraform_remote_state\.remote-state_fleet_[A-F0-9]+\.outputs\.asg_names\]\)\)\), \["web-fleet"\]\)\): regex\("\^\[A-Za-z0-9\._ -\]\{1,255\}\$", val\)\]\)\)\}$/);
    expect(remoteHook.autoscaling_group_name).toBe('${each.value}');
    expect(onlyResource(s, 'aws_lambda_function').environment.variables.ASG_NAMES).toMatch(/^\$\{join\(",", concat\(\["web-fleet"\], tolist\(setsubtract/);
  });
});
