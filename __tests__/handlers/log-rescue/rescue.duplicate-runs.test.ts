/**
 * Proves the handler (handlers/log-rescue/rescue.ts) never runs the rescue twice on an instance. Duplicate runs: EventBridge delivers at least once, and the event queue redelivers a message
 * whose batch failed (or ran past its visibility timeout) after its SendCommand went through. A
 * second command would run the rescue twice on the instance, concurrently. The handler asks SSM
 * once per batch for the commands of its document already sent for the batch's rescues, and sends
 * none for an instance that has one; that command's status events release and count it.
 *
 * @lane unit
 */
import {
  DescribeInstanceInformationCommand, ListCommandsCommand, SendCommandCommand, SSMServiceException,
  type Command, type ListCommandsCommandInput, type SendCommandCommandInput,
} from '@aws-sdk/client-ssm';
import { CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { createQueueHandler } from '../../../handlers/log-rescue/queue';
import {
  ASG, COMMAND_ID, DOCUMENT, INSTANCE, LIFECYCLE_PARAMETERS, SPOT_PARAMETERS,
  answerAgents, asgInstance, emf, eventId, harness, instanceId, invocationEvent, lifecycleEvent, noActiveAction, spotEvent, sqsRecord, HOLD,
  DURATION, LIFECYCLE_EVENT_ID, completeInput, inputs,
} from './fixtures';

const json = (event: unknown) => JSON.stringify(event);

/**
 * SSM as the handler sees it across deliveries: SendCommand creates a command (Pending until told
 * otherwise), ListCommands lists them as SSM does, by CommandId, or filtered by DocumentName and
 * InvokedAfter, 50 a page at most.
 */
function ssmWithMemory(h: ReturnType<typeof harness>) {
  const commands: Command[] = [];
  let n = 0;
  h.ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
    const command: Command = {
      CommandId: n++ === 0 ? COMMAND_ID : `c0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
      DocumentName: input.DocumentName, Parameters: input.Parameters, InstanceIds: input.InstanceIds, Targets: [],
      RequestedDateTime: new Date(h.clock.ms), Status: 'Pending', MaxConcurrency: input.MaxConcurrency, MaxErrors: input.MaxErrors,
      TimeoutSeconds: input.TimeoutSeconds, TargetCount: input.InstanceIds?.length ?? 0, CompletedCount: 0, ErrorCount: 0,
    };
    commands.push(command);
    return { Command: command };
  });
  h.ssm.on(ListCommandsCommand).callsFake((input: ListCommandsCommandInput) => {
    if (input.CommandId) return { Commands: commands.filter((c) => c.CommandId === input.CommandId) };
    const filter = (key: string) => input.Filters?.find((f) => f.key === key)?.value;
    const after = Date.parse(filter('InvokedAfter') ?? '1970-01-01T00:00:00Z');
    const listed = commands.filter((c) => c.DocumentName === (filter('DocumentName') ?? c.DocumentName) && c.RequestedDateTime!.getTime() >= after);
    const from = Number(input.NextToken ?? 0);
    const max = input.MaxResults ?? 50;
    return { Commands: listed.slice(from, from + max), ...(from + max < listed.length ? { NextToken: String(from + max) } : {}) };
  });
  return commands;
}

describe('a duplicate lifecycle event delivered after the first SendCommand went through', () => {
  test('no second SendCommand, the command\'s invocation status completes the instance once, counted once', async () => {
    const h = harness();
    const queue = createQueueHandler(h.handler);
    answerAgents(h, () => 'Online');
    const commands = ssmWithMemory(h);
    h.autoScaling.on(CompleteLifecycleActionCommand).resolvesOnce({}).rejects(noActiveAction());
    const event = json(lifecycleEvent());

    // The first delivery sends the command.
    expect(await queue({ Records: [sqsRecord(event, 'msg-first')] })).toEqual({ batchItemFailures: [] });
    expect(commands).toHaveLength(1);

    // EventBridge's second copy of the same event, 4 s later, as another message; the command is InProgress.
    h.clock.ms += 4000;
    commands[0].Status = 'InProgress';
    expect(await queue({ Records: [sqsRecord(event, 'msg-duplicate')] })).toEqual({ batchItemFailures: [] });

    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    // Each delivery asked once, for commands of the document since its event (less a minute of clock skew).
    expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual(new Array(2).fill({
      Filters: [{ key: 'DocumentName', value: DOCUMENT }, { key: 'InvokedAfter', value: '2026-11-20T22:29:00Z' }], MaxResults: 50,
    }));
    expect(h.logs()).toContainEqual({
      level: 'info', msg: 'event ignored', reason: 'already-sent', commandId: COMMAND_ID, commandStatus: 'InProgress', trigger: 'lifecycle',
      eventId: LIFECYCLE_EVENT_ID, instanceId: INSTANCE, asgName: ASG,
    });

    // The command's invocation status releases the instance: one completion, one count.
    commands[0].Status = 'Success';
    h.clock.ms += 60_000;
    expect(await queue({ Records: [sqsRecord(json(invocationEvent()), 'msg-status')] })).toEqual({ batchItemFailures: [] });
    // A third, late copy of the lifecycle event after the release: still no command, nothing counted.
    expect(await queue({ Records: [sqsRecord(event, 'msg-late')] })).toEqual({ batchItemFailures: [] });

    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput()]);
    expect(h.metrics()).toEqual([
      emf('CommandSent', 'Count', 1), emf('Rescued', 'Count', 1), emf('RescueDurationSeconds', 'Seconds', DURATION), emf('HoldSeconds', 'Seconds', HOLD),
    ]);
    expect(h.logs().filter((l) => l.reason === 'already-sent')).toHaveLength(2);
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  test('a batch retried after its SendCommand went through: only the instances without a command are sent one', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    const commands = ssmWithMemory(h);
    const events = [0, 1, 2].map((k) => lifecycleEvent({ EC2InstanceId: instanceId(k) }, { id: eventId(k) }));

    await h.handler.batch(events.slice(0, 2));
    // The queue delivers both again (their batch timed out after the send), with a third instance.
    const outcomes = await h.handler.batch(events);

    expect(h.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([
      [instanceId(0), instanceId(1)], [instanceId(2)],
    ]);
    expect(outcomes.map((o) => (o.ok ? [o.result.action, 'reason' in o.result ? o.result.reason : undefined] : 'failed'))).toEqual([
      ['ignored', 'already-sent'], ['ignored', 'already-sent'], ['command-sent', undefined],
    ]);
    expect(commands).toHaveLength(2);
    expect(h.metrics().filter((m) => 'CommandSent' in m)).toHaveLength(3);
  });

  test('SSM pages the listing: every page is read before deciding', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    const commands = ssmWithMemory(h);
    // 60 earlier commands of other instances, then this instance's.
    for (let k = 0; k < 60; k++) commands.push({ ...commands[0], CommandId: `d0000000-0000-4000-8000-${k.toString(16).padStart(12, '0')}`, DocumentName: DOCUMENT, InstanceIds: [instanceId(100 + k)], Parameters: LIFECYCLE_PARAMETERS, RequestedDateTime: new Date(h.clock.ms) });
    commands.push({ CommandId: COMMAND_ID, DocumentName: DOCUMENT, InstanceIds: [INSTANCE], Parameters: LIFECYCLE_PARAMETERS, RequestedDateTime: new Date(h.clock.ms), Status: 'Success' });

    expect(await h.handler(lifecycleEvent())).toEqual({ action: 'ignored', reason: 'already-sent', instanceId: INSTANCE });
    expect(inputs(h.ssm.commandCalls(ListCommandsCommand)).map((i: any) => i.NextToken)).toEqual([undefined, '50']);
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});

describe('what is not the same rescue', () => {
  test('a Spot rescue of the instance does not stand in for its lifecycle rescue (it completes nothing): the lifecycle command is sent', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    h.ssm.on(ListCommandsCommand).resolves({
      Commands: [{ CommandId: COMMAND_ID, DocumentName: DOCUMENT, InstanceIds: [INSTANCE], Parameters: SPOT_PARAMETERS, Status: 'InProgress' }],
    });
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'f0e1d2c3-b4a5-4968-8776-655443322110' } });
    expect(await h.handler(lifecycleEvent())).toMatchObject({ action: 'command-sent', commandId: 'f0e1d2c3-b4a5-4968-8776-655443322110' });
  });

  test('a repeated Spot warning: no second Spot command', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstance('InService'));
    h.ssm.on(ListCommandsCommand).resolves({
      Commands: [{ CommandId: COMMAND_ID, DocumentName: DOCUMENT, InstanceIds: [INSTANCE], Parameters: SPOT_PARAMETERS, Status: 'InProgress' }],
    });
    expect(await h.handler(spotEvent())).toEqual({ action: 'ignored', reason: 'already-sent', instanceId: INSTANCE });
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  test('a command of the same instance for another group\'s or another event\'s rescue does not count', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    h.ssm.on(ListCommandsCommand).resolves({
      Commands: [
        { CommandId: COMMAND_ID, DocumentName: DOCUMENT, InstanceIds: [INSTANCE], Parameters: { ...LIFECYCLE_PARAMETERS, asgName: ['api asg'] } },
        { CommandId: COMMAND_ID, DocumentName: DOCUMENT, InstanceIds: [INSTANCE], Parameters: { ...LIFECYCLE_PARAMETERS, eventTime: ['20261120T222000Z'] } },
        { CommandId: COMMAND_ID, DocumentName: 'AWS-RunShellScript', InstanceIds: [INSTANCE], Parameters: LIFECYCLE_PARAMETERS },
      ],
    });
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    expect(await h.handler(lifecycleEvent())).toMatchObject({ action: 'command-sent' });
  });
});

describe('when SSM will not list', () => {
  test('ListCommands refused (AccessDenied): a warning, and the command goes as it would have', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    h.ssm.on(ListCommandsCommand).rejects(new SSMServiceException({
      name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'not authorized to perform: ssm:ListCommands',
    }));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    expect(await h.handler(lifecycleEvent())).toMatchObject({ action: 'command-sent' });
    expect(h.logs()).toContainEqual(expect.objectContaining({
      level: 'warn', msg: 'could not list the commands already sent; sending anyway', error: 'AccessDeniedException',
    }));
  });

  test('throttled: bounded like the heartbeat (a few attempts), then the command goes', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    h.ssm.on(ListCommandsCommand).rejects(new SSMServiceException({
      name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded',
    }));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    const [outcome] = await h.handler.batch([lifecycleEvent()], { deadline: h.clock.ms + 100_000 });
    expect(outcome).toMatchObject({ ok: true, result: { action: 'command-sent' } });
    expect(h.ssm.commandCalls(ListCommandsCommand).length).toBeLessThanOrEqual(6);
  });

  test('no agent online: no listing at all (a look again or a late duplicate costs SSM nothing more)', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstance('Terminated'));
    await h.handler(lifecycleEvent());
    expect(h.ssm.commandCalls(ListCommandsCommand)).toHaveLength(0);
  });
});
