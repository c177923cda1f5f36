/**
 * Proves the Lambda entry of the log rescue handler (handlers/log-rescue/index.ts), loaded as
 * Lambda loads it (a fresh module registry, the function's environment in process.env), with the
 * SDK clients' `send` mocked: the settings come from the environment (the document, the groups,
 * the event queue's URL, the stack), the clients are built with `maxAttempts: 1` (the handler's
 * own retries are the only ones), the exported handler takes an SQS batch and reports partial
 * failures, takes its deadline from Lambda's context, writes log lines through Powertools Logger
 * and EMF records as bare JSON lines; and it refuses to load when a setting is missing or invalid,
 * naming the variable.
 * @lane unit
 */
import type * as Ssm from '@aws-sdk/client-ssm';
import type * as AutoScaling from '@aws-sdk/client-auto-scaling';
import type * as Sqs from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { lifecycleEvent, sqsRecord } from './fixtures';

const ENV = {
  AWS_REGION: 'eu-west-1',
  DOCUMENT_NAME: 'logrescue-prod-rescue-logs',
  ASG_NAMES: 'web-asg,api asg',
  HOOK_NAME: 'log-rescue',
  ONLINE_WAIT_SECONDS: '20',
  EXECUTION_TIMEOUT_SECONDS: '600',
  HEARTBEAT_TIMEOUT_SECONDS: '900',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/210987654321/logrescue-prod-log-rescue-events',
  STACK_ID: 'logrescue-prod-log-rescue',
};
const ONLINE = 'i-0aaaaaaaaaaaaaaa1';
const OFFLINE = 'i-0bbbbbbbbbbbbbbb2';

type Entry = typeof import('../../../handlers/log-rescue/index');

/**
 * `handlers/log-rescue/index.ts` required in a fresh registry with `env` as the environment, the
 * SDK too (the mocks must be on the classes the entry builds its clients from), and stdout/stderr
 * captured from before the entry builds its Logger.
 */
function load(env: Record<string, string>) {
  const saved = { ...process.env };
  for (const key of Object.keys(ENV)) delete process.env[key];
  Object.assign(process.env, env);
  const lines: string[] = [];
  const grab = (chunk: unknown) => { lines.push(String(chunk)); return true; };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(grab);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(grab);
  let sdk: { ssm: typeof Ssm; autoScaling: typeof AutoScaling; sqs: typeof Sqs } | undefined;
  let mocks: ReturnType<typeof mockAll> | undefined;
  let entry: Entry | undefined;
  const restore = () => {
    out.mockRestore();
    err.mockRestore();
    mocks?.restore();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
  try {
    jest.isolateModules(() => {
      sdk = { ssm: require('@aws-sdk/client-ssm'), autoScaling: require('@aws-sdk/client-auto-scaling'), sqs: require('@aws-sdk/client-sqs') };
      mocks = mockAll(sdk);
      entry = require('../../../handlers/log-rescue/index');
    });
  } catch (e) {
    restore();
    throw e;
  }
  return { entry: entry!, sdk: sdk!, ...mocks!, lines, restore };
}

function mockAll(sdk: { ssm: typeof Ssm; autoScaling: typeof AutoScaling; sqs: typeof Sqs }) {
  const ssm = mockClient(sdk.ssm.SSMClient);
  const autoScaling = mockClient(sdk.autoScaling.AutoScalingClient);
  const sqs = mockClient(sdk.sqs.SQSClient);
  return { ssm, autoScaling, sqs, restore: () => { ssm.restore(); autoScaling.restore(); sqs.restore(); } };
}

/** Lambda's context, as much of it as the handler reads. */
const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });
/** A lifecycle event of `instance` in `group`, just now (the entry's clock is the real one). */
const justNow = (instance: string, group: string, n: number) => lifecycleEvent(
  { EC2InstanceId: instance, AutoScalingGroupName: group },
  { id: `00000000-0000-4000-8000-00000000000${n}`, time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
);

describe('with the environment the stack writes', () => {
  let h: ReturnType<typeof load>;
  beforeEach(() => { h = load(ENV); });
  afterEach(() => h.restore());

  test('a batch: the command for the group named in ASG_NAMES, with DOCUMENT_NAME; the agent not Online goes back to QUEUE_URL', async () => {
    const { ssm, autoScaling, sqs } = h.sdk;
    h.ssm.on(ssm.DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: ONLINE, PingStatus: 'Online', PlatformType: 'Linux' }, { InstanceId: OFFLINE, PingStatus: 'ConnectionLost', PlatformType: 'Linux' }],
    });
    h.ssm.on(ssm.ListCommandsCommand).resolves({ Commands: [] });
    h.ssm.on(ssm.SendCommandCommand).resolves({ Command: { CommandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b' } });
    h.autoScaling.on(autoScaling.DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [{ InstanceId: OFFLINE, AutoScalingGroupName: 'web-asg', LifecycleState: 'Terminating:Wait', AvailabilityZone: 'eu-west-1a', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false }],
    });
    h.sqs.on(sqs.SendMessageCommand).resolves({ MessageId: 'm-3' });
    const events = [justNow(ONLINE, 'api asg', 1), justNow(OFFLINE, 'web-asg', 2)];

    const response = await h.entry.handler({ Records: events.map((e, i) => sqsRecord(JSON.stringify(e), `m-${i + 1}`)) }, context(120_000));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(h.ssm.commandCalls(ssm.SendCommandCommand).map((c) => c.args[0].input)).toEqual([expect.objectContaining({
      DocumentName: 'logrescue-prod-rescue-logs', InstanceIds: [ONLINE],
      Parameters: { asgName: ['api asg'], hookName: ['log-rescue'], trigger: ['lifecycle'], eventTime: [expect.stringMatching(/^\d{8}T\d{6}Z$/)] },
    })]);
    expect(h.sqs.commandCalls(sqs.SendMessageCommand).map((c) => c.args[0].input)).toEqual([expect.objectContaining({
      QueueUrl: ENV.QUEUE_URL, MessageBody: JSON.stringify(events[1]), DelaySeconds: 5,
    })]);
  });

  test('every client is built with maxAttempts 1: the handler\'s retries are the only ones', async () => {
    const { ssm, autoScaling, sqs } = h.sdk;
    h.ssm.on(ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    h.autoScaling.on(autoScaling.DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [
      { InstanceId: OFFLINE, AutoScalingGroupName: 'web-asg', LifecycleState: 'Terminating:Wait', AvailabilityZone: 'eu-west-1a', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false },
    ] });
    h.sqs.on(sqs.SendMessageCommand).resolves({});
    await h.entry.handler({ Records: [sqsRecord(JSON.stringify(justNow(OFFLINE, 'web-asg', 1)), 'm-1')] }, context(120_000));

    const clients = [h.ssm.calls()[0], h.autoScaling.calls()[0], h.sqs.calls()[0]].map((c) => c.thisValue as { config: { maxAttempts: () => Promise<number>; region: () => Promise<string> } });
    expect(await Promise.all(clients.map((c) => c.config.maxAttempts()))).toEqual([1, 1, 1]);
    expect(await Promise.all(clients.map((c) => c.config.region()))).toEqual(['eu-west-1', 'eu-west-1', 'eu-west-1']);
  });

  test('Lambda\'s remaining time sets the deadline: with less than the margin left, no call starts and the message is retried', async () => {
    const message = sqsRecord(JSON.stringify(justNow(ONLINE, 'web-asg', 1)), 'm-1');
    expect(await h.entry.handler({ Records: [message] }, context(5_000))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(h.ssm.calls().length + h.autoScaling.calls().length + h.sqs.calls().length).toBe(0);
    const failure = h.lines.map((l) => JSON.parse(l)).find((l) => l.level === 'ERROR');
    expect(failure).toMatchObject({
      message: 'event failed; the queue retries it, then moves it to the dead-letter queue', service: 'log-rescue', stack: ENV.STACK_ID,
      error: 'DeadlineReached', messageId: 'm-1', operation: 'DescribeInstanceInformation',
    });
  });

  test('log lines through Powertools Logger (service, stack), EMF records as bare JSON lines in the stack\'s Stack and namespace', async () => {
    const { ssm } = h.sdk;
    h.ssm.on(ssm.DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: ONLINE, PingStatus: 'Online', PlatformType: 'Linux' }] });
    h.ssm.on(ssm.ListCommandsCommand).resolves({ Commands: [] });
    h.ssm.on(ssm.SendCommandCommand).resolves({ Command: { CommandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b' } });

    await h.entry.handler({ Records: [sqsRecord(JSON.stringify(justNow(ONLINE, 'web-asg', 1)), 'm-1')] }, context(120_000));

    const records = h.lines.map((l) => JSON.parse(l));
    expect(records).toEqual([
      expect.objectContaining({
        level: 'INFO', message: 'rescue command sent', service: 'log-rescue', stack: ENV.STACK_ID, instanceId: ONLINE, commandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b',
      }),
      {
        _aws: { Timestamp: expect.any(Number), CloudWatchMetrics: [{ Namespace: 'LogRescue', Dimensions: [['Stack']], Metrics: [{ Name: 'CommandSent', Unit: 'Count' }] }] },
        Stack: ENV.STACK_ID, CommandSent: 1,
      },
    ]);
  });

  test('one EventBridge event sent by hand (aws lambda invoke): its result', async () => {
    const result = await h.entry.handler({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification' });
    expect(result).toEqual({ action: 'rejected', reason: 'source/detail-type: not an event this handler takes' });
  });
});

describe('a setting missing or invalid: the entry refuses to load, naming the variable', () => {
  test.each<[string, Record<string, string>, string]>([
    ['QUEUE_URL missing', { QUEUE_URL: '' }, 'log-rescue handler settings: QUEUE_URL is missing (an SQS queue URL)'],
    ['QUEUE_URL not an SQS URL', { QUEUE_URL: 'http://sqs.eu-west-1.amazonaws.com/210987654321/q' }, 'log-rescue handler settings: QUEUE_URL is not an SQS queue URL'],
    ['ONLINE_WAIT_SECONDS out of range', { ONLINE_WAIT_SECONDS: '90' }, 'log-rescue handler settings: ONLINE_WAIT_SECONDS is not an integer 0..60'],
    ['two problems at once', { DOCUMENT_NAME: '', STACK_ID: '' },
      'log-rescue handler settings: DOCUMENT_NAME is missing (an SSM document name); STACK_ID is missing (a metric dimension value (1..255 characters))'],
  ])('%s', (_case, override, message) => {
    const env = Object.fromEntries(Object.entries({ ...ENV, ...override }).filter(([, v]) => v !== ''));
    const before = { ...process.env };
    expect(() => load(env)).toThrow(new Error(message));
    // Loading failed cleanly: the environment is as it was.
    expect(process.env).toEqual(before);
  });
});
