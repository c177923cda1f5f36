/**
 * @lane synth
 */
import { onlyResource, resourceAt, resourcesOf, StackJson, synthStacks, testConfig } from '../support/synth';
import { TERMINAL_COMMAND_STATUSES } from '../../modules/log-rescue/events';
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

  it('writes the configured size cap into the rescue document', () => {
    const content = (s: any) => String(onlyResource(s, 'aws_ssm_document').content);
    expect(content(stack)).toContain('LOG_RESCUE_MAX_TOTAL_MB=2048 ');
    expect(content(synth({ command: { maxTotalMb: 300 } }))).toContain('LOG_RESCUE_MAX_TOTAL_MB=300 ');
  });

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

  it('matches final statuses of our document only, per instance and per command', () => {
    const doc = ref(stack, 'aws_ssm_document', 'document');
    const statuses = `"status" = [${TERMINAL_COMMAND_STATUSES.map((s) => `"${s}"`).join(', ')}]`;
    const invocation = resourceAt(stack, 'aws_cloudwatch_event_rule', 'events/command-invocation');
    expect(invocation.name).toBe('logrescue-dev-log-rescue-command-invocation');
    expect(text(invocation.event_pattern)).toBe(`\${jsonencode({"source" = ["aws.ssm"], "detail-type" = ["EC2 Command Invocation Status-change Notification"], ` +
      `"detail" = {"document-name" = [${doc}.name], ${statuses}}})}`);
    const command = resourceAt(stack, 'aws_cloudwatch_event_rule', 'events/command-status');
    expect(text(command.event_pattern)).toBe(`\${jsonencode({"source" = ["aws.ssm"], "detail-type" = ["EC2 Command Status-change Notification"], ` +
      `"detail" = {"document-name" = [${doc}.name], ${statuses}}})}`);
    expect(TERMINAL_COMMAND_STATUSES).toEqual(expect.arrayContaining(['Success', 'Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'DeliveryTimedOut', 'AccessDenied']));
  });

  it('has a Spot warning rule by default and none when switched off', () => {
    expect(resourceAt(stack, 'aws_cloudwatch_event_rule', 'events/spot-warning').event_pattern)
      .toBe('${jsonencode({"source" = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"]})}');
    const off = synth({ spotInterruption: false });
    expect(Object.keys(resourcesOf(off, 'aws_cloudwatch_event_rule'))).toHaveLength(3);
    expect(Object.keys(resourcesOf(off, 'aws_cloudwatch_event_target'))).toHaveLength(3);
  });

  const RULES = ['lifecycle', 'command-invocation', 'command-status', 'spot-warning'];
  const ruleArns = (s: StackJson) => RULES.map((r) => `${ref(s, 'aws_cloudwatch_event_rule', `events/${r}`)}.arn`);

  it('targets the event queue from every rule, with a retry policy and the dead-letter queue, and no Lambda permission', () => {
    const targets = Object.values(resourcesOf(stack, 'aws_cloudwatch_event_target')) as any[];
    expect(targets).toHaveLength(4);
    const queue = ref(stack, 'aws_sqs_queue', 'event-queue/queue');
    const dlq = ref(stack, 'aws_sqs_queue', 'events/dlq');
    expect(targets.map((t) => t.rule).sort()).toEqual(ruleArns(stack).map((a) => `\${${a.replace(/\.arn$/, '.name')}}`).sort());
    for (const t of targets) {
      expect(t).toEqual(expect.objectContaining({
        arn: `\${${queue}.arn}`,
        retry_policy: { maximum_retry_attempts: 8, maximum_event_age_in_seconds: 3600 },
        dead_letter_config: { arn: `\${${dlq}.arn}` },
      }));
      // The queue policy grants the send; a target role would be a second, broader way in.
      expect(t.role_arn).toBeUndefined();
      expect(t.depends_on).toEqual([ref(stack, 'aws_sqs_queue_policy', 'event-queue/policy')]);
    }
    expect(resourcesOf(stack, 'aws_lambda_permission')).toEqual({});
    expect(resourcesOf(stack, 'aws_lambda_function_event_invoke_config')).toEqual({});
  });

  it('encrypts the event queue, retries a failed event for as long as a heartbeat timeout, then dead-letters it', () => {
    const dlq = ref(stack, 'aws_sqs_queue', 'events/dlq');
    const queue = resourceAt(stack, 'aws_sqs_queue', 'event-queue/queue');
    expect(queue).toMatchObject({
      name: 'logrescue-dev-log-rescue-events', sqs_managed_sse_enabled: true, message_retention_seconds: 345600,
      // The function timeout (120 s) plus 10.
      visibility_timeout_seconds: 130,
    });
    // Seven visibility timeouts (910 s) after the first receive, the heartbeat (900 s) is over.
    expect(text(queue.redrive_policy)).toBe(`\${jsonencode({"deadLetterTargetArn" = ${dlq}.arn, "maxReceiveCount" = 8})}`);
    const receives = (over: Record<string, unknown>) => text(resourceAt(synth(over), 'aws_sqs_queue', 'event-queue/queue').redrive_policy).match(/"maxReceiveCount" = (\d+)/)?.[1];
    expect(receives({ lifecycleHook: { heartbeatTimeoutSeconds: 7200 } })).toBe('57');
    // The shortest heartbeat the config allows (the command's shortest timeout, 30 s, + 240) gives
    // 4 (270 / 130, + 1), or 3 with the longest online wait: the floor keeps 5, so an event failing
    // from its third receive raises its alarm two receives before the dead-letter queue.
    expect(receives({ lifecycleHook: { heartbeatTimeoutSeconds: 270 }, command: { executionTimeoutSeconds: 30 } })).toBe('5');
    expect(receives({ lifecycleHook: { heartbeatTimeoutSeconds: 270 }, command: { executionTimeoutSeconds: 30 }, handler: { onlineWaitSeconds: 60 } })).toBe('5');
    expect(receives({ lifecycleHook: { heartbeatTimeoutSeconds: 1000 } })).toBe('9');
    // Both follow the online wait: a message is never received again while a run may still hold it.
    const slow = synth({ handler: { onlineWaitSeconds: 45 } });
    expect(onlyResource(slow, 'aws_lambda_function').timeout).toBe(145);
    expect(resourceAt(slow, 'aws_sqs_queue', 'event-queue/queue').visibility_timeout_seconds).toBe(155);
    // Only the event queue may name the dead-letter queue as its own.
    const allow = onlyResource(stack, 'aws_sqs_queue_redrive_allow_policy');
    expect(allow.queue_url).toBe(`\${${dlq}.url}`);
    expect(text(allow.redrive_allow_policy)).toBe(`\${jsonencode({"redrivePermission" = "byQueue", "sourceQueueArns" = [${ref(stack, 'aws_sqs_queue', 'event-queue/queue')}.arn]})}`);
  });

  it('lets only our rules write to the event queue and the dead-letter queue, over TLS only', () => {
    for (const [queuePath, policyPath, sid] of [['event-queue/queue', 'event-queue/policy', 'OnlyOurRulesSend'], ['events/dlq', 'events/dlq-policy', 'OnlyOurRulesDeadLetter']]) {
      const q = ref(stack, 'aws_sqs_queue', queuePath);
      const policy = resourceAt(stack, 'aws_sqs_queue_policy', policyPath);
      expect(policy.queue_url).toBe(`\${${q}.url}`);
      expect(text(policy.policy)).toBe(`\${jsonencode({"Version" = "2012-10-17", "Statement" = [` +
        `{"Sid" = "${sid}", "Effect" = "Allow", "Principal" = {"Service" = "events.amazonaws.com"}, "Action" = "sqs:SendMessage", "Resource" = ${q}.arn, ` +
        `"Condition" = {"ArnEquals" = {"aws:SourceArn" = [${ruleArns(stack).join(', ')}]}}}, ` +
        `{"Sid" = "DenyInsecureTransport", "Effect" = "Deny", "Principal" = "*", "Action" = "sqs:*", "Resource" = ${q}.arn, "Condition" = {"Bool" = {"aws:SecureTransport" = "false"}}}]})}`);
    }
    expect(resourceAt(stack, 'aws_sqs_queue', 'events/dlq')).toMatchObject({ sqs_managed_sse_enabled: true, message_retention_seconds: 1209600 });
  });

  it('feeds the handler from the event queue in batches, reporting failures per message, at most its maximum concurrency at once', () => {
    const mapping = onlyResource(stack, 'aws_lambda_event_source_mapping');
    expect(mapping).toEqual(expect.objectContaining({
      event_source_arn: `\${${ref(stack, 'aws_sqs_queue', 'event-queue/queue')}.arn}`,
      function_name: `\${${ref(stack, 'aws_lambda_function', 'handler/function')}.arn}`,
      batch_size: 50,
      maximum_batching_window_in_seconds: 1,
      function_response_types: ['ReportBatchItemFailures'],
      scaling_config: { maximum_concurrency: 30 },
    }));
    // Lambda refuses to create the mapping until the role may read the queue.
    expect(mapping.depends_on).toEqual([ref(stack, 'aws_iam_role_policy', 'handler/policy')]);
  });

  it('takes batch size, batching window and concurrency from config', () => {
    const s = synth({ handler: { batchSize: 10, batchWindowSeconds: 0, maximumConcurrency: 5 } });
    expect(onlyResource(s, 'aws_lambda_event_source_mapping')).toMatchObject({
      batch_size: 10, maximum_batching_window_in_seconds: 0, scaling_config: { maximum_concurrency: 5 },
    });
    expect(onlyResource(s, 'aws_lambda_function')).not.toHaveProperty('reserved_concurrent_executions');
    // A reservation only when asked for, and the mapping's cap stays its own setting.
    const reserved = synth({ handler: { reservedConcurrency: 40, maximumConcurrency: 25 } });
    expect(onlyResource(reserved, 'aws_lambda_function').reserved_concurrent_executions).toBe(40);
    expect(onlyResource(reserved, 'aws_lambda_event_source_mapping').scaling_config).toEqual({ maximum_concurrency: 25 });
    const wide = synth({ handler: { batchSize: 25, batchWindowSeconds: 7 } });
    expect(onlyResource(wide, 'aws_lambda_event_source_mapping')).toMatchObject({ batch_size: 25, maximum_batching_window_in_seconds: 7 });
  });

  it('runs the bundled handler on Node.js 22 arm64 with its settings and no concurrency reservation', () => {
    const fn = onlyResource(stack, 'aws_lambda_function');
    expect(fn).toMatchObject({
      function_name: 'logrescue-dev-log-rescue', runtime: 'nodejs22.x', architectures: ['arm64'], handler: 'index.handler',
      memory_size: 256, timeout: 120,
    });
    // Lambda refuses a reservation that leaves fewer than 100 unreserved concurrent executions in
    // the account (PutFunctionConcurrency: "as long as you leave at least 100 simultaneous
    // executions unreserved", https://docs.aws.amazon.com/goto/WebAPI/lambda/PutFunctionConcurrency),
    // so by default the argument is left out: the provider's "no reservation".
    expect(fn).not.toHaveProperty('reserved_concurrent_executions');
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
      // Where an event whose agent is not Online yet goes back to, to be looked at again: the
      // queue's URL from values a plan knows (its own `url` attribute is known only after apply).
      QUEUE_URL: expect.stringMatching(new RegExp(
        '^https://sqs\\.us-east-1\\.\\$\\{data\\.aws_partition\\.current\\.dns_suffix\\}/'
        + '\\$\\{data\\.aws_caller_identity\\.current\\.account_id\\}/'
        + `\\$\\{${ref(stack, 'aws_sqs_queue', 'event-queue/queue').replace(/[.$]/g, '\\$&')}\\.name\\}$`,
      )),
      STACK_ID: 'logrescue-dev',
    });
    expect(onlyResource(stack, 'aws_cloudwatch_log_group')).toMatchObject({ name: '/aws/lambda/logrescue-dev-log-rescue', retention_in_days: 30 });
  });

  it('gives the function least privilege: our document, tagged instances, our groups, own logs, the event queue', () => {
    const role = resourceAt(stack, 'aws_iam_role', 'handler/role');
    expect(text(role.assume_role_policy)).toContain('"Principal" = {"Service" = "lambda.amazonaws.com"}, "Action" = "sts:AssumeRole", "Condition" = {"StringEquals" = {"aws:SourceAccount" = data.aws_caller_identity.');
    const p = text(resourceAt(stack, 'aws_iam_role_policy', 'handler/policy').policy);
    expect(p).toContain(`"Sid" = "SendOnlyTheRescueDocument", "Effect" = "Allow", "Action" = "ssm:SendCommand", "Resource" = "arn:\${data.aws_partition.current.`);
    expect(p).toContain(`:document/\${${ref(stack, 'aws_ssm_document', 'document')}.name}"`);
    expect(p).toContain('"Condition" = {"StringEquals" = {"ssm:resourceTag/aws:autoscaling:groupName" = ["web-fleet", "worker-fleet"]}}');
    expect(p).toMatch(/"Action" = \["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"\], "Resource" = formatlist\("arn:%s:autoscaling:%s:%s:autoScalingGroup:\*:autoScalingGroupName\/%s", data\.aws_partition\.current\.partition, "us-east-1", data\.aws_caller_identity\.current\.account_id, \["web-fleet", "worker-fleet"\]\)/);
    expect(p).toContain('"Action" = ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource" = "${aws_cloudwatch_log_group.');
    expect(p).not.toMatch(/"Action" = "\*"|"ssm:\*"|"autoscaling:\*"/);
    // The only "*" resource is for the read actions that support nothing else.
    expect(p.match(/"Resource" = "\*"/g)).toHaveLength(1);
    expect(p).toContain('{"Sid" = "ReadOnlyActionsWithoutResourceLevelPermissions", "Effect" = "Allow", ' +
      '"Action" = ["ssm:DescribeInstanceInformation", "autoscaling:DescribeAutoScalingInstances", "ssm:ListCommands", "ssm:ListCommandInvocations"], "Resource" = "*"}');
    // It consumes the event queue, and sends only to it (an event back to look at its agent again).
    const queue = ref(stack, 'aws_sqs_queue', 'event-queue/queue');
    expect(p).toContain(`{"Sid" = "ConsumeOnlyTheEventQueue", "Effect" = "Allow", ` +
      `"Action" = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "Resource" = ${queue}.arn}`);
    expect(p).toContain(`{"Sid" = "RequeueOnlyToTheEventQueue", "Effect" = "Allow", "Action" = "sqs:SendMessage", "Resource" = ${queue}.arn}`);
    expect(p.match(/"sqs:[A-Za-z]+"/g)!.sort()).toEqual([
      '"sqs:DeleteMessage"', '"sqs:GetQueueAttributes"', '"sqs:ReceiveMessage"', '"sqs:SendMessage"',
    ]);
  });

  it('exports an instance policy that may only put objects under the rescue prefix', () => {
    const p = text(onlyResource(stack, 'aws_iam_policy').policy);
    expect(p).toBe('${jsonencode({"Version" = "2012-10-17", "Statement" = [{"Sid" = "UploadRescuedLogsOnly", "Effect" = "Allow", "Action" = ["s3:PutObject", "s3:AbortMultipartUpload"], ' +
      `"Resource" = "\${${ref(stack, 'aws_s3_bucket', 'archive/bucket')}.arn}/instance-logs/*"}]})}`);
    const kms = synth({ archiveBucket: { encryption: 'SSE-KMS' } });
    // Only a data key through S3 for this archive; what AWS decides with it is in __tests__/iam/.
    expect(text(onlyResource(kms, 'aws_iam_policy').policy)).toContain('"Action" = ["kms:GenerateDataKey", "kms:Decrypt"]');
  });

  it('raises alarms on not rescued, dead letters, handler errors and a queue the handler falls behind on, notifying the configured topic', () => {
    const topicArn = 'arn:aws:sns:us-east-1:111122223333:oncall';
    const s = synth({ alarms: { snsTopicArn: topicArn } });
    const alarms = Object.values(resourcesOf(s, 'aws_cloudwatch_metric_alarm')) as any[];
    expect(alarms.map((a) => `${a.namespace}/${a.metric_name}`).sort()).toEqual([
      'AWS/Lambda/Errors', 'AWS/SQS/ApproximateAgeOfOldestMessage', 'AWS/SQS/ApproximateNumberOfMessagesVisible', 'LogRescue/EventsFailing', 'LogRescue/NotRescued',
    ]);
    for (const a of alarms) expect(a).toMatchObject({ comparison_operator: 'GreaterThanThreshold', alarm_actions: [topicArn], ok_actions: [topicArn] });
    expect(alarms.find((a) => a.metric_name === 'NotRescued').dimensions).toEqual({ Stack: 'logrescue-dev' });
    expect(alarms.find((a) => a.metric_name === 'ApproximateNumberOfMessagesVisible').dimensions).toEqual({ QueueName: `\${${ref(s, 'aws_sqs_queue', 'events/dlq')}.name}` });
    const behind = resourceAt(s, 'aws_cloudwatch_metric_alarm', 'alarms/event-queue-age');
    expect(behind).toMatchObject({
      alarm_name: 'logrescue-dev-log-rescue-event-queue-age',
      dimensions: { QueueName: `\${${ref(s, 'aws_sqs_queue', 'event-queue/queue')}.name}` },
      statistic: 'Maximum', period: 60, evaluation_periods: 1, threshold: 300, treat_missing_data: 'notBreaching',
    });
    expect(behind.alarm_description).toMatch(/falling behind: instances are held waiting/);
    for (const a of alarms.filter((x) => x !== behind)) expect(a.threshold).toBe(0);
    const created = synth({ alarms: { createTopic: true, email: 'oncall@example.com' } });
    expect(onlyResource(created, 'aws_sns_topic_subscription')).toMatchObject({ protocol: 'email', endpoint: 'oncall@example.com' });
    expect(text(onlyResource(created, 'aws_sns_topic_policy').policy)).toContain('"aws:SourceAccount"');
  });

  it('keeps the configured event age on every EventBridge target', () => {
    const s = synth({ retry: { maximumEventAgeSeconds: 86400, maximumRetryAttempts: 3 } });
    for (const t of Object.values(resourcesOf(s, 'aws_cloudwatch_event_target')) as any[]) {
      expect(t.retry_policy).toEqual({ maximum_event_age_in_seconds: 86400, maximum_retry_attempts: 3 });
    }
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
    expect(Object.keys(stack.output!).sort()).toEqual(['bucket_name', 'dashboard_name', 'dead_letter_queue_url', 'document_name', 'event_queue_url', 'function_name', 'instance_policy_arn']);
    expect(stack.output!.event_queue_url).toEqual({
      value: `\${${ref(stack, 'aws_sqs_queue', 'event-queue/queue')}.url}`, description: 'The queue every rule feeds the handler from',
    });
  });

  it('reads group names from another team\'s state, without duplicating a listed group', () => {
    const s = synth(
      { autoScalingGroups: ['web-fleet', { fromRemoteState: { state: 'fleet', output: 'asg_names' } }] },
      { remoteStates: { fleet: { type: 's3', bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' } } },
    );
    expect(Object.values(s.data!.terraform_remote_state)[0]).toMatchObject({ backend: 's3', config: { bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' } });
    const remoteHook = resourceAt(s, 'aws_autoscaling_lifecycle_hook', 'hooks/hook-from-remote-state');
    // Names from the other state minus listed ones, each checked against the name pattern.
    expect(remoteHook.for_each).toMatch(/^\$\{toset\(toset\(\[ for key, val in toset\(setsubtract\(toset\(concat\(flatten\(\[data\.terraform_remote_state\.fleet\.outputs\.asg_names\]\)\)\), \["web-fleet"\]\)\): regex\("\^\[A-Za-z0-9\._ -\]\{1,255\}\$", val\)\]\)\)\}$/);
    expect(remoteHook.autoscaling_group_name).toBe('${each.value}');
    expect(onlyResource(s, 'aws_lambda_function').environment.variables.ASG_NAMES).toMatch(/^\$\{join\(",", concat\(\["web-fleet"\], tolist\(setsubtract/);
  });
});
