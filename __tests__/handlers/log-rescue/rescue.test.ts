/**
 * Proves what the handler (handlers/log-rescue/rescue.ts) does for one event of each kind, through
 * mocked AWS clients: the AWS calls it makes (inputs, order), the result, the log lines and the
 * metrics. Lifecycle action (send, look again through the queue, release with a reason, heartbeat
 * before a late send), Spot warning, invocation status (release and count), command status (the
 * backstop, retried later while fresh), and the events it ignores or rejects.
 * @lane unit
 */
import {
  DescribeInstanceInformationCommand, InvalidInstanceId, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand, SSMServiceException,
} from '@aws-sdk/client-ssm';
import {
  AutoScalingServiceException, CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand, RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  ASG, COMMAND_ID, DOCUMENT, HELD, HOOK, INSTANCE, LIFECYCLE_PARAMETERS, NOT_MANAGED, OTHER_ASG, SPOT_PARAMETERS,
  asgInstance, asgInstances, commandStatusEvent, emf, harness, instanceId, instanceInfo, invocationEvent, lifecycleEvent, listedCommand,
  listedInvocations, lookUntilDone, noActiveAction, spotEvent, throttling, HOLD, } from './fixtures';

const completeInput = (instance = INSTANCE, hook = HOOK) => ({
  AutoScalingGroupName: ASG, LifecycleHookName: hook, InstanceId: instance, LifecycleActionResult: 'CONTINUE',
});
const COMPLETE_INPUT = completeInput();
const HEARTBEAT_INPUT = { AutoScalingGroupName: ASG, LifecycleHookName: HOOK, InstanceId: INSTANCE };
const DESCRIBE_ASG_INPUT = { InstanceIds: [INSTANCE], MaxRecords: 1 };
const AGENT_INPUT = { Filters: [{ Key: 'InstanceIds', Values: [INSTANCE] }], MaxResults: 50 };
const LIFECYCLE_EVENT_ID = '468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f';
const LIFECYCLE_SEND_INPUT = {
  DocumentName: DOCUMENT,
  InstanceIds: [INSTANCE],
  TimeoutSeconds: 60,
  MaxConcurrency: '100%',
  MaxErrors: '100%',
  Parameters: LIFECYCLE_PARAMETERS,
  Comment: `log rescue (lifecycle) of 1 instance(s), event ${LIFECYCLE_EVENT_ID}`,
};
const inputs = (calls: Array<{ args: [{ input: unknown }] }>) => calls.map((c) => c.args[0].input);

describe('lifecycle action', () => {
  test('online instance: one SendCommand with the rescue parameters, no completion yet', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });

    const result = await h.handler(lifecycleEvent());

    expect(inputs(h.ssm.commandCalls(DescribeInstanceInformationCommand))).toEqual([AGENT_INPUT]);
    // Every instance at once, and one instance's failure never stops the others.
    expect(inputs(h.ssm.commandCalls(SendCommandCommand))).toEqual([LIFECYCLE_SEND_INPUT]);
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(result).toEqual({
      action: 'command-sent', trigger: 'lifecycle', instanceId: INSTANCE, asgName: ASG, commandId: COMMAND_ID,
      eventTime: '20261120T223000Z', commandInstances: 1,
    });
    expect(h.logs()).toEqual([{
      level: 'info', msg: 'rescue command sent', eventId: LIFECYCLE_EVENT_ID, instanceId: INSTANCE, asgName: ASG,
      trigger: 'lifecycle', commandId: COMMAND_ID, eventTime: '20261120T223000Z', commandInstances: 1,
      executionTimeoutSeconds: 600, heartbeat: 'not-needed',
    }]);
    expect(h.metrics()).toEqual([emf('CommandSent', 'Count', 1, undefined, h.clock.ms)]);
    expect(h.sleeps).toEqual([]);
  });

  // SendCommand's Comment is at most 100 characters in the SSM API (SendCommand, Comment,
  // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html; the
  // stored copies of that page searched for this change did not show the constraint, so the number
  // is the handler's own, see docs/aws-limits.md), and an event id may be up to 128 characters here
  // (events.ts), so the handler cuts the comment.
  test('keeps the SendCommand comment within 100 characters whatever the event id', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });

    await h.handler(lifecycleEvent({}, { id: 'e'.repeat(128) }));

    const [sent] = inputs(h.ssm.commandCalls(SendCommandCommand)) as Array<{ Comment: string }>;
    expect(sent.Comment).toMatch(/^log rescue \(lifecycle\) of 1 instance\(s\), event e+$/);
    expect(sent.Comment.length).toBeLessThanOrEqual(100);
  });

  test('agent comes online while waiting: looks again through the queue a few seconds apart, then sends', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand)
      .resolvesOnce(instanceInfo('ConnectionLost'))
      .resolvesOnce(NOT_MANAGED)
      .resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);

    const { result, looks, delays } = await lookUntilDone(h, lifecycleEvent());

    expect(result).toMatchObject({ action: 'command-sent' });
    expect(looks).toBe(3);
    expect(delays).toEqual([5, 5]);
    expect(h.sleeps).toEqual([]);
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    // Not Online on the first look: one look at the group, then no more.
    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([DESCRIBE_ASG_INPUT]);
    expect(h.autoScaling.calls()).toHaveLength(1);
  });

  test('offline for the whole wait: bounded looks again, then completes CONTINUE with reason offline', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('ConnectionLost'));
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    const start = h.clock.ms;

    const { result, looks, delays } = await lookUntilDone(h, lifecycleEvent());

    // ONLINE_WAIT_SECONDS=20: looks at 0, 5, 10, 15, 20 s and not one past the deadline.
    expect(looks).toBe(5);
    expect(h.ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(5);
    expect(delays).toEqual([5, 5, 5, 5]);
    expect(h.sleeps).toEqual([]);
    expect(h.clock.ms - start).toBe(20000);
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([DESCRIBE_ASG_INPUT]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([COMPLETE_INPUT]);
    expect(h.autoScaling.calls()).toHaveLength(2);
    expect(result).toEqual({
      action: 'not-rescued', trigger: 'lifecycle', instanceId: INSTANCE, asgName: ASG, reason: 'offline', completion: 'completed',
    });
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'offline')]);
    expect(h.logs()).toContainEqual(expect.objectContaining({
      level: 'warn', msg: 'logs not rescued; releasing the instance', reason: 'offline', pingStatus: 'ConnectionLost',
      eventId: '468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f', instanceId: INSTANCE, asgName: ASG,
    }));
  });

  test('the wait is bounded by ONLINE_WAIT_SECONDS even when it is not a multiple of the look-again interval', async () => {
    const h = harness({ settings: { onlineWaitSeconds: 7 } });
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Inactive'));
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const { result, delays } = await lookUntilDone(h, lifecycleEvent());

    expect(delays).toEqual([5, 2]);
    expect(result).toMatchObject({ action: 'not-rescued', reason: 'offline' });
  });

  test('not SSM-managed: completes CONTINUE with reason not-managed', async () => {
    const h = harness({ settings: { onlineWaitSeconds: 0 } });
    h.ssm.on(DescribeInstanceInformationCommand).resolves(NOT_MANAGED);
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const result = await h.handler(lifecycleEvent());

    expect(h.ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(1);
    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([DESCRIBE_ASG_INPUT]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([COMPLETE_INPUT]);
    expect(result).toMatchObject({ action: 'not-rescued', reason: 'not-managed', completion: 'completed' });
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'not-managed')]);
  });

  test('SendCommand refused (InvalidInstanceId): no retry, completes CONTINUE with reason send-failed', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).rejects(new InvalidInstanceId({ message: 'Instances not in a valid state', $metadata: { httpStatusCode: 400 } }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const result = await h.handler(lifecycleEvent());

    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([COMPLETE_INPUT]);
    expect(result).toEqual({
      action: 'not-rescued', trigger: 'lifecycle', instanceId: INSTANCE, asgName: ASG, reason: 'send-failed', completion: 'completed',
    });
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'send-failed')]);
    expect(h.logs()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'SendCommand refused', error: 'InvalidInstanceId', instanceId: INSTANCE }));
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  test('a group that is not configured: logged, no AWS call', async () => {
    const h = harness();
    const result = await h.handler(lifecycleEvent({ AutoScalingGroupName: OTHER_ASG }));
    expect(result).toEqual({ action: 'ignored', reason: 'asg-not-configured', instanceId: INSTANCE });
    expect(h.awsCalls()).toBe(0);
    expect(h.logs()).toEqual([expect.objectContaining({ level: 'info', msg: 'event ignored', reason: 'asg-not-configured', asgName: OTHER_ASG })]);
  });

  test('another hook on a configured group: logged, no AWS call', async () => {
    const h = harness();
    const result = await h.handler(lifecycleEvent({ LifecycleHookName: 'drain-connections' }));
    expect(result).toMatchObject({ action: 'ignored', reason: 'hook-not-configured' });
    expect(h.awsCalls()).toBe(0);
  });

  test('a group name with a space, as configured, is handled', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    await h.handler(lifecycleEvent({ AutoScalingGroupName: 'api asg' }));
    expect(h.ssm.commandCalls(SendCommandCommand)[0].args[0].input.Parameters?.asgName).toEqual(['api asg']);
  });

});

describe('lifecycle action for an instance already released (repeated or late delivery): counted once', () => {
  test.each([
    ['Terminating:Proceed', asgInstance('Terminating:Proceed'), instanceInfo('ConnectionLost')],
    ['Terminated', asgInstance('Terminated'), instanceInfo('ConnectionLost')],
    ['Warmed:Terminating:Proceed', asgInstance('Warmed:Terminating:Proceed'), NOT_MANAGED],
    ['not listed (terminated and gone)', { AutoScalingInstances: [] }, NOT_MANAGED],
  ])('%s: ignored as already-released, no online wait, no completion, no metric', async (_state, asgAnswer, agentAnswer) => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(agentAnswer);
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgAnswer);

    const result = await h.handler(lifecycleEvent({}, { time: '2026-11-20T22:45:00Z' }));

    expect(result).toEqual({ action: 'ignored', reason: 'already-released', instanceId: INSTANCE });
    expect(inputs(h.ssm.commandCalls(DescribeInstanceInformationCommand))).toEqual([AGENT_INPUT]);
    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([DESCRIBE_ASG_INPUT]);
    expect(h.ssm.calls()).toHaveLength(1);
    expect(h.autoScaling.calls()).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
    expect(h.metrics()).toEqual([]);
    expect(h.logs()).toEqual([expect.objectContaining({
      level: 'info', msg: 'event ignored', reason: 'already-released', instanceId: INSTANCE, asgName: ASG,
      lifecycleState: (asgAnswer.AutoScalingInstances[0]?.LifecycleState) ?? 'not listed',
    })]);
  });

  test.each(['Terminating:Wait', 'Warmed:Terminating:Wait', 'Terminating', 'InService'])(
    '%s (held, or a stale answer): the normal wait and release', async (state) => {
      const h = harness({ settings: { onlineWaitSeconds: 0 } });
      h.ssm.on(DescribeInstanceInformationCommand).resolves(NOT_MANAGED);
      h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstance(state));
      h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

      const result = await h.handler(lifecycleEvent());

      expect(result).toMatchObject({ action: 'not-rescued', reason: 'not-managed', completion: 'completed' });
      expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([COMPLETE_INPUT]);
      expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'not-managed')]);
    },
  );

  test('the agent Online on the first look: no look at the group (the common path stays one call before SendCommand)', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    await h.handler(lifecycleEvent());
    expect(h.autoScaling.calls()).toHaveLength(0);
  });

  test('two deliveries of one event race through the wait: the second completion finds no action and counts nothing', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('ConnectionLost'));
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);
    h.autoScaling.on(CompleteLifecycleActionCommand).resolvesOnce({}).rejects(noActiveAction());

    // Both looked at the group while the action still held the instance; the first then released it.
    const first = await lookUntilDone(h, lifecycleEvent());
    const second = await lookUntilDone(h, lifecycleEvent());

    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([COMPLETE_INPUT, COMPLETE_INPUT]);
    expect([first.result, second.result]).toEqual([
      { action: 'not-rescued', trigger: 'lifecycle', instanceId: INSTANCE, asgName: ASG, reason: 'offline', completion: 'completed' },
      { action: 'not-rescued', trigger: 'lifecycle', instanceId: INSTANCE, asgName: ASG, reason: 'offline', completion: 'already-completed' },
    ]);
    expect([first.looks, second.looks]).toEqual([5, 5]);
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'offline')]);
    expect(h.logs()).toContainEqual(expect.objectContaining({ level: 'info', msg: 'lifecycle action already completed or expired' }));
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  test('the group answer is throttled: retried like every call', async () => {
    const h = harness({ settings: { onlineWaitSeconds: 0 } });
    h.ssm.on(DescribeInstanceInformationCommand).resolves(NOT_MANAGED);
    h.autoScaling.on(DescribeAutoScalingInstancesCommand)
      .rejectsOnce(new AutoScalingServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }))
      .resolves(asgInstance('Terminated'));
    const result = await h.handler(lifecycleEvent());
    expect(result).toEqual({ action: 'ignored', reason: 'already-released', instanceId: INSTANCE });
    expect(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(2);
    expect(h.logs()).toContainEqual(expect.objectContaining({ msg: 'AWS call throttled; backing off', operation: 'DescribeAutoScalingInstances' }));
  });
});

describe('heartbeat before a late SendCommand', () => {
  /** Records the order of the calls that matter across both clients. */
  function lateHarness(opts: Parameters<typeof harness>[0] = {}) {
    const h = harness(opts);
    const order: string[] = [];
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).callsFake(() => { order.push('SendCommand'); return { Command: { CommandId: COMMAND_ID } }; });
    return { ...h, order };
  }
  const at = (iso: string) => Date.parse(iso);

  test('fresh event (age + execution 600 + 60 <= heartbeat 900): no heartbeat', async () => {
    const h = lateHarness();
    h.clock.ms = at('2026-11-20T22:34:00Z'); // 240 s after the event: 240 + 660 = 900, not past it
    expect(await h.handler(lifecycleEvent())).toMatchObject({ action: 'command-sent' });
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.order).toEqual(['SendCommand']);
  });

  test('late event (241 s old): RecordLifecycleActionHeartbeat first, then SendCommand, logged', async () => {
    const h = lateHarness();
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).callsFake(() => { h.order.push('RecordLifecycleActionHeartbeat'); return {}; });
    h.clock.ms = at('2026-11-20T22:34:01Z');

    const result = await h.handler(lifecycleEvent());

    expect(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand).map((c) => c.args[0].input)).toEqual([HEARTBEAT_INPUT]);
    expect(h.autoScaling.calls()).toHaveLength(1);
    expect(h.order).toEqual(['RecordLifecycleActionHeartbeat', 'SendCommand']);
    expect(result).toEqual({
      action: 'command-sent', trigger: 'lifecycle', instanceId: INSTANCE, asgName: ASG, commandId: COMMAND_ID,
      eventTime: '20261120T223000Z', commandInstances: 1,
    });
    expect(h.logs()).toContainEqual({
      level: 'info', msg: 'lifecycle heartbeat recorded', eventId: '468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f', instanceId: INSTANCE, asgName: ASG,
      elapsedSeconds: 241, executionTimeoutSeconds: 600, heartbeatTimeoutSeconds: 900,
    });
    expect(h.logs()).toContainEqual(expect.objectContaining({ msg: 'rescue command sent', heartbeat: 'recorded' }));
    expect(h.metrics()).toEqual([emf('CommandSent', 'Count', 1)]);
  });

  test('the age is taken when the command is about to go: an online wait can make a fresh event late', async () => {
    const h = lateHarness({ settings: { heartbeatTimeoutSeconds: 670 } }); // room for 10 s
    h.ssm.on(DescribeInstanceInformationCommand).resolvesOnce(NOT_MANAGED).resolvesOnce(NOT_MANAGED).resolvesOnce(NOT_MANAGED)
      .resolves(instanceInfo('Online'));
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).callsFake(() => { h.order.push('RecordLifecycleActionHeartbeat'); return {}; });

    const { result, looks, delays } = await lookUntilDone(h, lifecycleEvent());
    expect(result).toMatchObject({ action: 'command-sent' });
    expect(looks).toBe(4);
    expect(delays).toEqual([5, 5, 5]);
    expect(h.sleeps).toEqual([]);
    expect(h.order).toEqual(['RecordLifecycleActionHeartbeat', 'SendCommand']);
  });

  test('"No active Lifecycle Action found": ignored as already-released, nothing sent, nothing counted', async () => {
    const h = lateHarness();
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveAction());
    h.clock.ms = at('2026-11-20T22:50:00Z');

    const result = await h.handler(lifecycleEvent());

    expect(result).toEqual({ action: 'ignored', reason: 'already-released', instanceId: INSTANCE });
    expect(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand).map((c) => c.args[0].input)).toEqual([HEARTBEAT_INPUT]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    expect(h.order).toEqual([]);
    expect(h.metrics()).toEqual([]);
    expect(h.logs()).toContainEqual(expect.objectContaining({ level: 'info', msg: 'event ignored', reason: 'already-released', by: 'RecordLifecycleActionHeartbeat' }));
  });

  test('throttled: retried with backoff like the other calls', async () => {
    const h = lateHarness();
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand)
      .rejectsOnce(new AutoScalingServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }))
      .resolves({});
    h.clock.ms = at('2026-11-20T22:40:00Z');

    expect(await h.handler(lifecycleEvent())).toMatchObject({ action: 'command-sent' });
    expect(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(2);
    expect(h.sleeps).toEqual([100]);
    expect(h.logs()).toContainEqual(expect.objectContaining({ msg: 'AWS call throttled; backing off', operation: 'RecordLifecycleActionHeartbeat', attempt: 1 }));
  });

  test('refused otherwise (say AccessDenied): logged, and the command is sent anyway rather than later or never', async () => {
    const h = lateHarness();
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(new AutoScalingServiceException({
      name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'User is not authorized to perform: autoscaling:RecordLifecycleActionHeartbeat',
    }));
    h.clock.ms = at('2026-11-20T22:40:00Z');

    expect(await h.handler(lifecycleEvent())).toMatchObject({ action: 'command-sent' });
    expect(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(1);
    expect(h.order).toEqual(['SendCommand']);
    expect(h.logs()).toContainEqual(expect.objectContaining({
      level: 'warn', msg: 'lifecycle heartbeat not recorded; sending the command anyway', error: 'AccessDenied', elapsedSeconds: 600,
    }));
    expect(h.logs()).toContainEqual(expect.objectContaining({ msg: 'rescue command sent', heartbeat: 'not-recorded' }));
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  test('spot warnings have no lifecycle action: never a heartbeat', async () => {
    const h = lateHarness();
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstance('InService'));
    h.clock.ms = at('2026-11-20T23:20:00Z');
    expect(await h.handler(spotEvent())).toMatchObject({ action: 'command-sent', trigger: 'spot' });
    expect(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(0);
  });
});


/** Rescue parameters this stack never sends: [case, parameters, the rejection reason]. */
const FOREIGN_PARAMETERS: Array<[string, Record<string, string[]>, string]> = [
  ['missing parameter', { asgName: [ASG], hookName: [HOOK], eventTime: ['20261120T223000Z'] }, 'detail.parameters.trigger: missing'],
  ['two values', { ...LIFECYCLE_PARAMETERS, asgName: [ASG, OTHER_ASG] }, 'detail.parameters.asgName: not exactly one value'],
  ['unknown trigger', { ...LIFECYCLE_PARAMETERS, trigger: ['manual'] }, 'detail.parameters.trigger: not lifecycle or spot'],
  ['hostile group', { ...LIFECYCLE_PARAMETERS, asgName: ['web-asg; rm -rf /'] }, 'detail.parameters.asgName: not an Auto Scaling group name'],
];

describe('invocation status: one instance of the command finished', () => {
  const TERMINAL = ['Success', 'Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'DeliveryTimedOut', 'ExecutionTimedOut', 'AccessDenied', 'Terminated'];
  // 22:30:02.120 requested, 22:31:12 event.
  const DURATION = 69.88;

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
  const DURATION = 69.88;
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

describe('spot interruption warning', () => {
  test('instance of a configured group: SendCommand with trigger spot and hook "none", no wait', async () => {
    const h = harness();
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [{
        InstanceId: INSTANCE, AutoScalingGroupName: ASG, AvailabilityZone: 'us-east-1a', LifecycleState: 'InService',
        HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false,
      }],
    });
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });

    const result = await h.handler(spotEvent());

    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([DESCRIBE_ASG_INPUT]);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand))).toEqual([{
      DocumentName: DOCUMENT,
      InstanceIds: [INSTANCE],
      TimeoutSeconds: 60,
      MaxConcurrency: '100%',
      MaxErrors: '100%',
      Parameters: SPOT_PARAMETERS,
      Comment: 'log rescue (spot) of 1 instance(s), event 12345678-1234-1234-1234-123456789012',
    }]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    expect(result).toMatchObject({ action: 'command-sent', trigger: 'spot', asgName: ASG });
    expect(h.metrics()).toEqual([emf('CommandSent', 'Count', 1)]);
    expect(h.sleeps).toEqual([]);
  });

  test('instance already held by our termination hook: left to the lifecycle event, nothing sent', async () => {
    const h = harness();
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstance('Terminating:Wait'));
    const result = await h.handler(spotEvent());
    expect(result).toEqual({ action: 'ignored', reason: 'lifecycle-hook-handles-it', instanceId: INSTANCE });
    expect(h.ssm.calls()).toHaveLength(0);
    expect(h.metrics()).toEqual([]);
  });

  test('instance in no group: logged skip, nothing sent', async () => {
    const h = harness();
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    const result = await h.handler(spotEvent());
    expect(result).toEqual({ action: 'ignored', reason: 'not-in-configured-group', instanceId: INSTANCE });
    expect(h.ssm.calls()).toHaveLength(0);
    expect(h.metrics()).toEqual([]);
  });

  test('instance of a group that is not configured: logged skip, nothing sent', async () => {
    const h = harness();
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [{ InstanceId: INSTANCE, AutoScalingGroupName: OTHER_ASG, AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false }],
    });
    const result = await h.handler(spotEvent());
    expect(result).toMatchObject({ action: 'ignored', reason: 'not-in-configured-group' });
    expect(h.ssm.calls()).toHaveLength(0);
  });

  test('agent offline: one check only, counted as not rescued', async () => {
    const h = harness();
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [{ InstanceId: INSTANCE, AutoScalingGroupName: ASG, AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false }],
    });
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('ConnectionLost'));
    const result = await h.handler(spotEvent());
    expect(h.ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(1);
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(h.sleeps).toEqual([]);
    expect(result).toMatchObject({ action: 'not-rescued', trigger: 'spot', reason: 'offline', completion: 'none' });
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'offline')]);
  });
});

describe('duplicates', () => {
  // (SSM normally lists the first command, and the second event sends none: rescue.duplicate-runs.test.ts.
  // Run Command is eventually consistent, so a copy that comes within moments may not see it yet.)
  test('the same lifecycle event twice, the first command not listed yet: the same eventTime, so both runs write the same archive key', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });

    await h.handler(lifecycleEvent());
    h.clock.ms += 3000; // the duplicate arrives later; the key must not depend on the clock
    await h.handler(lifecycleEvent());

    const params = h.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input.Parameters);
    expect(params).toHaveLength(2);
    expect(params[0]).toEqual(params[1]);
    expect(params[0]?.eventTime).toEqual(['20261120T223000Z']);
  });

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
    expect(h.metrics()).toEqual([emf('Rescued', 'Count', 1), emf('RescueDurationSeconds', 'Seconds', 69.88), emf('HoldSeconds', 'Seconds', HOLD)]);
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
    expect(h.metrics()).toEqual([emf('Rescued', 'Count', 1), emf('RescueDurationSeconds', 'Seconds', 69.88), ...(_trigger === 'lifecycle' ? [emf('HoldSeconds', 'Seconds', HOLD)] : [])]);
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
  test('SendCommand throttled twice then accepted: 3 calls, exponential backoff with full jitter', async () => {
    const h = harness({ random: () => 0.5 });
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).rejectsOnce(throttling()).rejectsOnce(throttling()).resolves({ Command: { CommandId: COMMAND_ID } });

    const result = await h.handler(lifecycleEvent());

    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(3);
    // base 200 ms doubling, times the jitter draw of 0.5
    expect(h.sleeps).toEqual([100, 200]);
    expect(result).toMatchObject({ action: 'command-sent' });
    expect(h.logs().filter((l) => l.msg === 'AWS call throttled; backing off')).toEqual([
      expect.objectContaining({ operation: 'SendCommand', attempt: 1, delayMs: 100, error: 'ThrottlingException' }),
      expect.objectContaining({ operation: 'SendCommand', attempt: 2, delayMs: 200, error: 'ThrottlingException' }),
    ]);
  });

  test('throttled to the end: bounded attempts, then throws for Lambda to retry the event, without releasing', async () => {
    const h = harness({ random: () => 1 });
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).rejects(throttling());

    await expect(h.handler(lifecycleEvent())).rejects.toThrow('Rate exceeded');

    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(6);
    expect(h.sleeps).toEqual([200, 400, 800, 1600, 3200]);
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.metrics()).toEqual([]);
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([{
      level: 'error', msg: 'event failed; the queue retries it, then moves it to the dead-letter queue',
      eventId: LIFECYCLE_EVENT_ID, instanceId: INSTANCE, kind: 'lifecycle', operation: 'SendCommand', error: 'ThrottlingException', detail: 'Rate exceeded',
    }]);
  });

  test('an error that is not an AWS answer (a dropped connection, a bug) fails the event rather than releasing the instance', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).rejects(new Error('socket hang up'));
    await expect(h.handler(lifecycleEvent())).rejects.toThrow('socket hang up');
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.metrics()).toEqual([]);
  });

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

describe('malformed and hostile events: logged rejection, zero AWS calls, no throw', () => {
  const big = 'a'.repeat(100 * 1024);
  const cases: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'aws.autoscaling'],
    ['an array', [lifecycleEvent()]],
    ['empty object', {}],
    ['wrong source', lifecycleEvent({}, { source: 'custom.autoscaling' })],
    ['wrong detail-type', lifecycleEvent({}, { 'detail-type': 'EC2 Instance Launch Successful' })],
    ['command status labelled as an invocation (no instance-id)', commandStatusEvent({}, { 'detail-type': 'EC2 Command Invocation Status-change Notification' })],
    ['missing detail', lifecycleEvent({}, { detail: undefined })],
    ['detail is a string', lifecycleEvent({}, { detail: 'x' })],
    ['missing instance id', lifecycleEvent({ EC2InstanceId: undefined })],
    ['instance id is a number', lifecycleEvent({ EC2InstanceId: 1234567890 })],
    ['instance id with shell metacharacters', lifecycleEvent({ EC2InstanceId: 'i-12345678;reboot' })],
    ['instance id with command substitution', lifecycleEvent({ EC2InstanceId: 'i-$(curl evil)' })],
    ['upper-case instance id', lifecycleEvent({ EC2InstanceId: 'i-1234567890ABCDEF0' })],
    ['group name with a newline', lifecycleEvent({ AutoScalingGroupName: 'web-asg\nINFO fake log line' })],
    ['group name with a colon', lifecycleEvent({ AutoScalingGroupName: 'arn:aws:autoscaling' })],
    ['hook name with $', lifecycleEvent({ LifecycleHookName: 'log-rescue$IFS' })],
    ['launching transition', lifecycleEvent({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' })],
    ['100 KB group name', lifecycleEvent({ AutoScalingGroupName: big })],
    ['100 KB metadata', lifecycleEvent({ NotificationMetadata: big })],
    ['100 KB event id', lifecycleEvent({}, { id: big })],
    ['100 KB source', lifecycleEvent({}, { source: big })],
    ['time not ISO', lifecycleEvent({}, { time: 'yesterday' })],
    ['time is an object', lifecycleEvent({}, { time: { $date: 1 } })],
    ['impossible date', lifecycleEvent({}, { time: '2026-13-45T99:99:99Z' })],
    ['resources not an array', lifecycleEvent({}, { resources: 'arn' })],
    ['100k resources', lifecycleEvent({}, { resources: new Array(100000).fill('x') })],
    ['command: 51 instances (SendCommand takes 50)', commandStatusEvent({ instances: Array.from({ length: 51 }, (_, i) => instanceId(i)) })],
    ['command: no instance', commandStatusEvent({ instances: [] })],
    ['command: one good instance ARN, one hostile', commandStatusEvent({}, { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0234567890abcdef0;halt'] })],
    ['command: resource not an instance', commandStatusEvent({}, { resources: ['arn:aws:ec2:us-east-1:123456789012:volume/vol-1234567890abcdef0'] })],
    ['command: hostile instance ARN', commandStatusEvent({}, { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0`id`'] })],
    ['command: parameters not an object', commandStatusEvent({ parameters: ['asgName'] as any })],
    ['command: parameter value not an array', commandStatusEvent({ parameters: { asgName: ASG } })],
    ['command: 100 KB parameter', commandStatusEvent({ parameters: { asgName: [big], hookName: [HOOK], trigger: ['lifecycle'], eventTime: ['20261120T223000Z'] } })],
    ['command: unknown status', commandStatusEvent({ status: 'Exploded' })],
    ['command: status is a number', commandStatusEvent({ status: 1 as any })],
    ['invocation: instance id with command substitution', invocationEvent({ instance: 'i-$(curl evil)' })],
    ['invocation: instance id missing', invocationEvent({}, { detail: { ...invocationEvent().detail, 'instance-id': undefined } })],
    ['invocation: command id not a UUID', invocationEvent({ commandId: '../../etc/passwd' })],
    ['invocation: document name with a space', invocationEvent({ document: 'logrescue rescue' })],
    ['invocation: unknown status', invocationEvent({ status: 'Exploded' })],
    ['invocation: requested time not ISO', invocationEvent({}, { detail: { ...invocationEvent().detail, 'requested-date-time': 'now' } })],
    ['invocation: 100 KB document name', invocationEvent({ document: big })],
    ['spot: unknown action', spotEvent({ 'instance-action': 'reboot' })],
    ['spot: instance id with spaces', spotEvent({ 'instance-id': 'i-12345678 ; halt' })],
  ];

  test.each(cases)('%s', async (_name, event) => {
    const h = harness();
    const result = await h.handler(event);
    expect(result).toEqual({ action: 'rejected', reason: expect.any(String) });
    expect(h.ssm.calls().length + h.autoScaling.calls().length).toBe(0);
    expect(h.metrics()).toEqual([]);
    const logs = h.logs();
    expect(logs).toEqual([expect.objectContaining({ level: 'warn', msg: 'event rejected', reason: (result as { reason: string }).reason })]);
    // A rejected value is never echoed into the logs.
    expect(JSON.stringify(logs).length).toBeLessThan(1000);
  });

  test('rejection reasons name the field', async () => {
    const h = harness();
    expect(await h.handler(lifecycleEvent({ EC2InstanceId: 'i-12345678;reboot' }))).toEqual({ action: 'rejected', reason: 'detail.EC2InstanceId: not an instance id' });
    expect(await h.handler(lifecycleEvent({ AutoScalingGroupName: big }))).toEqual({ action: 'rejected', reason: 'detail.AutoScalingGroupName: length 102400 outside 1..256' });
    expect(await h.handler(lifecycleEvent({}, { source: 'aws.ec2' }))).toEqual({ action: 'rejected', reason: 'source/detail-type: not an event this handler takes' });
    expect(h.logs()[2]).toEqual({ level: 'warn', msg: 'event rejected', reason: 'source/detail-type: not an event this handler takes', eventId: '468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f', source: 'aws.ec2', detailType: 'EC2 Instance-terminate Lifecycle Action' });
  });

  test('a throwing getter is a rejection too', async () => {
    const h = harness();
    const event = lifecycleEvent();
    Object.defineProperty(event.detail, 'EC2InstanceId', { get() { throw new Error('boom'); }, enumerable: true });
    expect(await h.handler(event)).toEqual({ action: 'rejected', reason: 'event: could not be read' });
    expect(h.awsCalls()).toBe(0);
    expect(h.logs()).toEqual([expect.objectContaining({ level: 'warn', msg: 'event rejected', reason: 'event: could not be read' })]);
  });

  test('optional lifecycle fields may be absent (older events)', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    const event = lifecycleEvent();
    delete event.detail.NotificationMetadata;
    delete event.detail.Origin;
    delete event.detail.Destination;
    expect(await h.handler(event)).toMatchObject({ action: 'command-sent' });
  });
});
