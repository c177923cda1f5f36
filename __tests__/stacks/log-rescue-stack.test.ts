/**
 * The log-rescue stack (stacks/log-rescue-stack.ts) synthesized from config: what the stack
 * decides, namely which config value reaches which module prop (names from the prefix, the
 * document's cap and globs, the hook, the handler's settings, retries, the alarm topic) and how
 * the modules refer to each other (the rules and the function to the document and the hooks'
 * groups, the function to the event queue, the instance policy to the archive, the alarms to the
 * queues and the function), and the outputs. What each module makes from its props is proved on a
 * bare stack in __tests__/modules/log-rescue/.
 * @lane synth
 */
import { onlyResource, resourceAt, resourcesOf, StackJson, synthStacks, testConfig } from '../support/synth';
import { renderDocumentForTest } from '../support/bash-standins';

const synth = (logRescue: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  synthStacks(testConfig({ logRescue, ...extra }))['log-rescue'];

/** A synthesized `${jsonencode({...})}` policy or pattern, as the text to match on. */
const text = (v: unknown) => String(v);

function ref(stack: StackJson, type: string, suffix: string): string {
  const entry = Object.entries(resourcesOf(stack, type)).find(([, r]: [string, any]) => String(r['//']?.metadata?.path).endsWith(suffix));
  if (!entry) throw new Error(`no ${type} at ${suffix}`);
  return `${type}.${entry[0]}`;
}

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:oncall';

describe('log-rescue stack', () => {
  const stack = synth({ autoScalingGroups: ['web-fleet', 'worker-fleet'] });
  /** Every setting the tests below follow from config, changed from its default at once. */
  const tuned = synth({
    command: { maxTotalMb: 300, executionTimeoutSeconds: 900, logGlobs: ['/var/log/app one/*.log', '/var/log/messages'] },
    lifecycleHook: { name: 'rescue-hook', heartbeatTimeoutSeconds: 7200, defaultResult: 'ABANDON' },
    handler: { onlineWaitSeconds: 45, memoryMb: 512, logRetentionDays: 7, batchSize: 10, batchWindowSeconds: 0, reservedConcurrency: 40, maximumConcurrency: 5 },
    retry: { maximumEventAgeSeconds: 86400, maximumRetryAttempts: 3 },
    spotInterruption: false,
    archiveBucket: { encryption: 'SSE-KMS' },
    alarms: { snsTopicArn: TOPIC },
  });

  it('writes the configured size cap into the rescue document', () => {
    const content = (s: any) => String(onlyResource(s, 'aws_ssm_document').content);
    expect(content(stack)).toContain('LOG_RESCUE_MAX_TOTAL_MB=2048 ');
    expect(content(tuned)).toContain('LOG_RESCUE_MAX_TOTAL_MB=300 ');
  });

  it('puts the configured hook, with its heartbeat and default result, on every configured group', () => {
    const hooks = (s: StackJson) => Object.values(resourcesOf(s, 'aws_autoscaling_lifecycle_hook')) as any[];
    expect(hooks(stack).map((h) => h.autoscaling_group_name).sort()).toEqual(['web-fleet', 'worker-fleet']);
    for (const h of hooks(stack)) expect(h).toMatchObject({ name: 'log-rescue', heartbeat_timeout: 900, default_result: 'CONTINUE' });
    expect(hooks(tuned)).toHaveLength(1);
    expect(hooks(tuned)[0]).toMatchObject({ name: 'rescue-hook', heartbeat_timeout: 7200, default_result: 'ABANDON' });
  });

  it('matches lifecycle actions of the hooks\' groups and hook, and command statuses of its own document', () => {
    const rule = resourceAt(stack, 'aws_cloudwatch_event_rule', 'events/lifecycle');
    expect(rule.name).toBe('logrescue-dev-log-rescue-lifecycle');
    expect(text(rule.event_pattern)).toContain('"detail" = {"AutoScalingGroupName" = ["web-fleet", "worker-fleet"], "LifecycleHookName" = ["log-rescue"]}');
    expect(text(resourceAt(tuned, 'aws_cloudwatch_event_rule', 'events/lifecycle').event_pattern)).toContain('"LifecycleHookName" = ["rescue-hook"]');
    const doc = ref(stack, 'aws_ssm_document', 'document');
    for (const id of ['command-invocation', 'command-status']) {
      expect(text(resourceAt(stack, 'aws_cloudwatch_event_rule', `events/${id}`).event_pattern)).toContain(`"detail" = {"document-name" = [${doc}.name], "status" = [`);
    }
  });

  it('has a Spot warning rule by default and none when switched off', () => {
    expect(resourceAt(stack, 'aws_cloudwatch_event_rule', 'events/spot-warning').name).toBe('logrescue-dev-log-rescue-spot-warning');
    expect(Object.keys(resourcesOf(stack, 'aws_cloudwatch_event_target'))).toHaveLength(4);
    expect(Object.keys(resourcesOf(tuned, 'aws_cloudwatch_event_rule'))).toHaveLength(3);
    expect(Object.keys(resourcesOf(tuned, 'aws_cloudwatch_event_target'))).toHaveLength(3);
  });

  it('keeps the configured retries and event age on every EventBridge target', () => {
    for (const t of Object.values(resourcesOf(stack, 'aws_cloudwatch_event_target')) as any[]) {
      expect(t.retry_policy).toEqual({ maximum_retry_attempts: 8, maximum_event_age_in_seconds: 3600 });
    }
    for (const t of Object.values(resourcesOf(tuned, 'aws_cloudwatch_event_target')) as any[]) {
      expect(t.retry_policy).toEqual({ maximum_event_age_in_seconds: 86400, maximum_retry_attempts: 3 });
    }
  });

  it('feeds the handler only from the event queue: the mapping, and no Lambda permission or async invoke config', () => {
    expect(onlyResource(stack, 'aws_lambda_event_source_mapping')).toMatchObject({
      event_source_arn: `\${${ref(stack, 'aws_sqs_queue', 'event-queue/queue')}.arn}`,
      function_name: `\${${ref(stack, 'aws_lambda_function', 'handler/function')}.arn}`,
    });
    expect(resourcesOf(stack, 'aws_lambda_permission')).toEqual({});
    expect(resourcesOf(stack, 'aws_lambda_function_event_invoke_config')).toEqual({});
  });

  it('gives the function and the queue the same online wait, and the queue the hook\'s heartbeat', () => {
    expect(onlyResource(stack, 'aws_lambda_function').timeout).toBe(120);
    expect(resourceAt(stack, 'aws_sqs_queue', 'event-queue/queue').visibility_timeout_seconds).toBe(130);
    // Both follow the online wait: a message is never received again while a run may still hold it.
    expect(onlyResource(tuned, 'aws_lambda_function').timeout).toBe(145);
    const queue = resourceAt(tuned, 'aws_sqs_queue', 'event-queue/queue');
    expect(queue.visibility_timeout_seconds).toBe(155);
    // 7,200 s of heartbeat over 155 s of visibility: 47 receives, and the first.
    expect(text(queue.redrive_policy)).toContain('"maxReceiveCount" = 48');
    expect(text(resourceAt(stack, 'aws_sqs_queue', 'event-queue/queue').redrive_policy)).toContain('"maxReceiveCount" = 8');
  });

  it('takes the handler\'s memory, log retention, reservation, batch size, batching window and concurrency from config', () => {
    const defaults = onlyResource(stack, 'aws_lambda_function');
    expect(defaults).toMatchObject({ memory_size: 256 });
    expect(defaults).not.toHaveProperty('reserved_concurrent_executions');
    expect(onlyResource(stack, 'aws_lambda_event_source_mapping')).toMatchObject({
      batch_size: 50, maximum_batching_window_in_seconds: 1, scaling_config: { maximum_concurrency: 30 },
    });
    expect(onlyResource(stack, 'aws_cloudwatch_log_group')).toMatchObject({ name: '/aws/lambda/logrescue-dev-log-rescue', retention_in_days: 30 });
    expect(onlyResource(tuned, 'aws_lambda_function')).toMatchObject({ memory_size: 512, reserved_concurrent_executions: 40 });
    expect(onlyResource(tuned, 'aws_lambda_event_source_mapping')).toMatchObject({
      batch_size: 10, maximum_batching_window_in_seconds: 0, scaling_config: { maximum_concurrency: 5 },
    });
    expect(onlyResource(tuned, 'aws_cloudwatch_log_group').retention_in_days).toBe(7);
  });

  it('tells the handler the stack\'s document, the hooks\' groups and hook, the config\'s timings and the event queue', () => {
    const fn = onlyResource(stack, 'aws_lambda_function');
    expect(fn.function_name).toBe('logrescue-dev-log-rescue');
    // The names and references the stack gives it; the rest of its environment: function.test.ts.
    expect(fn.environment.variables).toMatchObject({
      DOCUMENT_NAME: `\${${ref(stack, 'aws_ssm_document', 'document')}.name}`, ASG_NAMES: '${join(",", ["web-fleet", "worker-fleet"])}', STACK_ID: 'logrescue-dev',
      QUEUE_URL: expect.stringMatching(new RegExp(
        '^https://sqs\\.us-east-1\\.\\$\\{data\\.aws_partition\\.current\\.dns_suffix\\}/'
        + '\\$\\{data\\.aws_caller_identity\\.current\\.account_id\\}/'
        + `\\$\\{${ref(stack, 'aws_sqs_queue', 'event-queue/queue').replace(/[.$]/g, '\\$&')}\\.name\\}$`,
      )),
    });
    const timings = (s: StackJson) => {
      const v = onlyResource(s, 'aws_lambda_function').environment.variables;
      return [v.HOOK_NAME, v.ONLINE_WAIT_SECONDS, v.EXECUTION_TIMEOUT_SECONDS, v.HEARTBEAT_TIMEOUT_SECONDS];
    };
    expect(timings(stack)).toEqual(['log-rescue', '20', '600', '900']);
    expect(timings(tuned)).toEqual(['rescue-hook', '45', '900', '7200']);
  });

  it('lets the function send only the stack\'s document to the hooks\' groups, and use only the stack\'s event queue', () => {
    const p = text(resourceAt(stack, 'aws_iam_role_policy', 'handler/policy').policy);
    expect(p).toContain(`:document/\${${ref(stack, 'aws_ssm_document', 'document')}.name}"`);
    expect(p).toContain('"Condition" = {"StringEquals" = {"ssm:resourceTag/aws:autoscaling:groupName" = ["web-fleet", "worker-fleet"]}}');
    expect(p).toContain('data.aws_caller_identity.current.account_id, ["web-fleet", "worker-fleet"])');
    const queue = ref(stack, 'aws_sqs_queue', 'event-queue/queue');
    expect(p).toContain(`"Action" = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "Resource" = ${queue}.arn}`);
    expect(p).toContain(`"Action" = "sqs:SendMessage", "Resource" = ${queue}.arn}`);
  });

  it('exports an instance policy for the stack\'s archive under the configured prefix, with the archive key when it has one', () => {
    const p = text(onlyResource(stack, 'aws_iam_policy').policy);
    expect(onlyResource(stack, 'aws_iam_policy').name).toBe('logrescue-dev-log-rescue-instance-upload');
    expect(p).toContain(`"Resource" = "\${${ref(stack, 'aws_s3_bucket', 'archive/bucket')}.arn}/instance-logs/*"`);
    expect(p).not.toContain('kms:');
    // Only a data key through S3 for this archive; what AWS decides with it is in __tests__/iam/.
    expect(text(onlyResource(tuned, 'aws_iam_policy').policy)).toContain(`"Action" = ["kms:GenerateDataKey", "kms:Decrypt"], "Resource" = ${ref(tuned, 'aws_kms_key', 'archive/key')}.arn`);
  });

  it('watches the stack\'s queues and function, and notifies the configured topic or one it creates', () => {
    const alarm = (s: StackJson, id: string) => resourceAt(s, 'aws_cloudwatch_metric_alarm', `alarms/${id}`);
    expect(alarm(tuned, 'not-rescued')).toMatchObject({ alarm_name: 'logrescue-dev-log-rescue-not-rescued', dimensions: { Stack: 'logrescue-dev' } });
    expect(alarm(tuned, 'dead-letters').dimensions).toEqual({ QueueName: `\${${ref(tuned, 'aws_sqs_queue', 'events/dlq')}.name}` });
    expect(alarm(tuned, 'event-queue-age').dimensions).toEqual({ QueueName: `\${${ref(tuned, 'aws_sqs_queue', 'event-queue/queue')}.name}` });
    expect(alarm(tuned, 'handler-errors').dimensions).toEqual({ FunctionName: `\${${ref(tuned, 'aws_lambda_function', 'handler/function')}.function_name}` });
    const alarms = (s: StackJson) => Object.values(resourcesOf(s, 'aws_cloudwatch_metric_alarm')) as any[];
    expect(alarms(tuned)).toHaveLength(5);
    for (const a of alarms(tuned)) expect(a).toMatchObject({ alarm_actions: [TOPIC], ok_actions: [TOPIC] });
    expect(resourcesOf(tuned, 'aws_sns_topic')).toEqual({});
    for (const a of alarms(stack)) expect(a).toMatchObject({ alarm_actions: [], ok_actions: [] });
    const created = synth({ alarms: { createTopic: true, email: 'oncall@example.com' } });
    const topic = `\${${ref(created, 'aws_sns_topic', 'alarm-topic/topic')}.arn}`;
    expect(onlyResource(created, 'aws_sns_topic').name).toBe('logrescue-dev-log-rescue-alarms');
    expect(onlyResource(created, 'aws_sns_topic_subscription')).toMatchObject({ topic_arn: topic, protocol: 'email', endpoint: 'oncall@example.com' });
    expect(text(onlyResource(created, 'aws_sns_topic_policy').policy)).toContain('"aws:SourceAccount"');
    for (const a of alarms(created)) expect(a).toMatchObject({ alarm_actions: [topic], ok_actions: [topic] });
    expect(created.output!.alarm_topic_arn.value).toBe(topic);
  });

  it('lets the document collect only the configured globs', () => {
    const doc = renderDocumentForTest(onlyResource(tuned, 'aws_ssm_document').content, {
      [`${ref(tuned, 'aws_s3_bucket', 'archive/bucket')}.bucket`]: 'acme-logs',
      [`${ref(tuned, 'aws_kms_key', 'archive/key')}.arn`]: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    });
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
    expect(tuned.output!.alarm_topic_arn.value).toBe(TOPIC);
  });

  it('reads group names from another team\'s state, for the hooks, the rules and the function', () => {
    const s = synth(
      { autoScalingGroups: ['web-fleet', { fromRemoteState: { state: 'fleet', output: 'asg_names' } }] },
      { remoteStates: { fleet: { type: 's3', bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' } } },
    );
    expect(Object.values(s.data!.terraform_remote_state)[0]).toMatchObject({ backend: 's3', config: { bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' } });
    expect(resourceAt(s, 'aws_autoscaling_lifecycle_hook', 'hooks/hook-from-remote-state').for_each).toContain('data.terraform_remote_state.fleet.outputs.asg_names');
    expect(onlyResource(s, 'aws_lambda_function').environment.variables.ASG_NAMES).toMatch(/^\$\{join\(",", concat\(\["web-fleet"\], tolist\(setsubtract/);
    expect(text(resourceAt(s, 'aws_cloudwatch_event_rule', 'events/lifecycle').event_pattern)).toContain('"AutoScalingGroupName" = concat(["web-fleet"], tolist(setsubtract(');
  });
});
