/**
 * Proves what the handler does for lifecycle actions and Spot warnings (handlers/log-rescue/send.ts),
 * driven through the handler over mocked AWS clients: the look at the agent, one SendCommand with
 * the rescue parameters, the look again through the event queue while the agent is not Online, the
 * release with a reason (offline, not managed, SendCommand refused), an instance already released,
 * the heartbeat before a late send, a Spot warning's group check, a repeated lifecycle event, and
 * SendCommand's retries when throttled.
 * @lane unit
 */
import { DescribeInstanceInformationCommand, InvalidInstanceId, SendCommandCommand } from '@aws-sdk/client-ssm';
import {
  AutoScalingServiceException, CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand, RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  ASG, COMMAND_ID, COMPLETE_INPUT, DOCUMENT, HELD, HOOK, INSTANCE, LIFECYCLE_EVENT_ID, LIFECYCLE_PARAMETERS, NOT_MANAGED, OTHER_ASG, SPOT_PARAMETERS,
  asgInstance, emf, harness, inputs, instanceInfo, lifecycleEvent, lookUntilDone, noActiveAction, spotEvent, throttling, throttlingAsg,
} from './fixtures';

const HEARTBEAT_INPUT = { AutoScalingGroupName: ASG, LifecycleHookName: HOOK, InstanceId: INSTANCE };
const DESCRIBE_ASG_INPUT = { InstanceIds: [INSTANCE], MaxRecords: 1 };
const AGENT_INPUT = { Filters: [{ Key: 'InstanceIds', Values: [INSTANCE] }], MaxResults: 50 };
const LIFECYCLE_SEND_INPUT = {
  DocumentName: DOCUMENT,
  InstanceIds: [INSTANCE],
  TimeoutSeconds: 60,
  MaxConcurrency: '100%',
  MaxErrors: '100%',
  Parameters: LIFECYCLE_PARAMETERS,
  Comment: `log rescue (lifecycle) of 1 instance(s), event ${LIFECYCLE_EVENT_ID}`,
};

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
      .rejectsOnce(throttlingAsg())
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
      .rejectsOnce(throttlingAsg())
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
});
