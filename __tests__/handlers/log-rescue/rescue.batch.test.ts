/**
 * Proves what the handler (handlers/log-rescue/rescue.ts) makes of a batch, as the event queue
 * hands one to an invocation: which AWS calls a batch becomes (one per 50 instances, one command
 * per group and event second), which events fail when a call does (only those it was for), and how
 * throttling is retried to the invocation's deadline.
 * @lane unit
 */
import { DescribeInstanceInformationCommand, ListCommandsCommand, SendCommandCommand, SSMServiceException } from '@aws-sdk/client-ssm';
import {
  AutoScalingServiceException, CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand, RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { WAIT_STARTED_ATTRIBUTE } from '../../../handlers/log-rescue/aws';
import type { Outcome } from '../../../handlers/log-rescue/outcomes';
import {
  ASG, COMMAND_ID, DOCUMENT, HOOK, LIFECYCLE_PARAMETERS,
  answerAgents, asgInstances, commandStatusEvent, emf, eventId, harness, instanceId, invalidInstanceId, invocationEvent, lifecycleEvent,
  listedCommand, lookBatchUntilDone, noActiveAction, spotEvent, throttling, completeInput, inputs, throttlingAsg,
} from './fixtures';

const T0 = '2026-11-20T22:30:00Z';
const T1 = '2026-11-20T22:30:01Z';
const compact = (iso: string) => iso.replace(/[-:]/g, '');

/** The lifecycle event of instance n, as Auto Scaling sends it during a scale-in at `time`. */
const lifecycleOf = (n: number, time = T0) => lifecycleEvent({ EC2InstanceId: instanceId(n) }, { id: eventId(n), time });
const commandIdOf = (n: number) => `c0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** SendCommand accepts every command, each with its own id; `sent` maps instance -> [command id, instances of that command]. */
function acceptCommands(h: ReturnType<typeof harness>) {
  const sent = new Map<string, [string, number]>();
  let n = 0;
  h.ssm.on(SendCommandCommand).callsFake((input) => {
    const commandId = commandIdOf(++n);
    for (const id of input.InstanceIds) sent.set(id, [commandId, input.InstanceIds.length]);
    return { Command: { CommandId: commandId, InstanceIds: input.InstanceIds } };
  });
  return sent;
}

const results = (outcomes: Outcome[]) => outcomes.map((o) => (o.ok ? o.result : 'error' in o ? { failed: o.error } : { retryLater: o.retryLater }));

describe('a scale-in storm of lifecycle events in one batch', () => {
  test('120 events of one group in two event seconds: one command per second and 50 instances, every event command-sent', async () => {
    const h = harness();
    // Interleaved, as the queue delivers them: 70 at :00, 50 at :01.
    const ns = Array.from({ length: 120 }, (_, k) => k);
    const timeOf = (k: number) => (k % 12 < 7 ? T0 : T1);
    answerAgents(h, () => 'Online');
    const sent = acceptCommands(h);

    const outcomes = await h.handler.batch(ns.map((k) => lifecycleOf(k, timeOf(k))));

    // Agents: one look per 50 instances, in batch order.
    expect(inputs(h.ssm.commandCalls(DescribeInstanceInformationCommand))).toEqual([
      ns.slice(0, 50), ns.slice(50, 100), ns.slice(100),
    ].map((chunk) => ({ Filters: [{ Key: 'InstanceIds', Values: chunk.map(instanceId) }], MaxResults: 50 })));

    const second = (t: string) => ns.filter((k) => timeOf(k) === t).map(instanceId);
    const sendInput = (ids: string[], time: string, first: number) => ({
      DocumentName: DOCUMENT,
      InstanceIds: ids,
      TimeoutSeconds: 60,
      MaxConcurrency: '100%',
      MaxErrors: '100%',
      Parameters: { asgName: [ASG], hookName: [HOOK], trigger: ['lifecycle'], eventTime: [compact(time)] },
      Comment: `log rescue (lifecycle) of ${ids.length} instance(s), event ${eventId(first)}`,
    });
    const [at0, at1] = [second(T0), second(T1)];
    expect(at0).toHaveLength(70);
    expect(at1).toHaveLength(50);
    // The first event of each command names it: instance k was sent by the event of instance k.
    const firstOf = (ids: string[]) => parseInt(ids[0].slice(2), 16);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand))).toEqual([
      sendInput(at0.slice(0, 50), T0, firstOf(at0.slice(0, 50))),
      sendInput(at0.slice(50), T0, firstOf(at0.slice(50))),
      sendInput(at1, T1, firstOf(at1)),
    ]);

    expect(results(outcomes)).toEqual(ns.map((k) => ({
      action: 'command-sent', trigger: 'lifecycle', instanceId: instanceId(k), asgName: ASG,
      commandId: sent.get(instanceId(k))![0], eventTime: compact(timeOf(k)), commandInstances: sent.get(instanceId(k))![1],
    })));
    expect(new Set([...sent.values()].map(([id]) => id)).size).toBe(3);
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.sleeps).toEqual([]);
    expect(h.metrics()).toEqual(ns.map(() => emf('CommandSent', 'Count', 1)));
    expect(h.logs().filter((l) => l.msg === 'rescue command sent')).toHaveLength(120);
  });

  test('SSM pages its answer: the next page is asked for with NextToken, and both pages count', async () => {
    const h = harness();
    const ids = Array.from({ length: 6 }, (_, k) => instanceId(k));
    const online = (list: string[]) => list.map((id) => ({ InstanceId: id, PingStatus: 'Online' as const }));
    h.ssm.on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: online(ids.slice(0, 4)), NextToken: 'page-2' })
      .resolves({ InstanceInformationList: online(ids.slice(4)) });
    acceptCommands(h);

    const outcomes = await h.handler.batch(ids.map((_, k) => lifecycleOf(k)));

    expect(inputs(h.ssm.commandCalls(DescribeInstanceInformationCommand))).toEqual([
      { Filters: [{ Key: 'InstanceIds', Values: ids }], MaxResults: 50 },
      { Filters: [{ Key: 'InstanceIds', Values: ids }], MaxResults: 50, NextToken: 'page-2' },
    ]);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => i.InstanceIds)).toEqual([ids]);
    expect(outcomes.every((o) => o.ok && o.result.action === 'command-sent')).toBe(true);
    expect(h.sleeps).toEqual([]);
  });

  test('online and offline instances: the online ones are sent at once, the others released when the wait ends', async () => {
    const h = harness();
    const [on1, on2, lost, gone] = [0, 1, 2, 3].map(instanceId);
    answerAgents(h, (id) => (id === on1 || id === on2 ? 'Online' : id === lost ? 'ConnectionLost' : undefined));
    acceptCommands(h);
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [lost]: 'Terminating:Wait', [gone]: 'Terminating:Wait' }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    const start = h.clock.ms;

    const { outcomes, looks, delays } = await lookBatchUntilDone(h, [0, 1, 2, 3].map((k) => lifecycleOf(k)));

    const agentPoll = (ids: string[]) => ({ op: 'DescribeInstanceInformation', ids });
    // The virtual time of each call (calls made at the same moment in name order): the command goes
    // out with the first look (after the one check for a command already sent), concurrently with
    // the one look at the others' group, not after the wait; the others go back to the queue.
    const byTime = (a: { op: string; at: number }, b: { op: string; at: number }) => a.at - b.at || a.op.localeCompare(b.op);
    const lookAgain = (at: number) => [
      { op: 'DescribeInstanceInformation', at }, { op: 'SendMessage', at }, { op: 'SendMessage', at },
    ];
    expect(h.trail.map((c) => ({ op: c.op, at: c.at - start })).sort(byTime)).toEqual([
      { op: 'DescribeAutoScalingInstances', at: 0 },
      { op: 'DescribeInstanceInformation', at: 0 },
      { op: 'ListCommands', at: 0 },
      { op: 'SendCommand', at: 0 },
      { op: 'SendMessage', at: 0 },
      { op: 'SendMessage', at: 0 },
      ...lookAgain(5000), ...lookAgain(10000), ...lookAgain(15000),
      { op: 'CompleteLifecycleAction', at: 20000 },
      { op: 'CompleteLifecycleAction', at: 20000 },
      { op: 'DescribeInstanceInformation', at: 20000 },
    ]);
    expect(looks).toEqual([1, 1, 5, 5]);
    expect(delays).toEqual(new Array(8).fill(5));
    expect(h.trail.at(-1)?.op).toBe('CompleteLifecycleAction');
    expect(h.trail.filter((c) => c.op === 'DescribeInstanceInformation').map((c) => agentPoll(c.input.Filters[0].Values))).toEqual([
      agentPoll([on1, on2, lost, gone]), ...[1, 2, 3, 4].map(() => agentPoll([lost, gone])),
    ]);
    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([{ InstanceIds: [lost, gone], MaxRecords: 2 }]);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => i.InstanceIds)).toEqual([[on1, on2]]);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(lost), completeInput(gone)]);
    expect(h.sleeps).toEqual([]);
    expect(results(outcomes)).toEqual([
      expect.objectContaining({ action: 'command-sent', instanceId: on1, commandId: commandIdOf(1), commandInstances: 2 }),
      expect.objectContaining({ action: 'command-sent', instanceId: on2, commandId: commandIdOf(1), commandInstances: 2 }),
      { action: 'not-rescued', trigger: 'lifecycle', instanceId: lost, asgName: ASG, reason: 'offline', completion: 'completed' },
      { action: 'not-rescued', trigger: 'lifecycle', instanceId: gone, asgName: ASG, reason: 'not-managed', completion: 'completed' },
    ]);
    // NotRescued is written when the wait ends, for the instances it gave up on only.
    expect(h.metrics()).toEqual([
      emf('CommandSent', 'Count', 1), emf('CommandSent', 'Count', 1),
      emf('NotRescued', 'Count', 1, 'offline', start + 20000), emf('NotRescued', 'Count', 1, 'not-managed', start + 20000),
    ]);
  });

  test('an agent that comes online during the wait goes in a command of its own, on its third look', async () => {
    const h = harness();
    const [early, late] = [instanceId(0), instanceId(1)];
    answerAgents(h, (id, poll) => (id === early || poll >= 3 ? 'Online' : 'ConnectionLost'));
    acceptCommands(h);
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [late]: 'Terminating:Wait' }));
    const start = h.clock.ms;

    const { outcomes, looks } = await lookBatchUntilDone(h, [lifecycleOf(0), lifecycleOf(1)]);

    expect(h.trail.filter((c) => c.op === 'SendCommand').map((c) => ({ ids: c.input.InstanceIds, at: c.at - start }))).toEqual([
      { ids: [early], at: 0 }, { ids: [late], at: 10000 },
    ]);
    expect(results(outcomes)).toEqual([
      expect.objectContaining({ instanceId: early, commandId: commandIdOf(1) }),
      expect.objectContaining({ instanceId: late, commandId: commandIdOf(2) }),
    ]);
    expect(looks).toEqual([1, 3]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });

  test('not online and already released: ignored at once, without holding the batch through the wait', async () => {
    const h = harness();
    const [released, gone] = [instanceId(0), instanceId(1)];
    answerAgents(h, () => 'ConnectionLost');
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [released]: 'Terminating:Proceed' }));

    const outcomes = await h.handler.batch([lifecycleOf(0), lifecycleOf(1)]);

    expect(results(outcomes)).toEqual([
      { action: 'ignored', reason: 'already-released', instanceId: released },
      { action: 'ignored', reason: 'already-released', instanceId: gone },
    ]);
    expect(h.ssm.calls()).toHaveLength(1);
    expect(h.autoScaling.calls()).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
    expect(h.metrics()).toEqual([]);
  });

  test('the same instance twice in a batch (a repeated delivery): one command, the second is duplicate-in-batch', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    acceptCommands(h);
    const repeat = lifecycleOf(0);

    const outcomes = await h.handler.batch([repeat, lifecycleOf(1), structuredClone(repeat)]);

    expect(inputs(h.ssm.commandCalls(DescribeInstanceInformationCommand)).map((i: any) => i.Filters[0].Values)).toEqual([[instanceId(0), instanceId(1)]]);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => i.InstanceIds)).toEqual([[instanceId(0), instanceId(1)]]);
    expect(results(outcomes)[2]).toEqual({ action: 'ignored', reason: 'duplicate-in-batch', instanceId: instanceId(0) });
    expect(h.metrics()).toHaveLength(2);
    expect(h.logs()).toContainEqual(expect.objectContaining({ level: 'info', msg: 'event ignored', reason: 'duplicate-in-batch', eventId: eventId(0) }));
  });

  test('two groups in one batch: one command each, each with its own group', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    acceptCommands(h);
    const api = lifecycleEvent({ EC2InstanceId: instanceId(1), AutoScalingGroupName: 'api asg' }, { id: eventId(1) });

    await h.handler.batch([lifecycleOf(0), api, lifecycleOf(2)]);

    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => [i.InstanceIds, i.Parameters.asgName])).toEqual([
      [[instanceId(0), instanceId(2)], [ASG]],
      [[instanceId(1)], ['api asg']],
    ]);
  });

  test('late events: a heartbeat per instance before the shared command, and an instance already released is left out of it', async () => {
    const h = harness();
    answerAgents(h, () => 'Online');
    acceptCommands(h);
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand, { InstanceId: instanceId(1) }).rejects(noActiveAction(instanceId(1)));
    h.clock.ms = Date.parse('2026-11-20T22:40:00Z');

    const outcomes = await h.handler.batch([0, 1, 2].map((k) => lifecycleOf(k)));

    expect(inputs(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand))).toEqual([0, 1, 2].map((k) => ({
      AutoScalingGroupName: ASG, LifecycleHookName: HOOK, InstanceId: instanceId(k),
    })));
    expect(h.trail.map((c) => c.op)).toEqual([
      'DescribeInstanceInformation', 'ListCommands',
      'RecordLifecycleActionHeartbeat', 'RecordLifecycleActionHeartbeat', 'RecordLifecycleActionHeartbeat', 'SendCommand',
    ]);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => i.InstanceIds)).toEqual([[instanceId(0), instanceId(2)]]);
    expect(results(outcomes)).toEqual([
      expect.objectContaining({ action: 'command-sent', instanceId: instanceId(0), commandInstances: 2 }),
      { action: 'ignored', reason: 'already-released', instanceId: instanceId(1) },
      expect.objectContaining({ action: 'command-sent', instanceId: instanceId(2), commandInstances: 2 }),
    ]);
  });
});

describe('SendCommand refused for a multi-instance command', () => {
  test('InvalidInstanceId: each instance is sent alone; the bad one is not-rescued send-failed and released', async () => {
    const h = harness();
    const [good1, bad, good2] = [instanceId(0), instanceId(0xbad), instanceId(2)];
    answerAgents(h, () => 'Online');
    let n = 0;
    h.ssm.on(SendCommandCommand).callsFake((input) => {
      if (input.InstanceIds.includes(bad)) throw invalidInstanceId(bad);
      return { Command: { CommandId: commandIdOf(++n) } };
    });
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch([lifecycleOf(0), lifecycleOf(0xbad), lifecycleOf(2)]);

    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => [i.InstanceIds, i.Comment])).toEqual([
      [[good1, bad, good2], `log rescue (lifecycle) of 3 instance(s), event ${eventId(0)}`],
      [[good1], `log rescue (lifecycle) of 1 instance(s), event ${eventId(0)}`],
      [[bad], `log rescue (lifecycle) of 1 instance(s), event ${eventId(0xbad)}`],
      [[good2], `log rescue (lifecycle) of 1 instance(s), event ${eventId(2)}`],
    ]);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).every((i: any) => i.MaxConcurrency === '100%' && i.MaxErrors === '100%')).toBe(true);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(bad)]);
    expect(results(outcomes)).toEqual([
      expect.objectContaining({ action: 'command-sent', instanceId: good1, commandId: commandIdOf(1), commandInstances: 1 }),
      { action: 'not-rescued', trigger: 'lifecycle', instanceId: bad, asgName: ASG, reason: 'send-failed', completion: 'completed' },
      expect.objectContaining({ action: 'command-sent', instanceId: good2, commandId: commandIdOf(2), commandInstances: 1 }),
    ]);
    expect(h.metrics().filter((m) => 'NotRescued' in m)).toEqual([emf('NotRescued', 'Count', 1, 'send-failed')]);
    expect(h.metrics().filter((m) => 'CommandSent' in m)).toHaveLength(2);
    expect(h.logs().filter((l) => l.msg === 'SendCommand refused')).toEqual([
      expect.objectContaining({ level: 'warn', error: 'InvalidInstanceId', instances: 3 }),
      expect.objectContaining({ level: 'warn', error: 'InvalidInstanceId', instanceId: bad }),
    ]);
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  test('throttled to the end: every event of that command fails (to be retried), events of other commands do not', async () => {
    const h = harness({ random: () => 1 });
    answerAgents(h, () => 'Online');
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    h.ssm.on(SendCommandCommand, { Parameters: { ...LIFECYCLE_PARAMETERS, asgName: ['api asg'] } }).rejects(throttling());
    const api = (k: number) => lifecycleEvent({ EC2InstanceId: instanceId(k), AutoScalingGroupName: 'api asg' }, { id: eventId(k) });

    const outcomes = await h.handler.batch([api(0), lifecycleOf(1), api(2)]);

    expect(outcomes.map((o) => o.ok)).toEqual([false, true, false]);
    expect(outcomes[1]).toEqual({ ok: true, result: expect.objectContaining({ action: 'command-sent', instanceId: instanceId(1) }) });
    expect(h.autoScaling.calls()).toHaveLength(0);
    expect(h.logs().filter((l) => l.level === 'error').map((l) => [l.eventId, l.instanceId, l.kind, l.operation])).toEqual([
      [eventId(0), instanceId(0), 'lifecycle', 'SendCommand'],
      [eventId(2), instanceId(2), 'lifecycle', 'SendCommand'],
    ]);
  });
});

describe('partial failure: one event fails, the others of the batch do not', () => {
  test('CompleteLifecycleAction throttled forever for one offline instance: only its event fails', async () => {
    const h = harness({ settings: { onlineWaitSeconds: 0 } });
    const [a, b, c] = [0, 1, 2].map(instanceId);
    answerAgents(h, () => 'ConnectionLost');
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [a]: 'Terminating:Wait', [b]: 'Terminating:Wait', [c]: 'Terminating:Wait' }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    h.autoScaling.on(CompleteLifecycleActionCommand, { InstanceId: b }).rejects(throttlingAsg());

    const outcomes = await h.handler.batch([0, 1, 2].map((k) => lifecycleOf(k)));

    expect(outcomes).toEqual([
      { ok: true, result: expect.objectContaining({ action: 'not-rescued', instanceId: a, reason: 'offline', completion: 'completed' }) },
      { ok: false, error: expect.objectContaining({ name: 'Throttling' }) },
      { ok: true, result: expect.objectContaining({ action: 'not-rescued', instanceId: c, reason: 'offline', completion: 'completed' }) },
    ]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand, { InstanceId: b })).toHaveLength(6);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand, { InstanceId: a })).toHaveLength(1);
    expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'offline'), emf('NotRescued', 'Count', 1, 'offline')]);
    expect(h.logs().filter((l) => l.level === 'error')).toEqual([{
      level: 'error', msg: 'event failed; the queue retries it, then moves it to the dead-letter queue',
      eventId: eventId(1), instanceId: b, kind: 'lifecycle', operation: 'CompleteLifecycleAction', error: 'Throttling', detail: 'Rate exceeded',
    }]);
  });

  test('CompleteLifecycleAction throttled forever for one instance of a command: only its invocation event fails', async () => {
    const h = harness();
    const [a, b, c] = [0, 1, 2].map(instanceId);
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ instances: [a, b, c] }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    h.autoScaling.on(CompleteLifecycleActionCommand, { InstanceId: b }).rejects(throttlingAsg());

    const outcomes = await h.handler.batch([a, b, c].map((id, k) => invocationEvent({ instance: id }, { id: eventId(k) })));

    expect(outcomes.map((o) => (o.ok ? o.result.action : 'failed'))).toEqual(['command-finished', 'failed', 'command-finished']);
    expect(h.ssm.commandCalls(ListCommandsCommand)).toHaveLength(1);
    expect(h.metrics().filter((m) => 'Rescued' in m)).toHaveLength(2);
    expect(h.logs().filter((l) => l.level === 'error').map((l) => [l.eventId, l.instanceId, l.kind, l.operation])).toEqual([
      [eventId(1), b, 'command-invocation', 'CompleteLifecycleAction'],
    ]);
  });

  test('the agent look fails during the wait: the events already sent stay sent (a retry would send them again), the waiting ones fail', async () => {
    const h = harness({ random: () => 1 });
    const [online, waiting] = [instanceId(0), instanceId(1)];
    h.ssm.on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: online, PingStatus: 'Online' }, { InstanceId: waiting, PingStatus: 'ConnectionLost' }] })
      .rejects(throttling());
    acceptCommands(h);
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [waiting]: 'Terminating:Wait' }));

    // The online one is sent on the first look, the other goes back to the queue; its next look fails.
    const { outcomes, looks } = await lookBatchUntilDone(h, [lifecycleOf(0), lifecycleOf(1)]);

    expect(outcomes).toEqual([
      { ok: true, result: expect.objectContaining({ action: 'command-sent', instanceId: online, commandId: commandIdOf(1) }) },
      { ok: false, error: expect.objectContaining({ name: 'ThrottlingException' }) },
    ]);
    expect(looks).toEqual([1, 2]);
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    expect(h.logs().filter((l) => l.level === 'error').map((l) => [l.eventId, l.instanceId, l.operation])).toEqual([
      [eventId(1), waiting, 'DescribeInstanceInformation'],
    ]);
  });

  test('ListCommands failing fails the events of that command only', async () => {
    const h = harness({ random: () => 1 });
    const other = 'd0000000-0000-4000-8000-000000000001';
    h.ssm.on(ListCommandsCommand, { CommandId: COMMAND_ID }).rejects(throttling());
    h.ssm.on(ListCommandsCommand, { CommandId: other }).resolves(listedCommand({ commandId: other, instances: [instanceId(2)] }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch([
      invocationEvent({ instance: instanceId(0) }, { id: eventId(0) }),
      invocationEvent({ instance: instanceId(1) }, { id: eventId(1) }),
      invocationEvent({ instance: instanceId(2), commandId: other }, { id: eventId(2) }),
    ]);

    expect(outcomes.map((o) => o.ok)).toEqual([false, false, true]);
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([completeInput(instanceId(2))]);
    expect(h.logs().filter((l) => l.level === 'error').map((l) => [l.eventId, l.operation])).toEqual([
      [eventId(0), 'ListCommands'], [eventId(1), 'ListCommands'],
    ]);
  });

  test('DescribeInstanceInformation failing fails the lifecycle events, not the other kinds in the batch', async () => {
    const h = harness({ random: () => 1 });
    h.ssm.on(DescribeInstanceInformationCommand).rejects(throttling());
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ instances: [instanceId(9)] }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch([lifecycleOf(0), invocationEvent({ instance: instanceId(9) }), lifecycleOf(1)]);

    expect(outcomes.map((o) => o.ok)).toEqual([false, true, false]);
    expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(h.logs().filter((l) => l.level === 'error').map((l) => [l.eventId, l.kind, l.operation])).toEqual([
      [eventId(0), 'lifecycle', 'DescribeInstanceInformation'], [eventId(1), 'lifecycle', 'DescribeInstanceInformation'],
    ]);
  });
});

describe('a deadline: throttling is backpressure, retried until the invocation must end', () => {
  /** Offline instances released at once (no online wait): each event is one CompleteLifecycleAction. */
  function offlineHarness() {
    const h = harness({ settings: { onlineWaitSeconds: 0 }, random: () => 1 });
    answerAgents(h, () => 'ConnectionLost');
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [instanceId(0)]: 'Terminating:Wait' }));
    return h;
  }
  const SERVER_ERROR = () => new AutoScalingServiceException({
    name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'internal error',
  });

  test('throttled 20 times, past the policy\'s 6 attempts and 15 s: completed on the 21st, the event does not fail', async () => {
    const h = offlineHarness();
    let calls = 0;
    h.autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => {
      if (++calls <= 20) throw throttlingAsg();
      return {};
    });
    const start = h.clock.ms;

    const outcomes = await h.handler.batch([lifecycleOf(0)], { deadline: start + 110_000 });

    expect(results(outcomes)).toEqual([expect.objectContaining({ action: 'not-rescued', reason: 'offline', completion: 'completed' })]);
    expect(calls).toBe(21);
    // Full-jitter ceilings 200, 400, ... 5000 ms (random 1 takes each ceiling): 81.2 s of backoff in all.
    expect(h.sleeps).toEqual([200, 400, 800, 1600, 3200, ...new Array(15).fill(5000)]);
    expect(h.clock.ms - start).toBe(81_200);
  });

  test('throttled forever: retried while the next attempt starts by the deadline, then only this event fails', async () => {
    const h = offlineHarness();
    h.autoScaling.on(CompleteLifecycleActionCommand).rejects(throttlingAsg());
    const start = h.clock.ms;
    const deadline = start + 30_000;

    const outcomes = await h.handler.batch([lifecycleOf(0)], { deadline });

    expect(outcomes).toEqual([{ ok: false, error: expect.objectContaining({ name: 'Throttling' }) }]);
    // 6.2 s, then 5 s at a time: 26.2 s; one more sleep would end at 31.2 s, past the deadline.
    expect(h.sleeps).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
    const attempts = h.trail.filter((c) => c.op === 'CompleteLifecycleAction').map((c) => c.at);
    expect(attempts).toHaveLength(10);
    expect(Math.max(...attempts)).toBeLessThanOrEqual(deadline);
  });

  test('a server error is not backpressure: the policy\'s 6 attempts, deadline or not', async () => {
    const h = offlineHarness();
    h.autoScaling.on(CompleteLifecycleActionCommand).rejects(SERVER_ERROR());

    const outcomes = await h.handler.batch([lifecycleOf(0)], { deadline: h.clock.ms + 110_000 });

    expect(outcomes).toEqual([{ ok: false, error: expect.objectContaining({ name: 'InternalFailure' }) }]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(6);
  });

  test('a server error near the deadline: no retry sleeps past it, though the policy would allow more', async () => {
    const h = offlineHarness();
    h.autoScaling.on(CompleteLifecycleActionCommand).rejects(SERVER_ERROR());
    const start = h.clock.ms;
    // The group check and the agent poll take no time; 3 s are left for the completion.
    const outcomes = await h.handler.batch([lifecycleOf(0)], { deadline: start + 3000 });
    expect(outcomes).toEqual([{ ok: false, error: expect.objectContaining({ name: 'InternalFailure' }) }]);
    // 200 + 400 + 800 + 1600 = 3000 ms; the next sleep (3200) would end past the deadline.
    expect(h.sleeps).toEqual([200, 400, 800, 1600]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(5);
    expect(h.clock.ms - start).toBe(3000);
  });

  test('past the deadline no call starts: the event fails with DeadlineReached, no AWS call', async () => {
    const h = offlineHarness();
    const outcomes = await h.handler.batch([lifecycleOf(0)], { deadline: h.clock.ms - 1 });
    expect(outcomes).toEqual([{ ok: false, error: expect.objectContaining({ name: 'DeadlineReached' }) }]);
    expect(h.awsCalls()).toBe(0);
    expect(h.logs()).toEqual([expect.objectContaining({
      level: 'error', operation: 'DescribeInstanceInformation', error: 'DeadlineReached', detail: "the invocation's deadline passed before the call was made",
    })]);
  });

  test('a throttled heartbeat keeps the policy\'s 6 attempts even with a deadline: the command goes anyway, not 100 s later', async () => {
    const h = harness({ random: () => 1 });
    answerAgents(h, () => 'Online');
    acceptCommands(h);
    h.autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(throttlingAsg());
    // Ten minutes late: the command could outlive the action, so a heartbeat comes first.
    h.clock.ms = Date.parse('2026-11-20T22:40:00Z');
    const start = h.clock.ms;

    const outcomes = await h.handler.batch([lifecycleOf(0)], { deadline: start + 110_000 });

    expect(h.autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(6);
    expect(results(outcomes)).toEqual([expect.objectContaining({ action: 'command-sent', instanceId: instanceId(0) })]);
    expect(h.trail.find((c) => c.op === 'SendCommand')!.at - start).toBe(6200);
    expect(h.logs()).toContainEqual(expect.objectContaining({ msg: 'lifecycle heartbeat not recorded; sending the command anyway', error: 'Throttling' }));
  });

  test('the online wait runs from the first answer: a first look throttled for 41 s does not use it up', async () => {
    const h = harness({ random: () => 1 });
    let polls = 0;
    h.ssm.on(DescribeInstanceInformationCommand).callsFake((input) => {
      polls++;
      if (polls <= 12) throw throttling();
      const status = polls === 13 ? 'ConnectionLost' : 'Online';
      return { InstanceInformationList: input.Filters[0].Values.map((id: string) => ({ InstanceId: id, PingStatus: status })) };
    });
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [instanceId(0)]: 'Terminating:Wait' }));
    acceptCommands(h);
    const start = h.clock.ms;

    const first = await h.handler.batch([lifecycleOf(0)], { deadline: start + 110_000 });

    // 12 throttled looks: 41.2 s of backoff. A clock from the start (20 s) would have run out by
    // the first answer and released the instance as offline; from the answer, it looks 5 s later.
    expect(h.sleeps.slice(0, 12).reduce((a, b) => a + b, 0)).toBe(41_200);
    expect(results(first)).toEqual([expect.objectContaining({ action: 'waiting', instanceId: instanceId(0), recheckSeconds: 5, waitedSeconds: 0 })]);
    const [back] = inputs(h.sqs.commandCalls(SendMessageCommand)) as any[];
    expect(back.MessageAttributes[WAIT_STARTED_ATTRIBUTE].StringValue).toBe(String(start + 41_200));
    h.clock.ms += back.DelaySeconds * 1000;
    const again = await h.handler.batch([JSON.parse(back.MessageBody)], {
      deadline: h.clock.ms + 110_000, messages: [{ messageId: 'copy', waitStartedAt: Number(back.MessageAttributes[WAIT_STARTED_ATTRIBUTE].StringValue) }],
    });
    expect(results(again)).toEqual([expect.objectContaining({ action: 'command-sent', instanceId: instanceId(0) })]);
    expect(h.trail.find((c) => c.op === 'SendCommand')!.at - start).toBe(41_200 + 5000);
  });

  test('a backstop completion that fails does not leave its siblings retrying after the batch returns', async () => {
    const h = harness({ random: () => 1 });
    const [a, b] = [instanceId(0xa), instanceId(0xb)];
    h.clock.ms = Date.parse(commandStatusEvent().time) + 130_000;
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [a]: 'Terminating:Wait', [b]: 'Terminating:Wait' }));
    h.autoScaling.on(CompleteLifecycleActionCommand, { InstanceId: a }).rejects(new AutoScalingServiceException({
      name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'not authorized',
    }));
    let bCalls = 0;
    h.autoScaling.on(CompleteLifecycleActionCommand, { InstanceId: b }).callsFake(() => {
      if (++bCalls <= 15) throw throttlingAsg();
      return {};
    });

    const outcomes = await h.handler.batch([commandStatusEvent({ instances: [a, b] })], { deadline: h.clock.ms + 110_000 });
    const [callsAtReturn, bAtReturn] = [h.trail.length, bCalls];
    await new Promise((resolve) => setImmediate(resolve));

    expect(outcomes).toEqual([{ ok: false, error: expect.objectContaining({ name: 'AccessDenied' }) }]);
    // b's completion was done (after 15 throttles) before the batch returned, and nothing ran after.
    expect([bAtReturn, bCalls]).toEqual([16, 16]);
    expect(h.trail.length).toBe(callsAtReturn);
  });

  test('the deadline is per batch: the next batch without one gets the policy\'s 6 attempts again', async () => {
    const h = offlineHarness();
    h.autoScaling.on(CompleteLifecycleActionCommand).rejects(throttlingAsg());

    await h.handler.batch([lifecycleOf(0)], { deadline: h.clock.ms + 30_000 });
    h.autoScaling.resetHistory();
    const outcomes = await h.handler.batch([lifecycleOf(0)]);

    expect(outcomes).toEqual([{ ok: false, error: expect.objectContaining({ name: 'Throttling' }) }]);
    expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(6);
  });
});

describe('every kind of event in one batch', () => {
  test('each event gets its own outcome, in order', async () => {
    const h = harness();
    const spotInstance = instanceId(0x5);
    answerAgents(h, () => 'Online');
    acceptCommands(h);
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).callsFake((input) => asgInstances(Object.fromEntries(input.InstanceIds.map((id: string) => [
      id, id === spotInstance ? 'InService' : 'Terminated',
    ]))));
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ instances: [instanceId(0xc)] }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch([
      lifecycleOf(1),
      { source: 'aws.autoscaling', 'detail-type': 'EC2 Instance-terminate Lifecycle Action', detail: 'x' },
      spotEvent({ 'instance-id': spotInstance }),
      invocationEvent({ instance: instanceId(0xc) }),
      // An hour old: past the backstop's deferral.
      commandStatusEvent({ status: 'Failed', instances: [instanceId(0xd)] }, { time: '2026-11-20T21:30:00Z' }),
      lifecycleOf(2),
    ]);

    expect(results(outcomes)).toEqual([
      expect.objectContaining({ action: 'command-sent', trigger: 'lifecycle', instanceId: instanceId(1), commandInstances: 2 }),
      { action: 'rejected', reason: 'time: missing' },
      expect.objectContaining({ action: 'command-sent', trigger: 'spot', instanceId: spotInstance, commandInstances: 1 }),
      expect.objectContaining({ action: 'command-finished', instanceId: instanceId(0xc), rescued: true }),
      { action: 'ignored', reason: 'already-counted', instanceId: instanceId(0xd) },
      expect.objectContaining({ action: 'command-sent', trigger: 'lifecycle', instanceId: instanceId(2), commandInstances: 2 }),
    ]);
    // Lifecycle and Spot rescues never share a command: their parameters differ.
    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => [i.Parameters.trigger[0], i.InstanceIds]).sort()).toEqual([
      ['lifecycle', [instanceId(1), instanceId(2)]], ['spot', [spotInstance]],
    ]);
  });

  test('a batch of Spot warnings: one group check and one command for the instances of one warning second', async () => {
    const h = harness();
    const ids = [0, 1, 2].map(instanceId);
    h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [ids[0]]: 'InService', [ids[1]]: 'InService', [ids[2]]: 'Terminating:Wait' }));
    answerAgents(h, () => 'Online');
    acceptCommands(h);

    const outcomes = await h.handler.batch(ids.map((id, k) => spotEvent({ 'instance-id': id }, { id: eventId(k) })));

    expect(inputs(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand))).toEqual([{ InstanceIds: ids, MaxRecords: 3 }]);
    expect(inputs(h.ssm.commandCalls(SendCommandCommand)).map((i: any) => [i.InstanceIds, i.Parameters])).toEqual([
      [[ids[0], ids[1]], { asgName: [ASG], hookName: ['none'], trigger: ['spot'], eventTime: ['20261120T230540Z'] }],
    ]);
    expect(results(outcomes)[2]).toEqual({ action: 'ignored', reason: 'lifecycle-hook-handles-it', instanceId: ids[2] });
    expect(h.sleeps).toEqual([]);
  });
});

describe('a batch of invocation statuses of many commands (a storm)', () => {
  /** Three commands of two instances each, as ListCommands lists them by document. */
  const listed = [0, 1, 2].map((c) => ({
    ...listedCommand({ commandId: commandIdOf(c), instances: [instanceId(2 * c), instanceId(2 * c + 1)] }).Commands[0],
  }));
  const statuses = () => [0, 1, 2, 3, 4, 5].map((k) => invocationEvent(
    { instance: instanceId(k), commandId: commandIdOf(k >> 1) }, { id: eventId(k) },
  ));

  test('one ListCommands by document for all of them, not one per command; each instance completed and counted', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).resolves({ Commands: listed });
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch(statuses());

    expect(inputs(h.ssm.commandCalls(ListCommandsCommand))).toEqual([{
      Filters: [{ key: 'DocumentName', value: DOCUMENT }, { key: 'InvokedAfter', value: '2026-11-20T22:29:02Z' }], MaxResults: 50,
    }]);
    expect(results(outcomes).map((r: any) => [r.action, r.rescued])).toEqual(new Array(6).fill(['command-finished', true]));
    expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([0, 1, 2, 3, 4, 5].map((k) => completeInput(instanceId(k))));
    expect(h.metrics().filter((m) => 'Rescued' in m)).toHaveLength(6);
  });

  test('the listing refused: each command read on its own, as before', async () => {
    const h = harness();
    h.ssm.on(ListCommandsCommand).rejects(new SSMServiceException({
      name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'not authorized',
    }));
    for (const c of listed) h.ssm.on(ListCommandsCommand, { CommandId: c.CommandId }).resolves({ Commands: [c] });
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});

    const outcomes = await h.handler.batch(statuses());

    expect(inputs(h.ssm.commandCalls(ListCommandsCommand)).slice(1)).toEqual(listed.map((c) => ({ CommandId: c.CommandId })));
    expect(results(outcomes).every((r: any) => r.action === 'command-finished' && r.rescued)).toBe(true);
    expect(h.logs()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'could not list the recent commands; reading each' }));
  });
});
