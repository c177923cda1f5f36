/**
 * Proves two ways an instance ends "not rescued" that used to count as rescued (handlers/log-rescue/rescue.ts, decisions.ts):
 * - nothing-collected: the script found no file to collect and exited NOTHING_COLLECTED_EXIT_CODE
 *   (its copy ends Failed; the status event does not carry the exit code, ListCommandInvocations
 *   with Details does);
 * - unsupported-platform: the document runs on Linux only (on Windows its step's precondition
 *   skips it and the copy ends Success with nothing uploaded), so such an instance is released at
 *   once, never sent the command.
 *
 * @lane unit
 */
import {
  DescribeInstanceInformationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand, SSMServiceException,
} from '@aws-sdk/client-ssm';
import { CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { NOTHING_COLLECTED_EXIT_CODE } from '../../../config/patterns';
import { notRescuedReasonOf } from '../../../handlers/log-rescue/decisions';
import {
  ASG, COMMAND_ID, INSTANCE, SPOT_PARAMETERS,
  asgInstance, asgInstances, commandStatusEvent, emf, eventId, harness, instanceId, invocationEvent, lifecycleEvent, listedCommand,
  listedInvocations, spotEvent, HOLD, DURATION, completeInput, inputs,
} from './fixtures';


describe('the reason of a finished copy (a pure decision)', () => {
  test.each([
    ['Success', [0], undefined],
    ['Failed', [NOTHING_COLLECTED_EXIT_CODE], 'nothing-collected'],
    ['Failed', [1], 'command-failed'],
    ['Failed', [], 'command-failed'],
    // Only a Failed copy is the script's own verdict; a timeout is a timeout whatever code it left.
    ['TimedOut', [NOTHING_COLLECTED_EXIT_CODE], 'command-timedout'],
    ['Cancelled', [-1], 'command-cancelled'],
  ] as const)('%s with response codes %j: %s', (status, codes, reason) => {
    expect(notRescuedReasonOf(status, codes)).toBe(reason);
  });
});

describe('nothing collected: the script exited 66', () => {
  test('an invocation status Failed with response code 66: NotRescued nothing-collected, completed CONTINUE, never Rescued', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand());
    h.ssm.on(ListCommandInvocationsCommand).resolves(listedInvocations([{ status: 'Failed', responseCode: NOTHING_COLLECTED_EXIT_CODE }]));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const result = await h.handler(invocationEvent({ status: 'Failed' }));

    expect(result).toEqual({
      action: 'command-finished', trigger: 'lifecycle', instanceId: INSTANCE, asgName: ASG, commandId: COMMAND_ID, status: 'Failed',
      rescued: false, reason: 'nothing-collected', completion: 'completed', durationSeconds: DURATION,
    });
    // One read of the command, one read of this copy's exit code.
    expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual([{ CommandId: COMMAND_ID }]);
    expect(inputs(h.ssm.commandCalls(ListCommandInvocationsCommand))).toEqual([{ CommandId: COMMAND_ID, InstanceId: INSTANCE, Details: true, MaxResults: 50 }]);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput()]);
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'nothing-collected'), emf('RescueDurationSeconds', 'Seconds', DURATION), emf('HoldSeconds', 'Seconds', HOLD)]);
    expect(h.logs()).toContainEqual(expect.objectContaining({
      level: 'warn', msg: 'logs not rescued', reason: 'nothing-collected', status: 'Failed', responseCodes: [NOTHING_COLLECTED_EXIT_CODE],
    }));
  });

  test('a storm batch: Failed copies of one command (66, 1, 66) and a Success: one ListCommandInvocations for the command, each counted by its own code', async () => {
    const ids = [1, 2, 3, 4].map(instanceId);
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ instances: ids }));
    h.ssm.on(ListCommandInvocationsCommand).resolves(listedInvocations([
      { instance: ids[0], responseCode: NOTHING_COLLECTED_EXIT_CODE }, { instance: ids[1], responseCode: 1 },
      { instance: ids[2], responseCode: NOTHING_COLLECTED_EXIT_CODE }, { instance: ids[3], status: 'Success' },
    ]));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch(ids.map((id, k) => invocationEvent({ instance: id, status: k === 3 ? 'Success' : 'Failed' }, { id: eventId(k) })));

    expect(outcomes.map((o) => (o.ok && o.result.action === 'command-finished' ? o.result.reason ?? 'rescued' : o))).toEqual([
      'nothing-collected', 'command-failed', 'nothing-collected', 'rescued',
    ]);
    expect(inputs(h.ssm.commandCalls(ListCommandInvocationsCommand))).toEqual([{ CommandId: COMMAND_ID, Details: true, MaxResults: 50 }]);
    expect(h.ssm.calls()).toHaveLength(2);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual(ids.map((id) => completeInput(id)));
    expect(h.metrics().filter((m) => !('RescueDurationSeconds' in m) && !('HoldSeconds' in m))).toEqual([
      emf('NotRescued', 'Count', 1, 'nothing-collected'), emf('NotRescued', 'Count', 1, 'command-failed'),
      emf('NotRescued', 'Count', 1, 'nothing-collected'), emf('Rescued', 'Count', 1),
    ]);
  });

  test('a Spot rescue that found nothing: NotRescued nothing-collected, nothing to complete', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ parameters: SPOT_PARAMETERS }));
    h.ssm.on(ListCommandInvocationsCommand).resolves(listedInvocations([{ responseCode: NOTHING_COLLECTED_EXIT_CODE }]));
    const result = await h.handler(invocationEvent({ status: 'Failed' }));
    expect(result).toMatchObject({ action: 'command-finished', trigger: 'spot', rescued: false, reason: 'nothing-collected', completion: 'none' });
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.metrics()[0]).toEqual(emf('NotRescued', 'Count', 1, 'nothing-collected'));
  });

  test('the backstop (command-level Failed, the instance still held): its copy\'s code 66 counts it nothing-collected', async () => {
    const h = harness();
    h.clock.ms = Date.parse('2026-11-20T22:33:00Z');
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [INSTANCE]: 'Terminating:Wait' }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    h.ssm.on(ListCommandInvocationsCommand).resolves(listedInvocations([{ responseCode: NOTHING_COLLECTED_EXIT_CODE }]));

    const result = await h.handler(commandStatusEvent({ status: 'Failed' }));

    expect(result).toMatchObject({ action: 'backstop', results: [expect.objectContaining({ instanceId: INSTANCE, reason: 'nothing-collected' })] });
    expect(inputs(h.ssm.commandCalls(ListCommandInvocationsCommand))).toEqual([{ CommandId: COMMAND_ID, Details: true, MaxResults: 50 }]);
    expect(h.metrics()[0]).toEqual(emf('NotRescued', 'Count', 1, 'nothing-collected'));
  });

  test('SSM refuses the exit code for good (AccessDenied): counted command-failed, released, with a warning', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand());
    h.ssm.on(ListCommandInvocationsCommand).rejects(new SSMServiceException({
      name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'not authorized',
    }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    expect(await h.handler(invocationEvent({ status: 'Failed' }))).toMatchObject({ rescued: false, reason: 'command-failed', completion: 'completed' });
    expect(h.logs()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'could not read the exit code of a failed command; counting it command-failed' }));
  });

  test('throttled to the deadline: the event fails (the queue retries it) before anything is completed or counted', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves(listedCommand());
    h.ssm.on(ListCommandInvocationsCommand).rejects(new SSMServiceException({
      name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded',
    }));
    const [outcome] = await h.handler.batch([invocationEvent({ status: 'Failed' })], { deadline: h.clock.ms + 30_000 });
    expect(outcome.ok).toBe(false);
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.metrics()).toEqual([]);
  });
});

describe('not Linux: released at once as unsupported-platform', () => {
  const agent = (id: string, PingStatus: 'Online' | 'ConnectionLost', PlatformType: 'Windows' | 'Linux' | 'MacOS') => ({
    InstanceId: id, PingStatus, PlatformType, PlatformName: PlatformType === 'Windows' ? 'Microsoft Windows Server 2022 Datacenter' : 'Amazon Linux',
    AgentVersion: '3.3.1142.0', ResourceType: 'EC2Instance' as const,
  });

  test('a batch of Linux, Windows (online), macOS (agent lost): the Linux one sent, the others completed CONTINUE at once, no wait', async () => {
    const [linux, windows, mac] = [1, 2, 3].map(instanceId);
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [agent(linux, 'Online', 'Linux'), agent(windows, 'Online', 'Windows'), agent(mac, 'ConnectionLost', 'MacOS')],
    });
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch([linux, windows, mac].map((id, k) => lifecycleEvent({ EC2InstanceId: id }, { id: eventId(k) })));

    expect(outcomes.map((o) => o.ok && [o.result.action, 'reason' in o.result ? o.result.reason : undefined])).toEqual([
      ['command-sent', undefined], ['not-rescued', 'unsupported-platform'], ['not-rescued', 'unsupported-platform'],
    ]);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => i.InstanceIds)).toEqual([[linux]]);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(windows), completeInput(mac)]);
    // Not sent back to the queue to wait for the lost agent, and no look at the group.
    expect(h.sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(0);
    expect(h.sleeps).toEqual([]);
    expect(h.metrics().filter((m) => 'NotRescued' in m)).toEqual([
      emf('NotRescued', 'Count', 1, 'unsupported-platform'), emf('NotRescued', 'Count', 1, 'unsupported-platform'),
    ]);
    expect(h.logs()).toContainEqual(expect.objectContaining({
      level: 'warn', msg: 'logs not rescued; releasing the instance', instanceId: windows, reason: 'unsupported-platform', platformType: 'Windows', pingStatus: 'Online',
    }));
  });

  test('a Spot warning for a Windows instance: NotRescued unsupported-platform, no command, nothing to complete', async () => {
    const h = harness();
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstance('InService'));
    h.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [agent(INSTANCE, 'Online', 'Windows')] });
    expect(await h.handler(spotEvent())).toMatchObject({ action: 'not-rescued', trigger: 'spot', reason: 'unsupported-platform', completion: 'none' });
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });

  test('a repeated event for a Windows instance already released: counted once', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [agent(INSTANCE, 'Online', 'Windows')] });
    h.autoScaling.on(CompleteLifecycleActionCommand).resolvesOnce({}).rejects(Object.assign(new Error('No active Lifecycle Action found with instance ID'), {
      name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 },
    }));
    await h.handler(lifecycleEvent());
    expect(await h.handler(lifecycleEvent())).toMatchObject({ action: 'not-rescued', reason: 'unsupported-platform', completion: 'already-completed' });
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'unsupported-platform')]);
  });
});
