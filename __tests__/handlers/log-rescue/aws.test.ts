/**
 * Proves the AWS shell of the log rescue (handlers/log-rescue/aws.ts) over aws-sdk-client-mock
 * clients, without the handler: the calls each read and write makes (inputs, batching by 50,
 * pages), what it remembers per container, how it classifies an answer (SendCommand refused,
 * no active lifecycle action, an exit code SSM will not give, a heartbeat not recorded), that a
 * failed call is tagged with its operation, that retries are logged and no call starts after the
 * invocation's deadline, and that lifecycle writes keep at most 4 in flight (the limiter itself:
 * limiter.test.ts).
 * @lane unit
 */
import {
  DescribeInstanceInformationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand, SSMClient,
} from '@aws-sdk/client-ssm';
import {
  AutoScalingClient, AutoScalingServiceException, CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import {
  allSettledOrThrow, chunks, createAwsShell, groupBy, LIFECYCLE_WRITE_CONCURRENCY, rescueKey, type Context, type RescueTarget,
} from '../../../handlers/log-rescue/aws';
import { DeadlineReached } from '../../../handlers/log-rescue/retry';
import type { RetryPolicy } from '../../../handlers/log-rescue/timing';
import {
  ASG, COMMAND_ID, COMPLETE_INPUT, DOCUMENT, HOOK, INSTANCE, LIFECYCLE_PARAMETERS, QUEUE_URL, REGION, SETTINGS, SPOT_PARAMETERS,
  asgInstances, inputs, instanceId, invalidInstanceId, lifecycleEvent, listedCommand, listedInvocations, noActiveAction, throttling, throttlingAsg,
} from './fixtures';

/** Few, short retries: what a test needs to see them, no more. */
const POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, maxTotalDelayMs: 5000 };
const CTX: Context = { eventId: 'e-1', instanceId: INSTANCE, asgName: ASG };
const T0 = Date.parse('2026-11-20T22:30:00Z');

function shellHarness() {
  const ssmClient = new SSMClient({ region: REGION });
  const asgClient = new AutoScalingClient({ region: REGION });
  const sqsClient = new SQSClient({ region: REGION });
  const lines: Array<{ level: string; msg: string } & Record<string, unknown>> = [];
  const clock = { ms: T0 + 1000 };
  const sleeps: number[] = [];
  const shell = createAwsShell({
    ssm: ssmClient, autoScaling: asgClient, sqs: sqsClient, settings: SETTINGS,
    info: (ctx, msg, extra) => lines.push({ level: 'info', msg, ...ctx, ...extra }),
    warn: (ctx, msg, extra) => lines.push({ level: 'warn', msg, ...ctx, ...extra }),
    now: () => clock.ms,
    sleep: async (ms) => { sleeps.push(ms); clock.ms += ms; },
    random: () => 1,
    policy: POLICY,
  });
  return { shell, ssm: mockClient(ssmClient), autoScaling: mockClient(asgClient), sqs: mockClient(sqsClient), lines, clock, sleeps };
}

const target = (n: number, over: Partial<RescueTarget> = {}): RescueTarget => ({
  eventId: `e-${n}`, instanceId: instanceId(n), asgName: ASG, hookName: HOOK, trigger: 'lifecycle', eventTime: '20261120T223000Z', timeMs: T0, ...over,
});

describe('reads', () => {
  test('groupMembership: one DescribeAutoScalingInstances per 50 instances; each listed instance\'s group and state', async () => {
    const h = shellHarness();
    const ids = Array.from({ length: 51 }, (_, i) => instanceId(i + 1));
    h.autoScaling.on(DescribeAutoScalingInstancesCommand)
      .resolvesOnce(asgInstances({ [ids[0]]: 'Terminating:Wait', [ids[1]]: 'Terminated' }))
      .resolvesOnce({ AutoScalingInstances: [] });

    const found = await h.shell.groupMembership(CTX, ids);

    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([
      { InstanceIds: ids.slice(0, 50), MaxRecords: 50 }, { InstanceIds: [ids[50]], MaxRecords: 1 },
    ]);
    expect([...found]).toEqual([[ids[0], { asgName: ASG, state: 'Terminating:Wait' }], [ids[1], { asgName: ASG, state: 'Terminated' }]]);
  });

  test('agents: DescribeInstanceInformation filtered by the instances, every page; ping status and platform of each listed one', async () => {
    const h = shellHarness();
    const [a, b, c] = [instanceId(1), instanceId(2), instanceId(3)];
    h.ssm.on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: a, PingStatus: 'Online', PlatformType: 'Linux' }], NextToken: 'page-2' })
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: b, PingStatus: 'ConnectionLost', PlatformType: 'Windows' }, { PingStatus: 'Online' }] });

    const { ping, platform } = await h.shell.agents(CTX, [a, b, c]);

    const filter = { Filters: [{ Key: 'InstanceIds', Values: [a, b, c] }], MaxResults: 50 };
    expect(inputs(h.ssm.commandCalls(DescribeInstanceInformationCommand))).toEqual([filter, { ...filter, NextToken: 'page-2' }]);
    expect([...ping]).toEqual([[a, 'Online'], [b, 'ConnectionLost']]);
    expect([...platform]).toEqual([[a, 'Linux'], [b, 'Windows']]);
  });

  test('commandOf: ListCommands by id once per container; a command SSM does not list is not remembered', async () => {
    const h = shellHarness();
    const other = 'f0e1d2c3-b4a5-4968-8776-655443322110';
    h.ssm.on(ListCommandsCommand, { CommandId: COMMAND_ID }).resolves(listedCommand());
    h.ssm.on(ListCommandsCommand, { CommandId: other }).resolvesOnce({ Commands: [] }).resolves(listedCommand({ commandId: other }));

    expect(h.shell.knowsCommand(COMMAND_ID)).toBe(false);
    expect(await h.shell.commandOf(CTX, COMMAND_ID)).toEqual({ documentName: DOCUMENT, parameters: LIFECYCLE_PARAMETERS });
    expect(await h.shell.commandOf(CTX, COMMAND_ID)).toEqual({ documentName: DOCUMENT, parameters: LIFECYCLE_PARAMETERS });
    expect(h.shell.knowsCommand(COMMAND_ID)).toBe(true);
    expect(await h.shell.commandOf(CTX, other)).toBeNull();
    expect(h.shell.knowsCommand(other)).toBe(false);
    expect(await h.shell.commandOf(CTX, other)).toEqual({ documentName: DOCUMENT, parameters: LIFECYCLE_PARAMETERS });
    expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual([{ CommandId: COMMAND_ID }, { CommandId: other }, { CommandId: other }]);
  });

  test('invocationResults: ListCommandInvocations with Details, for one instance or all, every page; each status and its exit codes', async () => {
    const h = shellHarness();
    const [a, b] = [instanceId(1), instanceId(2)];
    h.ssm.on(ListCommandInvocationsCommand)
      .resolvesOnce({ ...listedInvocations([{ instance: a, status: 'Failed', responseCode: 66 }]), NextToken: 'page-2' })
      .resolvesOnce({
        CommandInvocations: [
          { CommandId: COMMAND_ID, InstanceId: b, Status: 'Success', CommandPlugins: [{ Name: 'uploadLogs' }, { Name: 'x', ResponseCode: 0 }] },
          { CommandId: COMMAND_ID, InstanceId: instanceId(3) },
        ],
      })
      .resolves(listedInvocations([{ instance: a, status: 'TimedOut', responseCode: -1 }]));

    const all = await h.shell.invocationResults(CTX, COMMAND_ID);
    const one = await h.shell.invocationResults(CTX, COMMAND_ID, a);

    expect(inputs(h.ssm.commandCalls(ListCommandInvocationsCommand))).toEqual([
      { CommandId: COMMAND_ID, Details: true, MaxResults: 50 },
      { CommandId: COMMAND_ID, Details: true, MaxResults: 50, NextToken: 'page-2' },
      { CommandId: COMMAND_ID, InstanceId: a, Details: true, MaxResults: 50 },
    ]);
    // An invocation without a status says nothing; a plugin without a response code adds none.
    expect([...all]).toEqual([[a, { status: 'Failed', responseCodes: [66] }], [b, { status: 'Success', responseCodes: [0] }]]);
    expect([...one]).toEqual([[a, { status: 'TimedOut', responseCodes: [-1] }]]);
  });

  describe('responseCodesOf: an exit code SSM will not give', () => {
    test('refused for good (AccessDenied): no codes, a warn line, no throw', async () => {
      const h = shellHarness();
      h.ssm.on(ListCommandInvocationsCommand).rejects(new AutoScalingServiceException({
        name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'not authorized to perform: ssm:ListCommandInvocations',
      }));
      expect([...await h.shell.responseCodesOf(CTX, COMMAND_ID, INSTANCE)]).toEqual([]);
      expect(h.ssm.commandCalls(ListCommandInvocationsCommand)).toHaveLength(1);
      expect(h.lines).toEqual([{
        level: 'warn', msg: 'could not read the exit code of a failed command; counting it command-failed', ...CTX,
        commandId: COMMAND_ID, error: 'AccessDeniedException', detail: 'not authorized to perform: ssm:ListCommandInvocations',
      }]);
    });

    test.each<[string, () => Error, number]>([
      ['throttled to the end', throttling, 3],
      ['not an AWS answer', () => new Error('socket hang up'), 1],
    ])('%s: thrown, for the queue to retry the events', async (_case, makeError, calls) => {
      const h = shellHarness();
      h.ssm.on(ListCommandInvocationsCommand).rejects(makeError());
      await expect(h.shell.responseCodesOf(CTX, COMMAND_ID)).rejects.toMatchObject({ logRescueOperation: 'ListCommandInvocations' });
      expect(h.ssm.commandCalls(ListCommandInvocationsCommand)).toHaveLength(calls);
    });
  });

  test('commandsAlreadySent: one listing of the document since the earliest event less a minute, every page; keyed by rescue', async () => {
    const h = shellHarness();
    const [a, b, c] = [instanceId(1), instanceId(2), instanceId(3)];
    const spotCommand = 'c0000000-0000-4000-8000-000000000002';
    h.ssm.on(ListCommandsCommand)
      .resolvesOnce({
        Commands: [
          { ...listedCommand({ instances: [a, b] }).Commands[0], Status: 'InProgress' },
          // Another document's command, and one of ours whose parameters are not a rescue's: not listed.
          { ...listedCommand({ document: 'AWS-RunShellScript', commandId: 'c0000000-0000-4000-8000-000000000009', instances: [c] }).Commands[0] },
          { ...listedCommand({ commandId: 'c0000000-0000-4000-8000-000000000008', parameters: { commands: ['date'] }, instances: [c] }).Commands[0] },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce(listedCommand({ commandId: spotCommand, parameters: SPOT_PARAMETERS, instances: [c] }));

    const found = await h.shell.commandsAlreadySent(CTX, [target(2, { timeMs: T0 + 750 }), target(1, { timeMs: T0 + 30_750 })]);

    const filters = { Filters: [{ key: 'DocumentName', value: DOCUMENT }, { key: 'InvokedAfter', value: '2026-11-20T22:29:00Z' }], MaxResults: 50 };
    expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual([filters, { ...filters, NextToken: 'page-2' }]);
    expect([...found]).toEqual([
      [rescueKey({ instanceId: a, trigger: 'lifecycle', asgName: ASG, hookName: HOOK, eventTime: '20261120T223000Z' }), { commandId: COMMAND_ID, status: 'InProgress' }],
      [rescueKey({ instanceId: b, trigger: 'lifecycle', asgName: ASG, hookName: HOOK, eventTime: '20261120T223000Z' }), { commandId: COMMAND_ID, status: 'InProgress' }],
      [rescueKey({ instanceId: c, trigger: 'spot', asgName: ASG, hookName: 'none', eventTime: '20261120T230540Z' }), { commandId: spotCommand, status: 'Success' }],
    ]);
    // What the listing read is remembered: an invocation status of these commands asks no ListCommands.
    expect([COMMAND_ID, spotCommand, 'c0000000-0000-4000-8000-000000000009'].map((id) => h.shell.knowsCommand(id))).toEqual([true, true, false]);
  });

  test('ourCommandsSince is bounded even when throttled under a deadline: its callers do without it', async () => {
    const h = shellHarness();
    h.shell.setDeadline(h.clock.ms + 60_000);
    h.ssm.on(ListCommandsCommand).rejects(throttling());
    await expect(h.shell.ourCommandsSince(CTX, T0)).rejects.toMatchObject({ name: 'ThrottlingException', logRescueOperation: 'ListCommands' });
    expect(h.ssm.commandCalls(ListCommandsCommand)).toHaveLength(POLICY.maxAttempts);
  });
});

describe('writes', () => {
  test('sendRescue: one SendCommand for the jobs, the first job\'s parameters, every instance at once; its command id', async () => {
    const h = shellHarness();
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    const jobs = [target(1, { trigger: 'spot', hookName: 'none', eventTime: '20261120T230540Z' }), target(2, { trigger: 'spot', hookName: 'none', eventTime: '20261120T230540Z' })];

    expect(await h.shell.sendRescue(CTX, jobs)).toBe(COMMAND_ID);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand))).toEqual([{
      DocumentName: DOCUMENT, InstanceIds: [instanceId(1), instanceId(2)], TimeoutSeconds: 60, MaxConcurrency: '100%', MaxErrors: '100%',
      Parameters: SPOT_PARAMETERS, Comment: 'log rescue (spot) of 2 instance(s), event e-1',
    }]);
  });

  test('sendRescue: the comment cut to SendCommand\'s 100 characters, whatever the event id (up to 128 here)', async () => {
    const h = shellHarness();
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    await h.shell.sendRescue(CTX, [target(1, { eventId: 'e'.repeat(128) })]);
    const [{ Comment }] = inputs(h.ssm.commandCalls(SendCommandCommand)) as Array<{ Comment: string }>;
    expect(Comment).toBe(`log rescue (lifecycle) of 1 instance(s), event ${'e'.repeat(53)}`);
    expect(Comment).toHaveLength(100);
  });

  test('sendRescue: a refusal a retry will not fix is a value, named; anything else is thrown', async () => {
    const h = shellHarness();
    h.ssm.on(SendCommandCommand).rejectsOnce(invalidInstanceId()).rejects(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));

    expect(await h.shell.sendRescue(CTX, [target(1)])).toEqual({ refused: 'InvalidInstanceId' });
    expect(h.lines).toEqual([{ level: 'warn', msg: 'SendCommand refused', ...CTX, error: 'InvalidInstanceId', detail: expect.stringContaining('not in a valid state') }]);
    // A connection error is retried (the policy's attempts), then thrown: the command may not have gone.
    await expect(h.shell.sendRescue(CTX, [target(1)])).rejects.toMatchObject({ code: 'ECONNRESET', logRescueOperation: 'SendCommand' });
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(1 + POLICY.maxAttempts);
  });

  test('complete: CompleteLifecycleAction CONTINUE; "No active Lifecycle Action found" is already-completed; another ValidationError is thrown', async () => {
    const h = shellHarness();
    h.autoScaling.on(CompleteLifecycleActionCommand)
      .resolvesOnce({})
      .rejectsOnce(noActiveAction())
      .rejects(Object.assign(noActiveAction(), { message: 'No Lifecycle Hook found for hook log-rescue' }));

    expect(await h.shell.complete(CTX, ASG, HOOK, INSTANCE)).toBe('completed');
    expect(await h.shell.complete(CTX, ASG, HOOK, INSTANCE)).toBe('already-completed');
    await expect(h.shell.complete(CTX, ASG, HOOK, INSTANCE)).rejects.toMatchObject({
      name: 'ValidationError', message: 'No Lifecycle Hook found for hook log-rescue', logRescueOperation: 'CompleteLifecycleAction',
    });
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT, COMPLETE_INPUT, COMPLETE_INPUT]);
    expect(h.lines).toEqual([
      { level: 'info', msg: 'lifecycle action completed', ...CTX, result: 'CONTINUE' },
      { level: 'info', msg: 'lifecycle action already completed or expired', ...CTX },
    ]);
  });

  test.each<[string, () => Error | undefined, string, object[]]>([
    ['recorded', () => undefined, 'recorded', [{ level: 'info', msg: 'lifecycle heartbeat recorded', ...CTX, elapsedSeconds: 300 }]],
    ['no active action', () => noActiveAction(), 'released', []],
    ['refused (AccessDenied)', () => new AutoScalingServiceException({
      name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'not authorized',
    }), 'not-recorded', [{
      level: 'warn', msg: 'lifecycle heartbeat not recorded; sending the command anyway', ...CTX, elapsedSeconds: 300, error: 'AccessDenied', detail: 'not authorized',
    }]],
  ])('recordHeartbeat, %s', async (_case, makeError, outcome, lines) => {
    const h = shellHarness();
    const err = makeError();
    if (err) h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(err);
    else h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
    expect(await h.shell.recordHeartbeat(CTX, { asgName: ASG, hookName: HOOK, instanceId: INSTANCE }, { elapsedSeconds: 300 })).toBe(outcome);
    expect(inputs(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand))).toEqual([{ AutoScalingGroupName: ASG, LifecycleHookName: HOOK, InstanceId: INSTANCE }]);
    expect(h.lines).toEqual(lines);
  });

  test('under a deadline, a throttled completion is retried until the deadline, a throttled heartbeat only the policy\'s attempts', async () => {
    const h = shellHarness();
    h.shell.setDeadline(h.clock.ms + 10_000);
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(throttlingAsg());
    h.autoScaling.on(CompleteLifecycleActionCommand).rejects(throttlingAsg());

    expect(await h.shell.recordHeartbeat(CTX, { asgName: ASG, hookName: HOOK, instanceId: INSTANCE }, {})).toBe('not-recorded');
    expect(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(3);
    await expect(h.shell.complete(CTX, ASG, HOOK, INSTANCE)).rejects.toMatchObject({ name: 'Throttling' });
    // The heartbeat slept 0.3 s; the completion 100, 200, 400, 800 ms, then 1 s at a time until the
    // next sleep would end past the deadline (at 9.8 s of 10 s, another second would be 10.8 s).
    expect(h.sleeps).toEqual([100, 200, 100, 200, 400, 800, ...new Array(8).fill(1000)]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(13);
    expect(h.lines.filter((l) => l.msg === 'AWS call throttled; backing off').slice(0, 3)).toEqual([
      { level: 'warn', msg: 'AWS call throttled; backing off', ...CTX, operation: 'RecordLifecycleActionHeartbeat', attempt: 1, delayMs: 100, error: 'Throttling' },
      { level: 'warn', msg: 'AWS call throttled; backing off', ...CTX, operation: 'RecordLifecycleActionHeartbeat', attempt: 2, delayMs: 200, error: 'Throttling' },
      { level: 'warn', msg: 'AWS call throttled; backing off', ...CTX, operation: 'CompleteLifecycleAction', attempt: 1, delayMs: 100, error: 'Throttling' },
    ]);
  });

  test('requeue: the event back to the event queue, delayed, with the wait\'s start (whole ms, as a String attribute)', async () => {
    const h = shellHarness();
    h.sqs.on(SendMessageCommand).resolves({ MessageId: 'm-2' });
    const event = lifecycleEvent();
    await h.shell.requeue(CTX, event, 5, T0 + 1000.4);
    expect(inputs(h.sqs.commandCalls(SendMessageCommand))).toEqual([{
      QueueUrl: QUEUE_URL, MessageBody: JSON.stringify(event), DelaySeconds: 5,
      MessageAttributes: { LogRescueWaitStartedAt: { DataType: 'String', StringValue: String(T0 + 1000) } },
    }]);
  });

  test(`lifecycle writes: at most ${LIFECYCLE_WRITE_CONCURRENCY} in flight, the others wait their turn`, async () => {
    const h = shellHarness();
    let inFlight = 0;
    let most = 0;
    const answers: Array<() => void> = [];
    h.autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => {
      most = Math.max(most, ++inFlight);
      return new Promise((resolve) => answers.push(() => { inFlight--; resolve({}); }));
    });
    const ids = Array.from({ length: 10 }, (_, i) => instanceId(i + 1));
    const done = Promise.all(ids.map((id) => h.shell.complete(CTX, ASG, HOOK, id)));
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    await settle();
    expect(inFlight).toBe(4);
    while (answers.length > 0) {
      answers.shift()!();
      await settle();
    }
    expect(await done).toEqual(ids.map(() => 'completed'));
    expect(most).toBe(4);
    // In the order they asked.
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).map((i: any) => i.InstanceId)).toEqual(ids);
  });
});

describe('the invocation\'s deadline', () => {
  test('no call starts after it: DeadlineReached, and the call is not made; cleared, calls go again', async () => {
    const h = shellHarness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    h.shell.setDeadline(h.clock.ms);
    await expect(h.shell.agents(CTX, [INSTANCE])).rejects.toBeInstanceOf(DeadlineReached);
    await expect(h.shell.sendRescue(CTX, [target(1)])).rejects.toMatchObject({ name: 'DeadlineReached', logRescueOperation: 'SendCommand' });
    expect(h.ssm.calls()).toHaveLength(0);
    h.shell.setDeadline(undefined);
    await h.shell.agents(CTX, [INSTANCE]);
    expect(h.ssm.calls()).toHaveLength(1);
  });
});

describe('helpers', () => {
  test('chunks: 50 at a time by default, the last one shorter', () => {
    const items = Array.from({ length: 120 }, (_, i) => i);
    expect(chunks(items).map((c) => [c[0], c.length])).toEqual([[0, 50], [50, 50], [100, 20]]);
    expect(chunks([1, 2, 3], 2)).toEqual([[1, 2], [3]]);
    expect(chunks([])).toEqual([]);
  });

  test('groupBy: groups in the order their first member came', () => {
    expect(groupBy(['b1', 'a1', 'b2', 'c1', 'a2'], (s) => s[0])).toEqual([['b1', 'b2'], ['a1', 'a2'], ['c1']]);
  });

  test('rescueKey: the same rescue only when instance, trigger, group, hook and event time all agree', () => {
    const r = { instanceId: INSTANCE, trigger: 'lifecycle', asgName: ASG, hookName: HOOK, eventTime: '20261120T223000Z' };
    const keys = [r, { ...r, instanceId: instanceId(2) }, { ...r, trigger: 'spot' }, { ...r, asgName: 'api asg' }, { ...r, hookName: 'none' }, { ...r, eventTime: '20261120T223001Z' }]
      .map(rescueKey);
    expect(new Set(keys).size).toBe(6);
    expect(rescueKey({ ...r })).toBe(keys[0]);
  });

  test('allSettledOrThrow: every task settles before the first error (in list order) is thrown', async () => {
    const order: string[] = [];
    const slow = new Promise((resolve) => setImmediate(() => setImmediate(() => { order.push('slow done'); resolve('slow'); })));
    const first = Promise.reject(new Error('first'));
    const second = Promise.reject(new Error('second'));
    await expect(allSettledOrThrow([slow, second, first]).finally(() => order.push('thrown'))).rejects.toThrow('second');
    expect(order).toEqual(['slow done', 'thrown']);
    await expect(allSettledOrThrow([Promise.resolve(1), Promise.resolve(2)])).resolves.toEqual([1, 2]);
  });
});
