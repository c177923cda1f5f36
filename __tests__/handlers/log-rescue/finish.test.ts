/**
 * Proves what the handler does with Run Command's status events (handlers/log-rescue/finish.ts),
 * driven through the handler over mocked AWS clients: an invocation status completes the lifecycle
 * action CONTINUE with the hook the command carried and counts the instance once (Rescued, or
 * NotRescued with its reason; the duration and the hold); a command status is the backstop,
 * deferred through the queue while fresh, releasing only the instances still held; a repeated
 * status counts nothing twice; throttled and server-side failures of its calls are retried.
 * @lane unit
 */
import { ListCommandInvocationsCommand, ListCommandsCommand, SSMServiceException } from '@aws-sdk/client-ssm';
import { CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  ASG, COMMAND_ID, COMPLETE_INPUT, DURATION, HELD, HOLD, HOOK, INSTANCE, LIFECYCLE_PARAMETERS, OTHER_ASG, SPOT_PARAMETERS,
  asgInstances, commandStatusEvent, completeInput, emf, harness, inputs, instanceId, invocationEvent, listedCommand, listedInvocations,
  noActiveAction, throttling,
} from './fixtures';

/** Rescue parameters this stack never sends: [case, parameters, the rejection reason]. */
const FOREIGN_PARAMETERS: Array<[string, Record<string, string[]>, string]> = [
  ['missing parameter', { asgName: [ASG], hookName: [HOOK], eventTime: ['20261120T223000Z'] }, 'detail.parameters.trigger: missing'],
  ['two values', { ...LIFECYCLE_PARAMETERS, asgName: [ASG, OTHER_ASG] }, 'detail.parameters.asgName: not exactly one value'],
  ['unknown trigger', { ...LIFECYCLE_PARAMETERS, trigger: ['manual'] }, 'detail.parameters.trigger: not lifecycle or spot'],
  ['hostile group', { ...LIFECYCLE_PARAMETERS, asgName: ['web-asg; rm -rf /'] }, 'detail.parameters.asgName: not an Auto Scaling group name'],
];

describe('invocation status: one instance of the command finished', () => {
  const TERMINAL = ['Success', 'Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'DeliveryTimedOut', 'ExecutionTimedOut', 'AccessDenied', 'Terminated'];

  test.each(TERMINAL)('%s: reads the command once, completes the lifecycle action CONTINUE and records the outcome', async (status) => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand());
    h.ssm.on(ListCommandInvocationsCommand).resolves(listedInvocations([{ status, responseCode: 1 }]));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const result = await h.handler(invocationEvent({ status }));

    expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual([{ CommandId: COMMAND_ID }]);
    // Only a Failed copy may be the script's "nothing collected": only then is its exit code read.
    const failed = status === 'Failed';
    expect(inputs(h.ssm.commandCalls(ListCommandInvocationsCommand))).toEqual(
      failed ? [{ CommandId: COMMAND_ID, InstanceId: INSTANCE, Details: true, MaxResults: 50 }] : [],
    );
    expect(h.ssm.calls()).toHaveLength(failed ? 2 : 1);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT]);
    expect(h.autoScaling.calls()).toHaveLength(1);
    const rescued = status === 'Success';
    const reason = `command-${status.toLowerCase()}`;
    expect(result).toEqual({
      action: 'command-finished', trigger: 'lifecycle', instanceId: INSTANCE, asgName: ASG, commandId: COMMAND_ID, status,
      rescued, ...(rescued ? {} : { reason }), completion: 'completed', durationSeconds: DURATION,
    });
    expect(h.metrics()).toEqual([
      rescued ? emf('Rescued', 'Count', 1) : emf('NotRescued', 'Count', 1, reason),
      emf('RescueDurationSeconds', 'Seconds', DURATION), emf('HoldSeconds', 'Seconds', HOLD),
    ]);
    expect(h.logs()).toContainEqual({
      level: rescued ? 'info' : 'warn', msg: rescued ? 'logs rescued' : 'logs not rescued',
      eventId: '7f3c2a1e-5b9d-4c8e-a2f1-0e6d4b3c2a19', instanceId: INSTANCE, asgName: ASG,
      trigger: 'lifecycle', commandId: COMMAND_ID, status, ...(rescued ? {} : { reason }), durationSeconds: DURATION, completion: 'completed',
      ...(failed ? { responseCodes: [1] } : {}),
    });
  });

  test.each(['Pending', 'InProgress', 'Delayed', 'Cancelling'])('%s (not terminal): ignored, no AWS call', async (status) => {
    const h = harness();
    const result = await h.handler(invocationEvent({ status }));
    expect(result).toEqual({ action: 'ignored', reason: 'not-terminal', instanceId: INSTANCE });
    expect(h.awsCalls()).toBe(0);
    expect(h.metrics()).toEqual([]);
  });

  test('another document: ignored, no AWS call', async () => {
    const h = harness();
    const result = await h.handler(invocationEvent({ document: 'AWS-RunShellScript' }));
    expect(result).toEqual({ action: 'ignored', reason: 'other-document', instanceId: INSTANCE });
    expect(h.awsCalls()).toBe(0);
  });

  test('a command SSM no longer lists: ignored as unknown-command, nothing completed or counted', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves({ Commands: [] });
    const result = await h.handler(invocationEvent());
    expect(result).toEqual({ action: 'ignored', reason: 'unknown-command', instanceId: INSTANCE });
    expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual([{ CommandId: COMMAND_ID }]);
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.metrics()).toEqual([]);
    expect(h.logs()).toEqual([{
      level: 'info', msg: 'event ignored', reason: 'unknown-command', commandId: COMMAND_ID,
      eventId: '7f3c2a1e-5b9d-4c8e-a2f1-0e6d4b3c2a19', instanceId: INSTANCE,
    }]);
  });

  test('a group that is not configured (from the command parameters): ignored, nothing completed', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ parameters: { ...LIFECYCLE_PARAMETERS, asgName: [OTHER_ASG] } }));
    const result = await h.handler(invocationEvent());
    expect(result).toEqual({ action: 'ignored', reason: 'asg-not-configured', instanceId: INSTANCE });
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.metrics()).toEqual([]);
  });

  test('completes with the hook name the command carried', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ parameters: { ...LIFECYCLE_PARAMETERS, hookName: ['old-hook'] } }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    await h.handler(invocationEvent());
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(INSTANCE, 'old-hook')]);
  });

  test('spot trigger: metrics only, no completion', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ parameters: SPOT_PARAMETERS }));
    h.ssm.on(ListCommandInvocationsCommand).resolves(listedInvocations([{ status: 'Failed' }]));
    const result = await h.handler(invocationEvent({ status: 'Failed' }));
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(result).toMatchObject({ action: 'command-finished', trigger: 'spot', rescued: false, reason: 'command-failed', completion: 'none' });
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'command-failed'), emf('RescueDurationSeconds', 'Seconds', DURATION)]);
  });

  test.each(FOREIGN_PARAMETERS)('listed parameters that are not ours (%s): rejected, nothing completed', async (_name, parameters, reason) => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ parameters }));
    const result = await h.handler(invocationEvent());
    expect(result).toEqual({ action: 'rejected', reason });
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.metrics()).toEqual([]);
  });

  test('two instances of one command, one event each: one ListCommands (cached per handler), two completions, Rescued twice', async () => {
    const [a, b] = [instanceId(1), instanceId(2)];
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ instances: [a, b] }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const first = await h.handler(invocationEvent({ instance: a }, { id: 'a0000000-0000-4000-8000-000000000001' }));
    const second = await h.handler(invocationEvent({ instance: b }, { id: 'a0000000-0000-4000-8000-000000000002' }));

    expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual([{ CommandId: COMMAND_ID }]);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(a), completeInput(b)]);
    expect([first, second]).toEqual([
      expect.objectContaining({ action: 'command-finished', instanceId: a, rescued: true, completion: 'completed' }),
      expect.objectContaining({ action: 'command-finished', instanceId: b, rescued: true, completion: 'completed' }),
    ]);
    expect(h.metrics().filter((m) => 'Rescued' in m)).toEqual([emf('Rescued', 'Count', 1), emf('Rescued', 'Count', 1)]);
  });

  test('the same two in one batch: still one ListCommands', async () => {
    const [a, b] = [instanceId(1), instanceId(2)];
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ instances: [a, b] }));
    h.ssm.on(ListCommandInvocationsCommand).resolves(listedInvocations([{ instance: b, status: 'Failed' }]));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch([
      invocationEvent({ instance: a }, { id: 'a0000000-0000-4000-8000-000000000001' }),
      invocationEvent({ instance: b, status: 'Failed' }, { id: 'a0000000-0000-4000-8000-000000000002' }),
    ]);

    expect(h.ssm.commandCalls(ListCommandsCommand)).toHaveLength(1);
    expect(inputs(h.ssm.commandCalls(ListCommandInvocationsCommand))).toEqual([{ CommandId: COMMAND_ID, InstanceId: b, Details: true, MaxResults: 50 }]);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(a), completeInput(b)]);
    expect(outcomes).toEqual([
      { ok: true, result: expect.objectContaining({ instanceId: a, rescued: true }) },
      { ok: true, result: expect.objectContaining({ instanceId: b, rescued: false, reason: 'command-failed', status: 'Failed' }) },
    ]);
    expect(h.metrics().filter((m) => !('RescueDurationSeconds' in m) && !('HoldSeconds' in m))).toEqual([emf('Rescued', 'Count', 1), emf('NotRescued', 'Count', 1, 'command-failed')]);
  });

  test('a command SSM did not list is not remembered: it may show up a moment later, and the next invocation asks again', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolvesOnce({ Commands: [] }).resolves(listedCommand());
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    expect(await h.handler(invocationEvent({ instance: instanceId(1) }))).toEqual({ action: 'ignored', reason: 'unknown-command', instanceId: instanceId(1) });
    expect(await h.handler(invocationEvent({ instance: instanceId(2) }))).toMatchObject({ action: 'command-finished', instanceId: instanceId(2) });
    expect(h.ssm.commandCalls(ListCommandsCommand)).toHaveLength(2);
  });

  test('each handler (container) reads a command for itself', async () => {
    const one = harness();
    const two = harness();
    for (const h of [one, two]) {
      h.ssm.on(ListCommandsCommand).resolves(listedCommand());
      h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
      await h.handler(invocationEvent());
      expect(h.ssm.commandCalls(ListCommandsCommand)).toHaveLength(1);
    }
  });
});

describe('command status: the backstop for invocations that never reported', () => {
  const [A, B, C] = [instanceId(0xa), instanceId(0xb), instanceId(0xc)];
  /** The second receive: one visibility timeout (130 s) after the event. */
  const later = <T extends { clock: { ms: number } }>(h: T): T => {
    h.clock.ms = Date.parse(commandStatusEvent().time) + 130_000;
    return h;
  };

  test('a fresh command status is deferred through the queue: its outcome is retry-later, not an error (logged at info), no AWS call', async () => {
    const h = harness();
    const outcomes = await h.handler.batch([commandStatusEvent({ instances: [A, B, C] })]);
    expect(outcomes).toEqual([{ ok: false, retryLater: 'command status -71 s old; the backstop acts from 60 s' }]);
    expect(h.awsCalls()).toBe(0);
    expect(h.metrics()).toEqual([]);
    expect(h.logs()).toEqual([expect.objectContaining({
      level: 'info', msg: 'event deferred; the queue delivers it again after its visibility timeout', eventId: '51c0891d-0e34-45b1-b70c-2d4bb9f1a3e8',
    })]);
    // Still fresh 59 s after the event; acted on from 60 s.
    h.clock.ms = Date.parse(commandStatusEvent().time) + 59_000;
    expect(await h.handler.batch([commandStatusEvent()])).toEqual([{ ok: false, retryLater: 'command status 59 s old; the backstop acts from 60 s' }]);
    // Handed one event by hand (not through the queue), the handler fails the invocation instead.
    await expect(h.handler(commandStatusEvent())).rejects.toMatchObject({ name: 'Deferred', message: 'command status 59 s old; the backstop acts from 60 s' });
    h.clock.ms += 1000;
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [INSTANCE]: 'Terminated' }));
    expect(await h.handler.batch([commandStatusEvent()])).toEqual([{ ok: true, result: { action: 'ignored', reason: 'already-counted', instanceId: INSTANCE } }]);
  });

  test('Success with one instance still held (its own status was dead-lettered): completed and counted Rescued, no ListCommandInvocations', async () => {
    const h = later(harness());
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [A]: 'Terminated', [B]: 'Terminating:Wait' }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    const result = await h.handler(commandStatusEvent({ instances: [A, B, C] }));
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(B)]);
    expect(h.ssm.calls()).toHaveLength(0);
    expect(result).toMatchObject({ action: 'backstop', status: 'Success', results: [expect.objectContaining({ instanceId: B, rescued: true })] });
    expect(h.metrics()).toEqual([emf('Rescued', 'Count', 1), emf('RescueDurationSeconds', 'Seconds', DURATION), emf('HoldSeconds', 'Seconds', HOLD)]);
  });

  test('Failed, every instance already released: one DescribeAutoScalingInstances, no ListCommandInvocations, no completion', async () => {
    const h = later(harness());
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [A]: 'Terminating:Proceed', [B]: 'Terminated' }));

    const result = await h.handler(commandStatusEvent({ status: 'Failed', instances: [A, B, C] }));

    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([{ InstanceIds: [A, B, C], MaxRecords: 3 }]);
    expect(h.autoScaling.calls()).toHaveLength(1);
    expect(h.ssm.calls()).toHaveLength(0);
    expect(result).toEqual({ action: 'ignored', reason: 'already-counted' });
    expect(h.metrics()).toEqual([]);
    expect(h.logs()).toEqual([{
      level: 'info', msg: 'event ignored', reason: 'already-counted', commandId: COMMAND_ID, status: 'Failed',
      eventId: '51c0891d-0e34-45b1-b70c-2d4bb9f1a3e8', instances: 3, asgName: ASG,
    }]);
  });

  test('Failed with one instance still held: ListCommandInvocations, and that instance counted with its own invocation status', async () => {
    const h = later(harness());
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [A]: 'Terminated', [B]: 'Warmed:Terminating:Wait', [C]: 'Terminating:Proceed' }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    // The held instance's own copy succeeded (its status event was lost); another copy failed the command.
    h.ssm.on(ListCommandInvocationsCommand)
      .resolvesOnce({ CommandInvocations: [{ CommandId: COMMAND_ID, InstanceId: A, Status: 'Failed' }], NextToken: 'page-2' })
      .resolves({ CommandInvocations: [{ CommandId: COMMAND_ID, InstanceId: B, Status: 'Success' }, { CommandId: COMMAND_ID, InstanceId: C, Status: 'Success' }] });

    const result = await h.handler(commandStatusEvent({ status: 'Failed', instances: [A, B, C] }));

    expect(inputs(h.ssm.commandCalls(ListCommandInvocationsCommand))).toEqual([
      { CommandId: COMMAND_ID, Details: true, MaxResults: 50 },
      { CommandId: COMMAND_ID, Details: true, MaxResults: 50, NextToken: 'page-2' },
    ]);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(B)]);
    expect(result).toEqual({
      action: 'backstop', commandId: COMMAND_ID, status: 'Failed', results: [{
        action: 'command-finished', trigger: 'lifecycle', instanceId: B, asgName: ASG, commandId: COMMAND_ID, status: 'Success',
        rescued: true, completion: 'completed', durationSeconds: DURATION,
      }],
    });
    expect(h.metrics()).toEqual([emf('Rescued', 'Count', 1), emf('RescueDurationSeconds', 'Seconds', DURATION), emf('HoldSeconds', 'Seconds', HOLD)]);
    expect(h.logs()).toContainEqual(expect.objectContaining({
      level: 'warn', msg: 'command finished with instances still held; releasing them', commandId: COMMAND_ID, status: 'Failed', held: 1,
    }));
  });

  test('a held instance whose invocation SSM does not list is counted with the command status', async () => {
    const h = later(harness());
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [A]: 'Terminating:Wait' }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    h.ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    const result = await h.handler(commandStatusEvent({ status: 'TimedOut', instances: [A] }));
    expect(result).toMatchObject({ action: 'backstop', results: [expect.objectContaining({ instanceId: A, status: 'TimedOut', reason: 'command-timedout' })] });
    expect(h.metrics()[0]).toEqual(emf('NotRescued', 'Count', 1, 'command-timedout'));
  });

  test('the invocation status released it between the look and the completion: already-counted, nothing counted twice', async () => {
    const h = later(harness());
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);
    h.ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ CommandId: COMMAND_ID, InstanceId: INSTANCE, Status: 'Failed' }] });
    h.autoScaling.on(CompleteLifecycleActionCommand).rejects(noActiveAction());
    const result = await h.handler(commandStatusEvent({ status: 'Failed' }));
    expect(result).toEqual({
      action: 'backstop', commandId: COMMAND_ID, status: 'Failed', results: [{ action: 'ignored', reason: 'already-counted', instanceId: INSTANCE }],
    });
    expect(h.metrics()).toEqual([]);
  });

  test('Spot trigger: ignored as counted-per-invocation, no AWS call', async () => {
    const h = harness();
    const result = await h.handler(commandStatusEvent({ status: 'Failed', parameters: SPOT_PARAMETERS }));
    expect(result).toEqual({ action: 'ignored', reason: 'counted-per-invocation', instanceId: INSTANCE });
    expect(h.awsCalls()).toBe(0);
    expect(h.metrics()).toEqual([]);
  });

  test.each(['Pending', 'InProgress', 'Delayed', 'Cancelling'])('%s (not terminal): ignored, no AWS call', async (status) => {
    const h = harness();
    const result = await h.handler(commandStatusEvent({ status }));
    expect(result).toEqual({ action: 'ignored', reason: 'not-terminal', instanceId: INSTANCE });
    expect(h.awsCalls()).toBe(0);
  });

  test('another document: ignored, no AWS call', async () => {
    const h = harness();
    const result = await h.handler(commandStatusEvent({ document: 'AWS-RunShellScript', parameters: { commands: ['date'] } }));
    expect(result).toMatchObject({ action: 'ignored', reason: 'other-document' });
    expect(h.awsCalls()).toBe(0);
  });

  test('a group that is not configured: ignored, no AWS call', async () => {
    const h = harness();
    const result = await h.handler(commandStatusEvent({ parameters: { ...LIFECYCLE_PARAMETERS, asgName: [OTHER_ASG] } }));
    expect(result).toMatchObject({ action: 'ignored', reason: 'asg-not-configured' });
    expect(h.awsCalls()).toBe(0);
  });

  test.each(FOREIGN_PARAMETERS)('rescue parameters that are not ours (%s): rejected, no AWS call', async (_name, parameters, reason) => {
    const h = harness();
    const result = await h.handler(commandStatusEvent({ parameters }));
    expect(result).toEqual({ action: 'rejected', reason });
    expect(h.awsCalls()).toBe(0);
    expect(h.logs()).toEqual([expect.objectContaining({ level: 'warn', msg: 'event rejected', reason })]);
  });
});

describe('duplicates', () => {
  test('the same invocation status twice: the second completion finds no active action, is fine, and counts nothing', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand());
    h.autoScaling.on(CompleteLifecycleActionCommand).resolvesOnce({}).rejects(noActiveAction());

    const first = await h.handler(invocationEvent());
    const second = await h.handler(invocationEvent());

    expect(first).toMatchObject({ action: 'command-finished', rescued: true, completion: 'completed' });
    expect(second).toEqual({ action: 'ignored', reason: 'already-counted', instanceId: INSTANCE });
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT, COMPLETE_INPUT]);
    // The command's parameters are read once.
    expect(h.ssm.calls()).toHaveLength(1);
    // One instance, one Rescued and one duration.
    expect(h.metrics()).toEqual([emf('Rescued', 'Count', 1), emf('RescueDurationSeconds', 'Seconds', DURATION), emf('HoldSeconds', 'Seconds', HOLD)]);
    expect(h.logs()).toContainEqual(expect.objectContaining({ level: 'info', msg: 'lifecycle action already completed or expired' }));
    expect(h.logs()).toContainEqual(expect.objectContaining({
      level: 'info', msg: 'event ignored', reason: 'already-counted', commandId: COMMAND_ID, status: 'Success', trigger: 'lifecycle', asgName: ASG,
    }));
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  test.each([['lifecycle', LIFECYCLE_PARAMETERS], ['spot', SPOT_PARAMETERS]])(
    'the same %s invocation status twice in one batch: one counts, the other is duplicate-in-batch', async (_trigger, parameters) => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ parameters }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch([invocationEvent(), invocationEvent()]);

    expect(outcomes.map((o) => o.ok && o.result.action)).toEqual(['command-finished', 'ignored']);
    expect(outcomes[1]).toEqual({ ok: true, result: { action: 'ignored', reason: 'duplicate-in-batch', instanceId: INSTANCE } });
    expect(h.ssm.commandCalls(ListCommandsCommand)).toHaveLength(1);
    expect(h.metrics()).toEqual([emf('Rescued', 'Count', 1), emf('RescueDurationSeconds', 'Seconds', DURATION), ...(_trigger === 'lifecycle' ? [emf('HoldSeconds', 'Seconds', HOLD)] : [])]);
  });

  test('a Spot command and a lifecycle command on one instance, in one batch: two rescues, not a duplicate; the lifecycle one completes the action', async () => {
    const h = harness();
    const spot = 'c0000000-0000-4000-8000-00000000000a';
    h.ssm.on(ListCommandsCommand, { CommandId: spot }).resolves(listedCommand({ commandId: spot, parameters: SPOT_PARAMETERS }));
    h.ssm.on(ListCommandsCommand, { CommandId: COMMAND_ID }).resolves(listedCommand());
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch([
      invocationEvent({ commandId: spot }, { id: 'a0000000-0000-4000-8000-000000000001' }),
      invocationEvent({}, { id: 'a0000000-0000-4000-8000-000000000002' }),
    ]);

    expect(outcomes).toEqual([
      { ok: true, result: expect.objectContaining({ action: 'command-finished', trigger: 'spot', commandId: spot, rescued: true, completion: 'none' }) },
      { ok: true, result: expect.objectContaining({ action: 'command-finished', trigger: 'lifecycle', commandId: COMMAND_ID, rescued: true, completion: 'completed' }) },
    ]);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT]);
  });

  test.each(['Success', 'Failed', 'TimedOut'])(
    'the %s status of a second command (sent for a repeated lifecycle event) after the first released the instance: no Rescued/NotRescued',
    async (status) => {
      const h = harness();
      const second = 'f0e1d2c3-b4a5-4968-8776-655443322110';
      h.ssm.on(ListCommandsCommand).resolves(listedCommand({ commandId: second }));
      h.ssm.on(ListCommandInvocationsCommand).resolves(listedInvocations([{ status }], { commandId: second }));
      h.autoScaling.on(CompleteLifecycleActionCommand).rejects(noActiveAction());
      const result = await h.handler(invocationEvent({ status, commandId: second }, { id: '0d4b3f0e-96a2-4c51-9d37-7f2c1b8e6a10' }));
      expect(result).toEqual({ action: 'ignored', reason: 'already-counted', instanceId: INSTANCE });
      expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual([{ CommandId: second }]);
      expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT]);
      expect(h.metrics()).toEqual([]);
    },
  );

  test('another ValidationError on completion is not swallowed', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand());
    h.autoScaling.on(CompleteLifecycleActionCommand).rejects(Object.assign(noActiveAction(), { message: 'No Lifecycle Hook found' }));
    await expect(h.handler(invocationEvent())).rejects.toThrow('No Lifecycle Hook found');
    expect(h.metrics()).toEqual([]);
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([{
      level: 'error', msg: 'event failed; the queue retries it, then moves it to the dead-letter queue',
      eventId: '7f3c2a1e-5b9d-4c8e-a2f1-0e6d4b3c2a19', instanceId: INSTANCE, kind: 'command-invocation', operation: 'CompleteLifecycleAction',
      error: 'ValidationError', detail: 'No Lifecycle Hook found',
    }]);
  });
});

describe('throttling', () => {
  test('ListCommands throttled: retried, then the instance is released', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).rejectsOnce(throttling()).resolves(listedCommand());
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    expect(await h.handler(invocationEvent())).toMatchObject({ action: 'command-finished', completion: 'completed' });
    expect(h.ssm.commandCalls(ListCommandsCommand)).toHaveLength(2);
    expect(h.sleeps).toEqual([100]);
    expect(h.logs()).toContainEqual(expect.objectContaining({ msg: 'AWS call throttled; backing off', operation: 'ListCommands', attempt: 1 }));
  });

  test('server errors (5xx) are retried like throttling', async () => {
    const h = harness();
    h.autoScaling.on(CompleteLifecycleActionCommand)
      .rejectsOnce(new SSMServiceException({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'oops' }))
      .rejectsOnce(new SSMServiceException({ name: 'Unknown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'oops' }))
      .resolves({});
    h.ssm.on(ListCommandsCommand).resolves(listedCommand());
    const result = await h.handler(invocationEvent());
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(3);
    expect(result).toMatchObject({ completion: 'completed' });
  });

  test('TooManyUpdates on completion is retried', async () => {
    const h = harness();
    h.autoScaling.on(CompleteLifecycleActionCommand)
      .rejectsOnce(new SSMServiceException({ name: 'TooManyUpdates', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'busy' }))
      .resolves({});
    h.ssm.on(ListCommandsCommand).resolves(listedCommand());
    await h.handler(invocationEvent());
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(2);
  });
});
