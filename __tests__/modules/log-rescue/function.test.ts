/**
 * RescueFunction on a bare stack, given the names of a document, groups, hook and event queue: the
 * bundled handler with the settings and environment its flat props give, its log group, the event
 * source mapping that feeds it batches, and a role whose policy names only those resources. What
 * AWS decides with the policy is judged in __tests__/iam/; here, the statements the module writes.
 * @lane unit
 */
import { decodeJsonExpression } from '../../../scripts/hcl-expr';
import { StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { RescueFunction, RescueFunctionProps } from '../../../modules/log-rescue/function';

const QUEUE = { arn: 'arn:aws:sqs:eu-west-1:111122223333:acme-prod-log-rescue-events', name: 'acme-prod-log-rescue-events' };

type Props = Omit<RescueFunctionProps, 'aws'>;

const PROPS: Props = {
  functionName: 'acme-prod-log-rescue',
  document: { name: 'acme-prod-rescue-logs' },
  groupNames: ['web-fleet', 'worker-fleet'],
  hookName: 'log-rescue',
  eventQueue: QUEUE,
  metricStack: 'acme-prod',
  onlineWaitSeconds: 20,
  executionTimeoutSeconds: 600,
  heartbeatTimeoutSeconds: 900,
  memoryMb: 256,
  logRetentionDays: 30,
  batchSize: 50,
  batchWindowSeconds: 1,
  maximumConcurrency: 30,
};

/** The function (construct id `handler`) on a bare stack in eu-west-1. */
function synth(over: Partial<Props> = {}): StackJson {
  const b = bareStack('eu-west-1');
  new RescueFunction(b.stack, 'handler', { ...PROPS, ...over, aws: b.aws });
  return synthBare(b.stack);
}

const fn = (s: StackJson) => at(s, 'aws_lambda_function', 'handler');
const mapping = (s: StackJson) => at(s, 'aws_lambda_event_source_mapping', 'handler_events');
const ACCOUNT = '${data.aws_caller_identity.current.account_id}';
const PARTITION = '${data.aws_partition.current.partition}';

/** Every prop other than PROPS, for the second value of each. */
const OTHER: Props = {
  functionName: 'other-test-log-rescue',
  document: { name: 'other-doc' },
  groupNames: ['batch'],
  hookName: 'rescue-hook',
  eventQueue: { arn: 'arn:aws:sqs:eu-west-1:111122223333:other-queue', name: 'other-queue' },
  metricStack: 'other-test',
  onlineWaitSeconds: 45,
  executionTimeoutSeconds: 30,
  heartbeatTimeoutSeconds: 7200,
  memoryMb: 1024,
  logRetentionDays: 7,
  reservedConcurrency: 40,
  batchSize: 25,
  batchWindowSeconds: 0,
  maximumConcurrency: 5,
};

describe('RescueFunction', () => {
  const s = synth();
  const o = synth(OTHER);

  it('makes the function, its log group, role, role policy and event source mapping, each at its readable address', () => {
    const made = Object.fromEntries(Object.entries(s.resource!).map(([type, byName]) => [type, Object.keys(byName)]));
    expect(made).toEqual({
      aws_lambda_function: ['handler'], aws_cloudwatch_log_group: ['handler'], aws_iam_role: ['handler'],
      aws_iam_role_policy: ['handler'], aws_lambda_event_source_mapping: ['handler_events'],
    });
  });

  it('runs the bundled handler on Node.js 22 arm64 with its settings and no concurrency reservation', () => {
    const f = fn(s);
    expect(f).toMatchObject({
      function_name: 'acme-prod-log-rescue', runtime: 'nodejs22.x', architectures: ['arm64'], handler: 'index.handler',
      memory_size: 256, timeout: 120, role: '${aws_iam_role.handler.arn}',
      description: 'Rescues instance logs to S3 before Auto Scaling terminates the instance',
    });
    // Lambda refuses a reservation that leaves fewer than 100 unreserved concurrent executions in
    // the account (PutFunctionConcurrency: "as long as you leave at least 100 simultaneous
    // executions unreserved", https://docs.aws.amazon.com/goto/WebAPI/lambda/PutFunctionConcurrency),
    // so by default the argument is left out: the provider's "no reservation".
    expect(f).not.toHaveProperty('reserved_concurrent_executions');
    expect(f.filename).toMatch(/^assets\/handler_code_[A-F0-9]+\/[A-F0-9]+\/handler\.zip$/);
    expect(f.source_code_hash).toBe(`\${filebase64sha256("${f.filename}")}`);
  });

  it('takes its name, memory and a reservation from its props, and its timeout from the online wait', () => {
    expect(fn(o)).toMatchObject({ function_name: 'other-test-log-rescue', memory_size: 1024, reserved_concurrent_executions: 40, timeout: 145 });
  });

  it('logs as JSON to its own group /aws/lambda/<functionName>, made first, kept for logRetentionDays', () => {
    expect(at(s, 'aws_cloudwatch_log_group', 'handler')).toEqual({ name: '/aws/lambda/acme-prod-log-rescue', retention_in_days: 30 });
    expect(fn(s).logging_config).toEqual({ log_format: 'JSON', log_group: '${aws_cloudwatch_log_group.handler.name}' });
    expect(fn(s).depends_on).toEqual(['aws_cloudwatch_log_group.handler']);
    expect(at(o, 'aws_cloudwatch_log_group', 'handler')).toEqual({ name: '/aws/lambda/other-test-log-rescue', retention_in_days: 7 });
  });

  it('tells the handler its document, groups, hook, timings, metric names and queue URL', () => {
    expect(fn(s).environment.variables).toEqual({
      DOCUMENT_NAME: 'acme-prod-rescue-logs',
      ASG_NAMES: '${join(",", ["web-fleet", "worker-fleet"])}',
      HOOK_NAME: 'log-rescue',
      ONLINE_WAIT_SECONDS: '20',
      EXECUTION_TIMEOUT_SECONDS: '600',
      HEARTBEAT_TIMEOUT_SECONDS: '900',
      METRIC_NAMESPACE: 'LogRescue',
      // Where an event whose agent is not Online yet goes back to, to be looked at again: the
      // queue's URL from values a plan knows (a queue's own `url` attribute is known only after apply).
      QUEUE_URL: `https://sqs.eu-west-1.\${data.aws_partition.current.dns_suffix}/${ACCOUNT}/acme-prod-log-rescue-events`,
      STACK_ID: 'acme-prod',
    });
    expect(fn(o).environment.variables).toEqual({
      DOCUMENT_NAME: 'other-doc', ASG_NAMES: '${join(",", ["batch"])}', HOOK_NAME: 'rescue-hook',
      ONLINE_WAIT_SECONDS: '45', EXECUTION_TIMEOUT_SECONDS: '30', HEARTBEAT_TIMEOUT_SECONDS: '7200', METRIC_NAMESPACE: 'LogRescue',
      QUEUE_URL: `https://sqs.eu-west-1.\${data.aws_partition.current.dns_suffix}/${ACCOUNT}/other-queue`, STACK_ID: 'other-test',
    });
  });

  it('feeds the handler from the event queue in batches, reporting failures per message, at most its maximum concurrency at once', () => {
    expect(mapping(s)).toEqual({
      function_name: '${aws_lambda_function.handler.arn}',
      event_source_arn: QUEUE.arn,
      batch_size: 50,
      maximum_batching_window_in_seconds: 1,
      function_response_types: ['ReportBatchItemFailures'],
      scaling_config: { maximum_concurrency: 30 },
      // Lambda refuses to create the mapping until the role may read the queue.
      depends_on: ['aws_iam_role_policy.handler'],
    });
    // With a reservation (40), the mapping's cap is still its own setting.
    expect(mapping(o)).toMatchObject({
      event_source_arn: 'arn:aws:sqs:eu-west-1:111122223333:other-queue', batch_size: 25, maximum_batching_window_in_seconds: 0, scaling_config: { maximum_concurrency: 5 },
    });
  });

  it('gives the function a role only Lambda of this account may assume', () => {
    const role = at(s, 'aws_iam_role', 'handler');
    expect(role.name).toBe('acme-prod-log-rescue-role');
    expect(at(o, 'aws_iam_role', 'handler').name).toBe('other-test-log-rescue-role');
    expect((decodeJsonExpression(role.assume_role_policy) as any).Statement).toEqual([{
      Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': { $expr: 'data.aws_caller_identity.current.account_id' } } },
    }]);
  });

  it('gives the role least privilege: its document, tagged instances and groups, its own logs, its event queue', () => {
    const policy = at(s, 'aws_iam_role_policy', 'handler');
    expect(policy).toMatchObject({ name: 'log-rescue', role: '${aws_iam_role.handler.id}' });
    expect((decodeJsonExpression(policy.policy) as any).Statement).toEqual([
      {
        Sid: 'SendOnlyTheRescueDocument', Effect: 'Allow', Action: 'ssm:SendCommand',
        Resource: `arn:${PARTITION}:ssm:eu-west-1:${ACCOUNT}:document/acme-prod-rescue-logs`,
      },
      {
        Sid: 'SendOnlyToProtectedGroups', Effect: 'Allow', Action: 'ssm:SendCommand',
        Resource: `arn:${PARTITION}:ec2:eu-west-1:${ACCOUNT}:instance/*`,
        Condition: { StringEquals: { 'ssm:resourceTag/aws:autoscaling:groupName': ['web-fleet', 'worker-fleet'] } },
      },
      {
        Sid: 'CompleteOnlyProtectedGroups', Effect: 'Allow',
        Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
        Resource: { $expr: 'formatlist("arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s", data.aws_partition.current.partition, "eu-west-1", data.aws_caller_identity.current.account_id, ["web-fleet", "worker-fleet"])' },
      },
      // The only "*" resource: the read actions that support nothing else.
      {
        Sid: 'ReadOnlyActionsWithoutResourceLevelPermissions', Effect: 'Allow',
        Action: ['ssm:DescribeInstanceInformation', 'autoscaling:DescribeAutoScalingInstances', 'ssm:ListCommands', 'ssm:ListCommandInvocations'],
        Resource: '*',
      },
      { Sid: 'OwnLogsOnly', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '${aws_cloudwatch_log_group.handler.arn}:*' },
      // It consumes the event queue, and sends only to it (an event back to look at its agent again).
      { Sid: 'ConsumeOnlyTheEventQueue', Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: QUEUE.arn },
      { Sid: 'RequeueOnlyToTheEventQueue', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE.arn },
    ]);
  });

  it('names in the policy the document, groups and queue it is given', () => {
    const statements = (decodeJsonExpression(at(o, 'aws_iam_role_policy', 'handler').policy) as any).Statement;
    const bySid = (sid: string) => statements.find((x: any) => x.Sid === sid);
    expect(bySid('SendOnlyTheRescueDocument').Resource).toMatch(/:document\/other-doc$/);
    expect(bySid('SendOnlyToProtectedGroups').Condition).toEqual({ StringEquals: { 'ssm:resourceTag/aws:autoscaling:groupName': ['batch'] } });
    expect(bySid('CompleteOnlyProtectedGroups').Resource.$expr).toMatch(/, \["batch"\]\)$/);
    expect(bySid('ConsumeOnlyTheEventQueue').Resource).toBe('arn:aws:sqs:eu-west-1:111122223333:other-queue');
    expect(bySid('RequeueOnlyToTheEventQueue').Resource).toBe('arn:aws:sqs:eu-west-1:111122223333:other-queue');
  });
});
