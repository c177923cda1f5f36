/**
 * EventBridge events as AWS delivers them (shapes from the Auto Scaling, Systems Manager and EC2
 * event references), plus a harness that runs the handler against aws-sdk-client-mock clients on a
 * virtual clock.
 */
import { createHash } from 'node:crypto';
import { DescribeInstanceInformationCommand, InvalidInstanceId, ListCommandsCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { AutoScalingClient, AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { WAIT_STARTED_ATTRIBUTE } from '../../../handlers/log-rescue/aws';
import type { Outcome } from '../../../handlers/log-rescue/outcomes';
import { createRescueHandler } from '../../../handlers/log-rescue/rescue';
import type { HandlerSettings } from '../../../handlers/log-rescue/settings';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const ASG = 'web-asg';
export const OTHER_ASG = 'batch-asg';
export const HOOK = 'log-rescue';
export const INSTANCE = 'i-1234567890abcdef0';
export const DOCUMENT = 'logrescue-dev-rescue-logs';
export const COMMAND_ID = 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b';
export const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/logrescue-dev-log-rescue-events';
/** The id of the default lifecycle event (`lifecycleEvent()`). */
export const LIFECYCLE_EVENT_ID = '468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f';

export const SETTINGS: HandlerSettings = {
  documentName: DOCUMENT,
  asgNames: [ASG, 'api asg'],
  hookName: HOOK,
  onlineWaitSeconds: 20,
  executionTimeoutSeconds: 600,
  heartbeatTimeoutSeconds: 900,
  metricNamespace: 'LogRescue',
  queueUrl: QUEUE_URL,
  stackId: 'logrescue-dev-log-rescue',
};

export function lifecycleEvent(detail: Record<string, unknown> = {}, top: Record<string, unknown> = {}): any {
  return {
    version: '0',
    id: LIFECYCLE_EVENT_ID,
    'detail-type': 'EC2 Instance-terminate Lifecycle Action',
    source: 'aws.autoscaling',
    account: ACCOUNT,
    time: '2026-11-20T22:30:00Z',
    region: REGION,
    resources: [
      `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:59fcbb81-bd44-4dba-9c3c-2b5ecb5b2d4f:autoScalingGroupName/${ASG}`,
    ],
    detail: {
      LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
      AutoScalingGroupName: ASG,
      LifecycleHookName: HOOK,
      EC2InstanceId: INSTANCE,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      NotificationMetadata: 'additional-info',
      Origin: 'AutoScalingGroup',
      Destination: 'EC2',
      ...detail,
    },
    ...top,
  };
}

/** The hold the fixtures' lifecycle rescue reports: lifecycle event 22:30:00, its status event 22:31:12. */
export const HOLD = 72;
/** The rescue duration the fixtures' status events report: command requested 22:30:02.120, its status event 22:31:12. */
export const DURATION = 69.88;
/** The rescue's own command parameters, as SendCommand sent them for a lifecycle rescue of the default event. */
export const LIFECYCLE_PARAMETERS = { asgName: [ASG], hookName: [HOOK], trigger: ['lifecycle'], eventTime: ['20261120T223000Z'] };
/** ... and for the Spot rescue of the default Spot warning. */
export const SPOT_PARAMETERS = { asgName: [ASG], hookName: ['none'], trigger: ['spot'], eventTime: ['20261120T230540Z'] };

const instanceArn = (instanceId: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${instanceId}`;

/** The command-level status: one event per command, its `resources` every instance the command went to. */
export function commandStatusEvent(
  opts: { status?: string; parameters?: Record<string, unknown>; document?: string; instances?: string[]; commandId?: string } = {},
  top: Record<string, unknown> = {},
): any {
  return {
    version: '0',
    id: '51c0891d-0e34-45b1-b70c-2d4bb9f1a3e8',
    'detail-type': 'EC2 Command Status-change Notification',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: '2026-11-20T22:31:12Z',
    region: REGION,
    resources: (opts.instances ?? [INSTANCE]).map(instanceArn),
    detail: {
      'command-id': opts.commandId ?? COMMAND_ID,
      'document-name': opts.document ?? DOCUMENT,
      'expire-after': '2026-11-20T22:31:02.120Z',
      parameters: opts.parameters ?? LIFECYCLE_PARAMETERS,
      'requested-date-time': '2026-11-20T22:30:02.120Z',
      status: opts.status ?? 'Success',
    },
    ...top,
  };
}

/** The invocation-level status: one instance's copy of a command. It carries no parameters. */
export function invocationEvent(
  opts: { status?: string; document?: string; instance?: string; commandId?: string } = {},
  top: Record<string, unknown> = {},
): any {
  const instanceId = opts.instance ?? INSTANCE;
  return {
    version: '0',
    id: '7f3c2a1e-5b9d-4c8e-a2f1-0e6d4b3c2a19',
    'detail-type': 'EC2 Command Invocation Status-change Notification',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: '2026-11-20T22:31:12Z',
    region: REGION,
    resources: [instanceArn(instanceId)],
    detail: {
      'command-id': opts.commandId ?? COMMAND_ID,
      'document-name': opts.document ?? DOCUMENT,
      'instance-id': instanceId,
      'requested-date-time': '2026-11-20T22:30:02.120Z',
      status: opts.status ?? 'Success',
    },
    ...top,
  };
}

/** ListCommands output for one command of the rescue document, as SSM lists it. */
export function listedCommand(
  opts: { parameters?: Record<string, string[]>; document?: string; commandId?: string; instances?: string[] } = {},
) {
  const instances = opts.instances ?? [INSTANCE];
  return {
    Commands: [{
      CommandId: opts.commandId ?? COMMAND_ID,
      DocumentName: opts.document ?? DOCUMENT,
      DocumentVersion: '$DEFAULT',
      Comment: 'log rescue (lifecycle) of 1 instance(s), event 468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f',
      ExpiresAfter: new Date('2026-11-20T22:31:02.120Z'),
      Parameters: opts.parameters ?? LIFECYCLE_PARAMETERS,
      InstanceIds: instances,
      Targets: [],
      RequestedDateTime: new Date('2026-11-20T22:30:02.120Z'),
      Status: 'Success' as const,
      StatusDetails: 'Success',
      MaxConcurrency: '100%',
      MaxErrors: '100%',
      TargetCount: instances.length,
      CompletedCount: instances.length,
      ErrorCount: 0,
      DeliveryTimedOutCount: 0,
      TimeoutSeconds: 60,
    }],
  };
}

/**
 * ListCommandInvocations output with `Details: true`, as SSM returns it: each invocation with its
 * one plugin (the document's `uploadLogs` step of `aws:runShellScript`) and that plugin's
 * ResponseCode, the script's exit code (-1 when it never ran).
 */
export function listedInvocations(
  invocations: Array<{ instance?: string; status?: string; responseCode?: number }>, opts: { commandId?: string } = {},
) {
  return {
    CommandInvocations: invocations.map((i) => {
      const status = i.status ?? 'Failed';
      const code = i.responseCode ?? (status === 'Success' ? 0 : 1);
      return {
        CommandId: opts.commandId ?? COMMAND_ID,
        InstanceId: i.instance ?? INSTANCE,
        InstanceName: '',
        Comment: 'log rescue (lifecycle) of 1 instance(s), event 468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f',
        DocumentName: DOCUMENT,
        DocumentVersion: '$DEFAULT',
        RequestedDateTime: new Date('2026-11-20T22:30:02.120Z'),
        Status: status as 'Failed',
        StatusDetails: status,
        StandardOutputUrl: '',
        StandardErrorUrl: '',
        CommandPlugins: [{
          Name: 'uploadLogs',
          Status: status as 'Failed',
          StatusDetails: status,
          ResponseCode: code,
          ResponseStartDateTime: new Date('2026-11-20T22:30:02.500Z'),
          ResponseFinishDateTime: new Date('2026-11-20T22:31:11.800Z'),
          Output: code === 66 ? 'log-rescue: nothing collected: no glob matched a file and the journal gave nothing\n' : '',
          StandardOutputUrl: '',
          StandardErrorUrl: '',
          OutputS3Region: REGION,
          OutputS3BucketName: '',
          OutputS3KeyPrefix: '',
        }],
        ServiceRole: '',
      };
    }),
  };
}

/** `i-0000000000000000n` style ids, for batches. */
export const instanceId = (n: number) => `i-0${n.toString(16).padStart(16, '0')}`;
/** A distinct EventBridge event id per instance of a batch. */
export const eventId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

export function spotEvent(detail: Record<string, unknown> = {}, top: Record<string, unknown> = {}): any {
  return {
    version: '0',
    id: '12345678-1234-1234-1234-123456789012',
    'detail-type': 'EC2 Spot Instance Interruption Warning',
    source: 'aws.ec2',
    account: ACCOUNT,
    time: '2026-11-20T23:05:40Z',
    region: REGION,
    resources: [`arn:aws:ec2:${REGION}a:instance/${INSTANCE}`],
    detail: { 'instance-id': INSTANCE, 'instance-action': 'terminate', ...detail },
    ...top,
  };
}

/** DescribeInstanceInformation output for one instance. */
export function instanceInfo(pingStatus: 'Online' | 'ConnectionLost' | 'Inactive', instanceId = INSTANCE) {
  return {
    InstanceInformationList: [{
      InstanceId: instanceId, PingStatus: pingStatus, PlatformType: 'Linux' as const, AgentVersion: '3.3.1142.0',
      ResourceType: 'EC2Instance' as const,
    }],
  };
}

export const NOT_MANAGED = { InstanceInformationList: [] };

/** DescribeAutoScalingInstances output for one instance of a group, in the given lifecycle state. */
export function asgInstance(lifecycleState: string, asgName = ASG, instanceId = INSTANCE) {
  return {
    AutoScalingInstances: [{
      InstanceId: instanceId, InstanceType: 'm7g.large', AutoScalingGroupName: asgName, AvailabilityZone: 'us-east-1a',
      LifecycleState: lifecycleState, HealthStatus: 'HEALTHY',
      LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', LaunchTemplateName: 'web', Version: '3' },
      ProtectedFromScaleIn: false,
    }],
  };
}

/** The instance a lifecycle event names, still held by its action. */
export const HELD = asgInstance('Terminating:Wait');

/** DescribeAutoScalingInstances output listing the given instances (of ASG) in the given lifecycle states. */
export function asgInstances(states: Record<string, string>) {
  return { AutoScalingInstances: Object.entries(states).flatMap(([id, state]) => asgInstance(state, ASG, id).AutoScalingInstances) };
}

export const invalidInstanceId = (instanceId = INSTANCE) => new InvalidInstanceId({
  message: `Instances [[${instanceId}]] not in a valid state for account ${ACCOUNT}`, $metadata: { httpStatusCode: 400 },
});

export const throttling = () => new SSMServiceException({
  name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded',
});

/** Auto Scaling's answer to a caller over its rate. */
export const throttlingAsg = () => new AutoScalingServiceException({
  name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded',
});

export const noActiveAction = (instanceId = INSTANCE) => new AutoScalingServiceException({
  name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 },
  message: `No active Lifecycle Action found with instance ID ${instanceId}`,
});

/** The inputs of a mocked client's calls, in order. */
export const inputs = (calls: Array<{ args: [{ input: unknown }] }>) => calls.map((c) => c.args[0].input);

/** CompleteLifecycleAction as the handler calls it to release `instance` (of ASG) held by `hook`. */
export const completeInput = (instance = INSTANCE, hook = HOOK) => ({
  AutoScalingGroupName: ASG, LifecycleHookName: hook, InstanceId: instance, LifecycleActionResult: 'CONTINUE',
});
/** ... of the default instance, by the configured hook. */
export const COMPLETE_INPUT = completeInput();

/**
 * The handler over mocked clients, a virtual clock that `sleep` advances (retry backoff), and
 * captured records. It has the event queue (QUEUE_URL and an SQS client), as deployed: an agent
 * not Online sends the event back to the queue (see `lookUntilDone`).
 */
export function harness(opts: { settings?: Partial<HandlerSettings>; random?: () => number } = {}) {
  const ssmClient = new SSMClient({ region: REGION });
  const asgClient = new AutoScalingClient({ region: REGION });
  const sqsClient = new SQSClient({ region: REGION });
  const ssm = mockClient(ssmClient);
  const autoScaling = mockClient(asgClient);
  const sqs = mockClient(sqsClient);
  // SSM lists no command of the document yet: what ListCommands answers to the handler's check for
  // a command already sent (a test that needs a command listed sets its own answer).
  ssm.on(ListCommandsCommand).resolves({ Commands: [] });
  const records: any[] = [];
  const sleeps: number[] = [];
  const clock = { ms: Date.parse('2026-11-20T22:30:01Z') };
  // Every AWS call of either client, in order, with the virtual time it was made at.
  const trail: Array<{ op: string; at: number; input: any }> = [];
  for (const client of [ssmClient, asgClient, sqsClient] as Array<{ send: (...args: any[]) => any }>) {
    const send = client.send;
    client.send = (command: any, ...rest: any[]) => {
      trail.push({ op: command.constructor.name.replace(/Command$/, ''), at: clock.ms, input: command.input });
      return send.call(client, command, ...rest);
    };
  }
  const handler = createRescueHandler({
    ssm: ssmClient,
    autoScaling: asgClient,
    sqs: sqsClient,
    settings: { ...SETTINGS, ...opts.settings },
    log: (r) => records.push(JSON.parse(JSON.stringify(r))),
    now: () => clock.ms,
    // Calls already made answer first (a mocked answer settles within the event loop's turn), as
    // a real round trip of milliseconds would, before the virtual clock moves on by seconds.
    sleep: async (ms) => { await new Promise((resolve) => setImmediate(resolve)); sleeps.push(ms); clock.ms += ms; },
    random: opts.random ?? (() => 0.5),
  });
  return {
    handler, ssm, autoScaling, sqs, records, sleeps, clock, trail,
    metrics: () => records.filter((r) => r._aws),
    logs: () => records.filter((r) => !r._aws),
    awsCalls: () => ssm.calls().length + autoScaling.calls().length + sqs.calls().length,
  };
}

/** The EMF record CloudWatch needs for one metric, exactly. */
export function emf(name: string, unit: 'Count' | 'Seconds', value: number, reason?: string, timestamp?: number) {
  return {
    _aws: {
      Timestamp: timestamp ?? expect.any(Number),
      CloudWatchMetrics: [{
        Namespace: 'LogRescue',
        Dimensions: reason === undefined ? [['Stack']] : [['Stack'], ['Stack', 'Reason']],
        Metrics: [{ Name: name, Unit: unit }],
      }],
    },
    Stack: SETTINGS.stackId,
    ...(reason === undefined ? {} : { Reason: reason }),
    [name]: value,
  };
}

/**
 * DescribeInstanceInformation answered per requested instance: `statusOf(id, poll)` is its ping
 * status on the poll-th call that asks for it (undefined: SSM does not list it). Returns the inputs.
 */
export function answerAgents(h: ReturnType<typeof harness>, statusOf: (id: string, poll: number) => 'Online' | 'ConnectionLost' | 'Inactive' | undefined) {
  const asked = new Map<string, number>();
  h.ssm.on(DescribeInstanceInformationCommand).callsFake((input) => {
    const ids: string[] = input.Filters?.[0]?.Values ?? [];
    return {
      InstanceInformationList: ids.flatMap((id) => {
        const poll = (asked.get(id) ?? 0) + 1;
        asked.set(id, poll);
        const status = statusOf(id, poll);
        return status ? instanceInfo(status, id).InstanceInformationList : [];
      }),
    };
  });
}

/** One record of the SQS batch Lambda hands the handler, as the event source mapping builds it. */
export function sqsRecord(body: string, messageId: string, messageAttributes: Record<string, unknown> = {}) {
  return {
    messageId,
    receiptHandle: `AQEB${Buffer.from(messageId).toString('base64')}Zx9vQ3Lk2mN8pR1sT4uV7wY0zA3cE6gI9jL2nP5qS8tV1xZ4b==`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1795213801000',
      SenderId: 'AIDAIE6VAXUQU2DKHA7DK',
      ApproximateFirstReceiveTimestamp: '1795213801012',
    },
    messageAttributes,
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:logrescue-dev-log-rescue-events`,
    awsRegion: REGION,
  };
}

/**
 * Deliver `events` as one batch, as the event queue would, and again each time the handler sends
 * some of them back to look again: the virtual clock moves on by the messages' DelaySeconds, and
 * the copies come back together, each with its wait clock (the LogRescueWaitStartedAt attribute)
 * as the queue handler reads it. Returns each event's last outcome, how many looks it took, and the
 * DelaySeconds of every message sent back, in order.
 */
export async function lookBatchUntilDone(h: ReturnType<typeof harness>, events: readonly unknown[], maxLooks = 100) {
  const final = new Array<Outcome>(events.length);
  const looks = new Array<number>(events.length).fill(0);
  const delays: number[] = [];
  let pending = events.map((body, index) => ({ index, body, waitStartedAt: undefined as number | undefined }));
  for (let round = 1; pending.length > 0; round++) {
    if (round > maxLooks) throw new Error(`still waiting after ${maxLooks} looks`);
    const sentBefore = h.sqs.commandCalls(SendMessageCommand).length;
    const outcomes = await h.handler.batch(pending.map((p) => p.body), {
      messages: pending.map((p) => ({ messageId: `message-${round}-${p.index}`, ...(p.waitStartedAt === undefined ? {} : { waitStartedAt: p.waitStartedAt }) })),
    });
    const sent = h.sqs.commandCalls(SendMessageCommand).slice(sentBefore).map((c) => c.args[0].input);
    const next: typeof pending = [];
    outcomes.forEach((o, k) => {
      const p = pending[k];
      looks[p.index]++;
      final[p.index] = o;
      if (!o.ok || o.result.action !== 'waiting') return;
      const at = sent.findIndex((m) => m.MessageBody === JSON.stringify(p.body));
      if (at < 0) throw new Error(`event ${p.index} is waiting but was not sent back to the queue`);
      const [m] = sent.splice(at, 1);
      next.push({ index: p.index, body: JSON.parse(m.MessageBody!), waitStartedAt: Number(m.MessageAttributes![WAIT_STARTED_ATTRIBUTE].StringValue) });
      delays.push(m.DelaySeconds!);
    });
    if (sent.length > 0) throw new Error('a message was sent back for an event that is not waiting');
    if (next.length > 0) h.clock.ms += Math.max(...delays.slice(-next.length)) * 1000;
    pending = next;
  }
  return { outcomes: final, looks, delays };
}

/** `lookBatchUntilDone` for one event: its last result (throws if it failed), its looks and delays. */
export async function lookUntilDone(h: ReturnType<typeof harness>, event: unknown, maxLooks = 100) {
  const { outcomes: [outcome], looks: [looks], delays } = await lookBatchUntilDone(h, [event], maxLooks);
  if (!outcome.ok) throw 'error' in outcome ? outcome.error : new Error(`retry later: ${outcome.retryLater}`);
  return { result: outcome.result, looks, delays };
}
