/**
 * The scale-in storm simulation (scripts/simulate.ts): the real handler through simulated Auto
 * Scaling, SSM, EventBridge, the event queue and Lambda on a virtual clock. Small storms here; the
 * 1,000-instance run is `npm run simulate -- --instances 1000`.
 *
 * @lane sim
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  DescribeInstanceInformationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand,
  type DescribeInstanceInformationCommandOutput, type ListCommandInvocationsCommandOutput, type ListCommandsCommandOutput,
} from '@aws-sdk/client-ssm';
import { CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { parseConfig } from '../config/load';
import { NOTHING_COLLECTED_EXIT_CODE } from '../config/patterns';
import { errorMessage, errorName, isRetryable } from '../handlers/log-rescue/retry';
import { LOOK_AGAIN_INTERVAL_MS } from '../handlers/log-rescue/timing';
import { runSimulation, SUMMARY_PATTERN, type SimulationResult } from '../scripts/simulate';
import { SimulatedAutoScaling } from '../scripts/sim/auto-scaling';
import type { BusEvent } from '../scripts/sim/event-shapes';
import { DEFAULT_OPTIONS, deploymentOptions, parseArgs } from '../scripts/sim/options';
import { median } from '../scripts/sim/run';
import { SimulatedSsm } from '../scripts/sim/ssm';
import { World, type InstanceRecord } from '../scripts/sim/world';
import { SimulatedLambda } from '../scripts/sim/lambda';
import { lifecycleActionEvent } from '../scripts/sim/event-shapes';
import { Random } from '../scripts/sim/random';

const ROOT = path.join(__dirname, '..');
const N = 50;
/** AWS's own event latencies set to zero: what is left of the hold is the upload and the design's own work. */
const INSTANT_AWS = { lifecycleEventDelayMs: 0, statusEventDelayMs: 0, eventBridgeLatencyMs: 0, eventBridgeJitterMs: 0, agentDeliveryMs: 0 };
const VISIBILITY = DEFAULT_OPTIONS.queueVisibilitySeconds;

const LIFECYCLE = 'EC2 Instance-terminate Lifecycle Action';
const INVOCATION_STATUS = 'EC2 Command Invocation Status-change Notification';
const COMMAND_STATUS = 'EC2 Command Status-change Notification';

type Message = SimulationResult['lambda']['messages'][number];
const offlineCount = (r: SimulationResult) => r.perInstance.filter((p) => p.agent !== 'online').length;
const byKind = (r: SimulationResult, detailType: string) => r.lambda.messages.filter((m) => m.detailType === detailType);
const messagesOf = (r: SimulationResult, instanceId: string, detailType: string) =>
  r.lambda.messages.filter((m) => m.instanceId === instanceId && m.detailType === detailType);
/** Receives that failed before the one that went through (the message was deleted then). */
const failuresBeforeOk = (m: Message) => m.outcomes.indexOf('ok');
const failedFirst = (m: Message) => m.outcomes[0] !== 'ok';

const ERROR_LOG = 'error:event failed; the queue retries it, then moves it to the dead-letter queue';
const DEFERRED_LOG = 'info:event deferred; the queue delivers it again after its visibility timeout';

/**
 * No failure injected: lifecycle events and invocation statuses go through on their first receive.
 * A command-level status is the backstop for an instance whose invocation status never went
 * through; the handler defers it once (a batch item failure, logged as a deferral, not an error),
 * so it acts a visibility timeout later, after the invocation statuses have had their turn.
 */
function expectNoFailureButTheBackstopDeferral(r: SimulationResult): void {
  for (const m of r.lambda.messages) {
    const expected = m.detailType === COMMAND_STATUS ? ['failed', 'ok'] : ['ok'];
    expect([m.detailType, m.instanceId, m.outcomes, m.deadLettered]).toEqual([m.detailType, m.instanceId, expected, false]);
  }
  const commandStatuses = byKind(r, COMMAND_STATUS).length;
  expect([r.lambda.redeliveries, r.handler.logs[DEFERRED_LOG], r.handler.logs[ERROR_LOG]]).toEqual([commandStatuses, commandStatuses, undefined]);
  expect([r.lambda.functionErrors, r.lambda.timeouts, r.dlq]).toEqual([0, 0, 0]);
}

/**
 * The handler counts an instance in the Rescued / NotRescued metrics when it completes its
 * lifecycle action, and only then: one whose action expired is counted nowhere, none twice.
 */
function expectCountedOncePerCompletion(r: SimulationResult): void {
  const completed = r.perInstance.filter((p) => p.release === 'completed');
  expect(r.handler.metrics.Rescued ?? 0).toBe(completed.filter((p) => p.rescued).length);
  expect(r.handler.metrics.NotRescued ?? 0).toBe(completed.filter((p) => !p.rescued).length);
}

describe('defaults', () => {
  test('the deployment defaults are the config schema defaults, as the log-rescue stack derives them', () => {
    const fromConfig = deploymentOptions(parseConfig({ logRescue: { autoScalingGroups: ['web-fleet'] } }));
    expect(Object.keys(fromConfig).length).toBeGreaterThan(10);
    for (const [key, value] of Object.entries(fromConfig)) {
      expect([key, DEFAULT_OPTIONS[key as keyof typeof DEFAULT_OPTIONS]]).toEqual([key, value]);
    }
  });

  test('failure injection is off by default; throttling, offline agents and duplicates are on', () => {
    expect(DEFAULT_OPTIONS).toMatchObject({
      commandFailureShare: 0, commandTimeoutShare: 0, lambdaFailureShare: 0, deliveryFailureShare: 0,
      offlineShare: 0.05, sendCommandRate: 20,
    });
    expect(DEFAULT_OPTIONS.duplicateShare).toBeGreaterThan(0);
  });

  test('flags: shares as fractions or percentages, the queue knobs, every bad value reported at once', () => {
    expect(parseArgs(['--instances', '1000', '--offline=5%', '--command-failures', '0.1', '--no-check']).options)
      .toEqual({ instances: 1000, offlineShare: 0.05, commandFailureShare: 0.1 });
    expect(parseArgs(['--batch-size', '10', '--batch-window', '0.5', '--visibility', '200', '--max-receives', '5', '--lambda-failures', '30%']).options)
      .toEqual({ batchSize: 10, batchWindowSeconds: 0.5, queueVisibilitySeconds: 200, maxReceiveCount: 5, lambdaFailureShare: 0.3 });
    expect(() => parseArgs(['--instances', '0', '--offline', '150%', '--bogus', '1'])).toThrow(
      /--instances "0": expected an integer in 1\.\.100000\n--offline "150%": expected a share.*\nunknown argument "--bogus"/,
    );
    // --concurrency is the event source mapping's maximum concurrency, the cap on the consumer.
    expect(parseArgs(['--concurrency', '5']).options).toEqual({ maximumConcurrency: 5 });
    // SQS hands a Lambda at most 50 messages per batch here (and SendCommand takes 50 instances).
    expect(() => parseArgs(['--batch-size', '51'])).toThrow(/--batch-size "51": expected an integer in 1\.\.50/);
    // The async-invocation knobs went with Lambda's async retries.
    expect(() => parseArgs(['--lambda-failure-attempts', '3', '--lambda-max-age', '60'])).toThrow(
      /unknown argument "--lambda-failure-attempts"\nunknown argument "3"\nunknown argument "--lambda-max-age"/,
    );
  });
});

describe('simulated AWS answers as the SDK clients would', () => {
  const ID = 'i-0123456789abcdef0';
  function instance(w: World, id: string, patch: Partial<InstanceRecord> = {}): InstanceRecord {
    const rec: InstanceRecord = {
      id, agent: 'online', platform: 'Linux', outcome: 'success', uploadSeconds: 3, rng: new Random(1, id), enterAt: w.now(),
      state: 'Terminating:Wait', commandsSent: 0, commandsRun: 0, statuses: [], stamps: {}, ...patch,
    };
    w.instances.set(rec.id, rec);
    return rec;
  }
  function world(overrides = {}) {
    const w = new World({ ...DEFAULT_OPTIONS, ...overrides });
    return { w, rec: instance(w, ID) };
  }
  const settle = async <T>(w: World, p: Promise<T>) => {
    const out = p.then((v) => ({ v }), (e: unknown) => ({ e }));
    await w.clock.run(w.now() + 10_000);
    return out;
  };
  const errorOf = (x: { v: unknown } | { e: unknown }) => {
    expect(x).toHaveProperty('e');
    return (x as { e: unknown }).e;
  };
  const good = { asgName: ['web-fleet'], hookName: ['log-rescue'], trigger: ['lifecycle'], eventTime: ['20261120T223000Z'] };
  /** As the handler sends it: every instance at once, one failure never stopping the others. */
  const send = (params: Record<string, string[]>, ids = [ID], extra: Partial<SendCommandCommand['input']> = { MaxConcurrency: '100%', MaxErrors: '100%' }) =>
    new SendCommandCommand({ DocumentName: DEFAULT_OPTIONS.documentName, InstanceIds: ids, TimeoutSeconds: 60, Parameters: params, ...extra });
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `i-0${(0xa0000000 + i).toString(16)}00000000`);

  test('SendCommand is checked against the real document: a parameter outside its allowedPattern is InvalidParameters', async () => {
    const { w } = world();
    const ssm = new SimulatedSsm(w, () => undefined);
    const ok = await settle(w, ssm.send(send(good)));
    expect(ok).toMatchObject({ v: { Command: { Status: 'Pending', Parameters: good } } });
    const bad = await settle(w, ssm.send(send({ ...good, eventTime: ['2026-11-20 22:30'] })));
    expect(errorName(errorOf(bad))).toBe('InvalidParameters');
    const missing = await settle(w, ssm.send(send({ hookName: ['log-rescue'] })));
    expect(errorMessage(errorOf(missing))).toMatch(/asgName/);
  });

  test('a multi-instance command without MaxConcurrency and MaxErrors 100% is refused (ValidationException, not retried)', async () => {
    const { w } = world();
    const [a, b] = ids(2).map((id) => instance(w, id));
    const ssm = new SimulatedSsm(w, () => undefined);
    // SSM's own defaults (MaxErrors 0) would stop the rescue of every other instance at the first failure.
    for (const extra of [{}, { MaxConcurrency: '100%' }, { MaxErrors: '100%' }, { MaxConcurrency: '50', MaxErrors: '100%' }]) {
      const err = errorOf(await settle(w, ssm.send(send(good, [a.id, b.id], extra))));
      expect([JSON.stringify(extra), errorName(err), isRetryable(err)]).toEqual([JSON.stringify(extra), 'ValidationException', false]);
    }
    expect([ssm.commandsAccepted, a.commandsSent, b.commandsSent]).toEqual([0, 0, 0]);
    // One instance needs neither; with both, fifty are one command.
    expect(await settle(w, ssm.send(send(good, [a.id], {})))).toHaveProperty('v');
    const fifty = ids(50).map((id) => w.instances.get(id) ?? instance(w, id));
    expect(await settle(w, ssm.send(send(good, fifty.map((r) => r.id))))).toMatchObject({ v: { Command: { TargetCount: 50 } } });
    const tooMany = errorOf(await settle(w, ssm.send(send(good, [...fifty.map((r) => r.id), ID]))));
    expect(errorName(tooMany)).toBe('ValidationException');
    expect([ssm.commandsAccepted, ssm.invocationsAccepted]).toEqual([2, 51]);
  });

  test('one instance SSM does not know refuses the whole command (InvalidInstanceId): no copy runs anywhere', async () => {
    const { w, rec } = world();
    const unregistered = instance(w, 'i-0fedcba9876543210', { agent: 'not-registered' });
    const published: BusEvent[] = [];
    const ssm = new SimulatedSsm(w, (e) => published.push(e));
    for (const other of ['i-0aaaaaaaaaaaaaaa0', unregistered.id]) {
      const err = errorOf(await settle(w, ssm.send(send(good, [rec.id, other]))));
      expect(errorName(err)).toBe('InvalidInstanceId');
      expect(errorMessage(err)).toContain(other);
      expect(isRetryable(err)).toBe(false);
    }
    await w.clock.run(w.now() + 120_000);
    expect([ssm.commandsAccepted, rec.commandsSent, rec.commandsRun, published.length]).toEqual([0, 0, 0, 0]);
  });

  test('each instance\'s copy has its own invocation events; the command-level event comes once, after every copy ended', async () => {
    for (const [outcomes, overall] of [[['success', 'success', 'success'], 'Success'], [['success', 'failed', 'success'], 'Failed']] as const) {
      const w = new World({ ...DEFAULT_OPTIONS });
      const recs = ids(3).map((id, i) => instance(w, id, { outcome: outcomes[i], uploadSeconds: 2 + 3 * i }));
      const published: Array<{ at: number; event: BusEvent }> = [];
      const ssm = new SimulatedSsm(w, (event) => published.push({ at: w.now(), event }));
      const sent = await settle(w, ssm.send(send(good, recs.map((r) => r.id))));
      const commandId = (sent as { v: { Command: { CommandId: string } } }).v.Command.CommandId;
      await w.clock.run(w.now() + 60_000);

      const invocationEvents = published.filter((p) => p.event['detail-type'] === INVOCATION_STATUS);
      const commandEvents = published.filter((p) => p.event['detail-type'] === COMMAND_STATUS);
      for (const [i, rec] of recs.entries()) {
        const own = invocationEvents.filter((p) => p.event.detail['instance-id'] === rec.id);
        const status = outcomes[i] === 'success' ? 'Success' : 'Failed';
        expect([rec.id, own.map((p) => p.event.detail.status)]).toEqual([rec.id, ['InProgress', status]]);
        for (const p of own) {
          expect(p.event.resources).toEqual([`arn:aws:ec2:us-east-1:123456789012:instance/${rec.id}`]);
          expect(p.event.detail).toMatchObject({ 'command-id': commandId, 'document-name': DEFAULT_OPTIONS.documentName });
          // The handler reads the command's parameters with ListCommands: the invocation event has none.
          expect(p.event.detail).not.toHaveProperty('parameters');
        }
        expect(own[1].at).toBeGreaterThanOrEqual(rec.stamps.commandEnded!);
        expect(rec.statuses).toEqual([status]);
      }
      expect(invocationEvents).toHaveLength(6);
      expect(commandEvents).toHaveLength(1);
      const [command] = commandEvents;
      expect(command.at).toBeGreaterThanOrEqual(Math.max(...recs.map((r) => r.stamps.commandEnded!)));
      expect(command.event.resources).toEqual(recs.map((r) => `arn:aws:ec2:us-east-1:123456789012:instance/${r.id}`));
      expect(command.event.detail).toMatchObject({ 'command-id': commandId, status: overall, parameters: good });

      const listed = (await settle(w, ssm.send(new ListCommandsCommand({ CommandId: commandId })))) as { v: ListCommandsCommandOutput };
      expect(listed.v.Commands).toHaveLength(1);
      expect(listed.v.Commands![0]).toMatchObject({
        CommandId: commandId, DocumentName: DEFAULT_OPTIONS.documentName, Parameters: good, Status: overall,
        InstanceIds: recs.map((r) => r.id), TargetCount: 3, CompletedCount: 3, ErrorCount: overall === 'Success' ? 0 : 1,
      });
      const invocations = (await settle(w, ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId })))) as { v: ListCommandInvocationsCommandOutput };
      expect(invocations.v.CommandInvocations!.map((c) => [c.InstanceId, c.Status]))
        .toEqual(recs.map((r, i) => [r.id, outcomes[i] === 'success' ? 'Success' : 'Failed']));
      const unknown = errorOf(await settle(w, ssm.send(new ListCommandsCommand({ CommandId: '6f0d6ad2-0d8e-4b5c-9a55-1b2f3e4d5c6b' }))));
      expect(errorName(unknown)).toBe('InvalidCommandId');
    }
  });

  test('ListCommands by document and InvokedAfter, newest first, in pages of 1..50; InstanceId with Status Pending refused; ListCommandInvocations Details gives each exit code', async () => {
    const w = new World({ ...DEFAULT_OPTIONS });
    const recs = ids(3).map((id, i) => instance(w, id, { outcome: (['success', 'failed', 'nothing-collected'] as const)[i], uploadSeconds: 2 }));
    const ssm = new SimulatedSsm(w, () => undefined);
    const startedAt = w.isoSeconds(w.now());
    const commandIds: string[] = [];
    for (const rec of recs) {
      const sent = (await settle(w, ssm.send(send(good, [rec.id])))) as { v: { Command: { CommandId: string } } };
      commandIds.push(sent.v.Command.CommandId);
    }
    const list = async (input: ListCommandsCommand['input']) => (await settle(w, ssm.send(new ListCommandsCommand(input)))) as { v: ListCommandsCommandOutput };
    const byDocument = { Filters: [{ key: 'DocumentName' as const, value: DEFAULT_OPTIONS.documentName }, { key: 'InvokedAfter' as const, value: startedAt }] };
    const first = await list({ ...byDocument, MaxResults: 2 });
    expect(first.v.Commands!.map((c) => c.CommandId)).toEqual([commandIds[2], commandIds[1]]);
    const second = await list({ ...byDocument, MaxResults: 2, NextToken: first.v.NextToken });
    expect([second.v.Commands!.map((c) => c.CommandId), second.v.NextToken]).toEqual([[commandIds[0]], undefined]);
    expect((await list({ Filters: [{ key: 'InvokedAfter', value: w.isoSeconds(w.now() + 60_000) }] })).v.Commands).toEqual([]);
    expect((await list({ Filters: [{ key: 'DocumentName', value: 'AWS-RunShellScript' }] })).v.Commands).toEqual([]);
    expect(errorName(errorOf(await settle(w, ssm.send(new ListCommandsCommand({ InstanceId: recs[0].id, Filters: [{ key: 'Status', value: 'Pending' }] })))))).toBe('ValidationException');
    expect(errorName(errorOf(await settle(w, ssm.send(new ListCommandsCommand({ MaxResults: 51 })))))).toBe('ValidationException');

    await w.clock.run(w.now() + 60_000);
    const codes = await Promise.all(commandIds.map(async (commandId, i) => {
      const out = (await settle(w, ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, InstanceId: recs[i].id, Details: true })))) as { v: ListCommandInvocationsCommandOutput };
      return out.v.CommandInvocations!.map((c) => [c.Status, c.CommandPlugins?.map((p) => [p.Name, p.ResponseCode])]);
    }));
    expect(codes).toEqual([
      [['Success', [['uploadLogs', 0]]]], [['Failed', [['uploadLogs', 1]]]], [['Failed', [['uploadLogs', NOTHING_COLLECTED_EXIT_CODE]]]],
    ]);
    // Without Details, no plugins (what the handler asks when it needs no exit code).
    const plain = (await settle(w, ssm.send(new ListCommandInvocationsCommand({ CommandId: commandIds[0] })))) as { v: ListCommandInvocationsCommandOutput };
    expect(plain.v.CommandInvocations![0]).not.toHaveProperty('CommandPlugins');
  });

  test('a Windows agent: PlatformType Windows, and the document\'s precondition skips the step (Success, nothing uploaded)', async () => {
    const w = new World({ ...DEFAULT_OPTIONS });
    const rec = instance(w, ids(1)[0], { platform: 'Windows' });
    const ssm = new SimulatedSsm(w, () => undefined);
    const described = (await settle(w, ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [rec.id] }], MaxResults: 5 })))) as { v: DescribeInstanceInformationCommandOutput };
    expect(described.v.InstanceInformationList![0].PlatformType).toBe('Windows');
    await settle(w, ssm.send(send(good, [rec.id])));
    await w.clock.run(w.now() + 60_000);
    expect([rec.statuses, rec.uploadedAt]).toEqual([['Success'], undefined]);
  });

  test('DescribeInstanceInformation: pages of MaxResults (5..50) linked by NextToken; unregistered instances are not listed', async () => {
    const w = new World({ ...DEFAULT_OPTIONS });
    const recs = ids(12).map((id, i) => instance(w, id, { agent: i === 3 ? 'connection-lost' : i === 7 ? 'not-registered' : 'online' }));
    const ssm = new SimulatedSsm(w, () => undefined);
    const describe = (input: Partial<DescribeInstanceInformationCommand['input']>) => settle(w, ssm.send(new DescribeInstanceInformationCommand({
      Filters: [{ Key: 'InstanceIds', Values: recs.map((r) => r.id) }], ...input,
    })));
    const pages: DescribeInstanceInformationCommandOutput[] = [];
    let token: string | undefined;
    do {
      const page = (await describe({ MaxResults: 5, NextToken: token })) as { v: DescribeInstanceInformationCommandOutput };
      pages.push(page.v);
      token = page.v.NextToken;
    } while (token && pages.length < 10);
    expect(pages.map((p) => p.InstanceInformationList!.length)).toEqual([5, 5, 1]);
    expect(pages.map((p) => p.NextToken !== undefined)).toEqual([true, true, false]);
    const listed = pages.flatMap((p) => p.InstanceInformationList!).map((i) => [i.InstanceId, i.PingStatus]);
    expect(listed).toEqual(recs.filter((r) => r.agent !== 'not-registered').map((r) => [r.id, r.agent === 'online' ? 'Online' : 'ConnectionLost']));
    for (const max of [4, 51]) expect(errorName(errorOf(await describe({ MaxResults: max })))).toBe('ValidationException');
    expect(errorName(errorOf(await describe({ Filters: [{ Key: 'InstanceIds', Values: ['web-1'] }] })))).toBe('InvalidInstanceInformationFilterValue');
  });

  test('over the rate limit: a ThrottlingException the handler retries', async () => {
    const { w } = world({ sendCommandRate: 1, sendCommandBurst: 1 });
    const ssm = new SimulatedSsm(w, () => undefined);
    const [a, b] = await Promise.all([settle(w, ssm.send(send(good))), settle(w, ssm.send(send(good)))]);
    expect(a).toHaveProperty('v');
    const err = errorOf(b) as { name: string; $metadata: { httpStatusCode: number } };
    expect(err).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(isRetryable(err)).toBe(true);
  });

  test('completing an action twice: the second is the ValidationError "No active Lifecycle Action found"', async () => {
    const { w } = world();
    const asg = new SimulatedAutoScaling(w, () => undefined);
    const complete = () => new CompleteLifecycleActionCommand({
      AutoScalingGroupName: 'web-fleet', LifecycleHookName: 'log-rescue', InstanceId: ID, LifecycleActionResult: 'CONTINUE',
    });
    expect(await settle(w, asg.send(complete()))).toHaveProperty('v');
    const second = errorOf(await settle(w, asg.send(complete())));
    expect(errorName(second)).toBe('ValidationError');
    expect(errorMessage(second)).toBe(`No active Lifecycle Action found with instance ID ${ID}`);
  });

  test('RecordLifecycleActionHeartbeat restarts the full heartbeat timeout; once released, "No active Lifecycle Action found"', async () => {
    const { w, rec } = world({ heartbeatTimeoutSeconds: 300 });
    const asg = new SimulatedAutoScaling(w, () => undefined);
    rec.state = 'InService';
    asg.startScaleIn();
    await w.clock.run(w.now());
    expect(rec.actionExpiresAt).toBe(rec.enterAt + 300_000);
    const heartbeat = () => new RecordLifecycleActionHeartbeatCommand({
      AutoScalingGroupName: 'web-fleet', LifecycleHookName: 'log-rescue', InstanceId: ID,
    });
    // The clock runs only to its next callback: give it one at each time of interest.
    const advanceTo = (t: number) => { w.clock.at(t, () => undefined); return w.clock.run(t); };
    await advanceTo(rec.enterAt + 200_000);
    const sentAt = w.now();
    expect(sentAt).toBe(rec.enterAt + 200_000);
    expect(await settle(w, asg.send(heartbeat()))).toHaveProperty('v');
    expect(rec.actionExpiresAt).toBeGreaterThan(sentAt + 300_000);
    expect(rec.actionExpiresAt).toBeLessThan(sentAt + 301_000);
    // Past the first expiry, still held; expired at the new one.
    await advanceTo(rec.enterAt + 400_000);
    expect(rec.state).toBe('Terminating:Wait');
    await advanceTo(rec.actionExpiresAt! + 1);
    expect([rec.state, rec.release]).toEqual(['Terminating:Proceed', 'expired']);
    const late = errorOf(await settle(w, asg.send(heartbeat())));
    expect(errorMessage(late)).toBe(`No active Lifecycle Action found with instance ID ${ID}`);
  });
});

describe('a storm of 50 instances with the defaults', () => {
  test.each([1, 2, 3])('seed %i: every online instance rescued, none stuck, nothing in the DLQ, batched into few commands and invocations', async (seed) => {
    const r = await runSimulation({ instances: N, seed });

    expect(offlineCount(r)).toBe(Math.round(N * DEFAULT_OPTIONS.offlineShare));
    expect(r.rescuable).toBe(r.online);
    expect(r.rescued).toBe(r.online);
    for (const p of r.perInstance) expect([p.id, p.rescued]).toEqual([p.id, p.agent === 'online']);
    expect(r.rescued + r.notRescued).toBe(N);
    expect(r.stuck).toBe(0);
    expect(r.expired).toBe(0);
    expect(r.dlq).toBe(0);
    expectCountedOncePerCompletion(r);
    // Offline agents: released after the bounded online wait, not at the heartbeat.
    for (const p of r.perInstance.filter((x) => x.agent !== 'online')) {
      expect(p.holdSeconds).toBeGreaterThanOrEqual(DEFAULT_OPTIONS.onlineWaitSeconds);
      expect(p.holdSeconds).toBeLessThan(DEFAULT_OPTIONS.onlineWaitSeconds + 30);
      expect(p.commandsSent).toBe(0);
    }
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(
      r.checks.find((c) => c.name === 'p50_hold')!.ok ? [] : ['p50_hold'],
    );

    // Batching: 50 instances entering over 5 s are about 10 events per 1 s batch window, so one
    // invocation and one SendCommand cover many instances. (Measured, seeds 1-3: 13, 9, 12 commands
    // for 47 online instances; batches of up to 13-15 messages; 24, 21, 23 invocations.)
    expect(r.lambda.maxBatch).toBeGreaterThanOrEqual(10);
    expect(r.commandsSent).toBeLessThan(r.online / 3);
    expect(r.invocations).toBeLessThan(0.6 * N);
    expect(r.lambda.maxConcurrent).toBeLessThanOrEqual(DEFAULT_OPTIONS.maximumConcurrency);
    // Every online instance had a command; a repeated lifecycle event may add one (same archive key).
    expect(r.commandInstances).toBe(r.perInstance.reduce((n, p) => n + p.commandsSent, 0));
    for (const p of r.perInstance.filter((x) => x.agent === 'online')) {
      expect(p.commandsSent).toBeGreaterThanOrEqual(1);
      expect(p.commandsSent).toBeLessThanOrEqual(messagesOf(r, p.id, LIFECYCLE).length);
    }

    // Every event the rules matched is one message (a duplicate delivery, another), and so is each
    // event the handler sent back to look at an agent again.
    expect(r.lambda.messages).toHaveLength(r.eventBridge.matched + r.eventBridge.duplicates + r.lambda.requeued);
    expect(r.eventBridge.deliveries).toBe(r.lambda.messages.length - r.lambda.requeued);
    // The online wait holds no invocation: an offline agent's event comes back every 5 s until the
    // wait is over (4 times for 20 s), each copy received once and handled, so the wait spends none
    // of the receives the redrive policy allows for failures.
    const sentBack = r.lambda.messages.filter((m) => m.waitStartedAt !== undefined);
    expect(sentBack).toHaveLength(r.lambda.requeued);
    for (const p of r.perInstance.filter((x) => x.agent !== 'online')) {
      const copies = sentBack.filter((m) => m.instanceId === p.id);
      expect(copies.length).toBeGreaterThanOrEqual(DEFAULT_OPTIONS.onlineWaitSeconds / 5);
      expect(copies.length % (DEFAULT_OPTIONS.onlineWaitSeconds / 5)).toBe(0);
      for (const m of copies) expect([m.detailType, m.receives, m.outcomes, m.waitStartedAt! <= m.sentAt]).toEqual([LIFECYCLE, 1, ['ok'], true]);
    }
    expect(new Set(sentBack.map((m) => m.instanceId))).toEqual(new Set(r.perInstance.filter((x) => x.agent !== 'online').map((p) => p.id)));
    // Non-terminal invocation statuses (InProgress, one per copy) never reach the handler: the rule filters them.
    expect(r.eventBridge.published - r.eventBridge.matched).toBe(r.commandInstances);
    expect(byKind(r, INVOCATION_STATUS).length).toBeGreaterThanOrEqual(r.commandInstances);
    expect(byKind(r, COMMAND_STATUS).length).toBeGreaterThanOrEqual(r.commandsSent);
    expectNoFailureButTheBackstopDeferral(r);
    // The invocation statuses released every instance: the backstop found none left to release.
    expect(r.handler.results.backstop).toBeUndefined();
  });

  /*
   * What the design adds to an upload is two trips through the event queue (the lifecycle event,
   * then the invocation status), each waiting for its batch window to close (at most 1 s, about
   * half of that at the median), and a few API round trips. With every AWS latency at zero the
   * 2 s target holds for that work, measured p50 - median upload 1.61, 1.60, 1.57 s for seeds 1-3
   * (at most 1.92 s over seeds 1-40).
   *
   * With the 300 ms cold starts a storm meets at least one (Lambda's latency, like the event
   * latencies zeroed here); a message meets at most one per trip, which bounds the median.
   * (Measured: one cold start each, 1.94, 1.65, 1.70 s.)
   */
  test.each([1, 2, 3])('seed %i: the design adds at most 2 s to the median upload when AWS delivers its events at once and starts warm', async (seed) => {
    const r = await runSimulation({ instances: N, seed, ...INSTANT_AWS, coldStartMs: 0 });
    expect(r.p50HoldSeconds).toBeLessThanOrEqual(r.medianUploadSeconds + 2);
    expect(r.ok).toBe(true);
    expect(r.medianUploadSeconds).toBeCloseTo(median(r.perInstance.filter((p) => p.rescued).map((p) => p.uploadSeconds)), 9);
    // Each trip waits at most the batch window (and the poller's delay); the batches are not waiting to fill.
    const trip = DEFAULT_OPTIONS.batchWindowSeconds + DEFAULT_OPTIONS.lambdaQueueDelayMs / 1000;
    expect(r.stageMedians.to_handler).toBeLessThanOrEqual(trip);
    expect(r.stageMedians.to_release).toBeLessThanOrEqual(trip);
    expect(r.lambda.maxBatch).toBeGreaterThan(1);

    const cold = await runSimulation({ instances: N, seed, ...INSTANT_AWS });
    expect(cold.lambda.coldStarts).toBeGreaterThanOrEqual(1);
    expect(cold.p50HoldSeconds).toBeLessThanOrEqual(cold.medianUploadSeconds + 2 + 2 * (DEFAULT_OPTIONS.coldStartMs / 1000));
  });

  test('without batching (batch size 1) each instance takes its own invocations and its own command: batching is what saves them', async () => {
    const batched = await runSimulation({ instances: N, seed: 1 });
    const r = await runSimulation({ instances: N, seed: 1, batchSize: 1 });
    expect(r.lambda.maxBatch).toBe(1);
    // One invocation per receive (a command-level status is received twice: see the deferral).
    expect(r.invocations).toBe(r.lambda.messages.reduce((n, m) => n + m.receives, 0));
    expectNoFailureButTheBackstopDeferral(r);
    expect(r.commandsSent).toBe(r.commandInstances);
    expect(r.commandsSent).toBeGreaterThanOrEqual(r.online);
    expect([r.rescued, r.stuck, r.dlq]).toEqual([r.online, 0, 0]);
    // Measured: 24 invocations and 13 commands batched, 198 and 48 not.
    expect(batched.invocations).toBeLessThan(r.invocations / 5);
    expect(batched.commandsSent).toBeLessThan(r.commandsSent / 3);
  });

});

test('command failures and timeouts: exactly those are not rescued, and each is released promptly (none stuck)', async () => {
  const r = await runSimulation({ instances: N, seed: 7, commandFailureShare: 0.2, commandTimeoutShare: 0.06 });
  const online = r.perInstance.filter((p) => p.agent === 'online');
  const failed = online.filter((p) => p.drawnOutcome === 'failed');
  const timedOut = online.filter((p) => p.drawnOutcome === 'timed-out');
  expect(failed.length).toBeGreaterThanOrEqual(3);
  expect(timedOut.length).toBeGreaterThanOrEqual(1);

  expect(r.notRescued - offlineCount(r)).toBe(failed.length + timedOut.length);
  expect(r.rescued).toBe(r.rescuable);
  for (const p of [...failed, ...timedOut]) expect(p.rescued).toBe(false);
  for (const p of failed) {
    expect(p.statuses[0]).toBe('Failed');
    expect(p.release).toBe('completed');
    expect(p.holdSeconds).toBeLessThan(60);
  }
  for (const p of timedOut) {
    // Released by the TimedOut status at the execution timeout, well before the heartbeat.
    expect(p.statuses[0]).toBe('TimedOut');
    expect(p.release).toBe('completed');
    expect(p.holdSeconds).toBeGreaterThanOrEqual(DEFAULT_OPTIONS.executionTimeoutSeconds);
    expect(p.holdSeconds).toBeLessThan(DEFAULT_OPTIONS.executionTimeoutSeconds + 30);
  }
  expect(r.stuck).toBe(0);
  expect(r.dlq).toBe(0);
  expect(r.checks.find((c) => c.name === 'rescued')!.ok).toBe(true);
  expectCountedOncePerCompletion(r);
  // The invocation statuses released them; the command-level statuses of the commands that did not
  // succeed everywhere found nothing left to release, or released what was.
  expect(r.handler.metrics['NotRescued:command-failed']).toBe(failed.length);
  expect(r.handler.metrics['NotRescued:command-timedout']).toBe(timedOut.length);
});

describe('invocation failures: the event queue retries what failed, the DLQ takes what failed on every receive', () => {
  /** The redrive limit of the default deployment: receives that span the 900 s heartbeat. */
  const RECEIVES = DEFAULT_OPTIONS.maxReceiveCount;
  /**
   * Three receives (fewer than any valid deployment has: 4 at the shortest heartbeat), so that at
   * 30% failed invocations some events fail on every receive, and what follows a dead letter shows.
   */
  const FEW_RECEIVES = { maxReceiveCount: 3 };

  /** Receives each instance's events failed before going through, by kind. */
  const failuresOf = (r: SimulationResult, id: string, kind: string) => messagesOf(r, id, kind).reduce((n, m) => n + failuresBeforeOk(m), 0);

  test('within the budget: failed messages come back a visibility timeout later and go through; nothing lost', async () => {
    const base = await runSimulation({ instances: N, seed: 7 });
    const r = await runSimulation({ instances: N, seed: 7, lambdaFailureShare: 0.3 });
    expect(r.lambda.injectedInvocations).toBeGreaterThanOrEqual(3);
    expect(r.invocations).toBeGreaterThan(base.invocations);

    // The handler reports the events that needed AWS as batch item failures instead of failing the
    // invocation, so the rest of each batch is deleted and only those come back.
    expect([r.lambda.functionErrors, r.lambda.timeouts]).toEqual([0, 0]);
    for (const m of r.lambda.messages) {
      expect(m.outcomes).toEqual([...Array<string>(m.receives - 1).fill('failed'), 'ok']);
      expect(m.deadLettered).toBe(false);
    }
    const retried = r.lambda.messages.filter((m) => m.receives > 1);
    for (const kind of [LIFECYCLE, INVOCATION_STATUS]) expect([kind, retried.some((m) => m.detailType === kind)]).toEqual([kind, true]);
    expect(retried.some((m) => m.receives === 2 && m.detailType !== COMMAND_STATUS)).toBe(true);
    expect(retried.some((m) => m.receives === 3)).toBe(true);
    expect(r.lambda.redeliveries).toBe(retried.reduce((n, m) => n + m.receives - 1, 0));
    // Each failed receive is logged once: the injected failures as errors, the backstop's deferral as such.
    expect(r.handler.logs[DEFERRED_LOG]).toBe(byKind(r, COMMAND_STATUS).length);
    expect(r.handler.logs[ERROR_LOG] + r.handler.logs[DEFERRED_LOG]).toBe(r.lambda.redeliveries);

    // No message failed 3 times: nothing in the DLQ, every target but the hold met.
    expect(r.dlq).toBe(0);
    expect(r.rescued).toBe(r.online);
    expect([r.stuck, r.expired]).toEqual([0, 0]);
    expectCountedOncePerCompletion(r);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['p50_hold']);

    // Each failure costs the instance a visibility timeout (130 s), and not much more. Instances
    // with one lifecycle message and at most one invocation status (no duplicate, no second
    // command) show it plainly. A failed invocation status costs at least one visibility timeout:
    // whether its next receive releases the instance, or its command's status (deferred one).
    // (Measured: 33 of the 47 plain instances delayed; every hold at least 1.9 s above the lower
    // bound, and at most 16.1 s above (lifecycle + status failures) x 130 s.)
    const plain = r.perInstance.filter((p) => messagesOf(r, p.id, LIFECYCLE).length === 1 && messagesOf(r, p.id, INVOCATION_STATUS).length <= 1);
    expect(plain.length).toBeGreaterThan(40);
    expect(plain.filter((p) => failuresOf(r, p.id, LIFECYCLE) + failuresOf(r, p.id, INVOCATION_STATUS) > 0).length).toBeGreaterThan(10);
    for (const p of plain) {
      const lifecycle = failuresOf(r, p.id, LIFECYCLE);
      const status = failuresOf(r, p.id, INVOCATION_STATUS);
      // An offline agent is released after the online wait instead of after an upload; at once when
      // its event comes back after a failure (a first look that late does not wait).
      const normal = p.agent === 'online' || lifecycle > 0 ? 0 : DEFAULT_OPTIONS.onlineWaitSeconds;
      expect([p.id, p.holdSeconds >= (lifecycle + Math.min(status, 1)) * VISIBILITY + normal]).toEqual([p.id, true]);
      expect([p.id, p.holdSeconds < (lifecycle + status) * VISIBILITY + normal + 30]).toEqual([p.id, true]);
    }
  });

  test('beyond the budget (every invocation fails): every message dead-lettered after exactly 8 receives, every instance held to the heartbeat', async () => {
    expect(RECEIVES).toBe(8);
    const r = await runSimulation({ instances: N, seed: 3, lambdaFailureShare: 1 });
    expect(r.lambda.injectedInvocations).toBe(r.invocations);
    // Only lifecycle events: no command was ever sent, so no status followed.
    expect(r.commandsSent).toBe(0);
    expect(byKind(r, LIFECYCLE)).toHaveLength(r.lambda.messages.length);
    for (const m of r.lambda.messages) expect([m.receives, m.outcomes, m.deadLettered]).toEqual([RECEIVES, new Array(RECEIVES).fill('failed'), true]);
    expect(r.dlq).toBe(r.lambda.messages.length);
    expect(r.lambda.redeliveries).toBe((RECEIVES - 1) * r.lambda.messages.length);
    for (const d of r.deadLetters) {
      expect([d.from, d.reason, d.detailType]).toEqual(['queue-redrive', `received ${RECEIVES} times`, LIFECYCLE]);
      // Moved when it would have become visible once more: after the heartbeat, when no retry could help.
      expect(d.at - DEFAULT_OPTIONS.startMs).toBeGreaterThanOrEqual(RECEIVES * VISIBILITY * 1000);
      expect(d.at - DEFAULT_OPTIONS.startMs).toBeGreaterThan(DEFAULT_OPTIONS.heartbeatTimeoutSeconds * 1000);
    }
    // Every failure from the third receive on is counted for the events-failing alarm, each logged with its receive.
    expect(r.handler.metrics.EventsFailing).toBe((RECEIVES - 2) * r.lambda.messages.length);
    expect(r.handler.logs[ERROR_LOG]).toBe(RECEIVES * r.lambda.messages.length);
    expect(new Set(r.deadLetters.map((d) => d.instanceId))).toEqual(new Set(r.perInstance.map((p) => p.id)));

    for (const p of r.perInstance) {
      expect([p.id, p.release, p.stuck, p.holdSeconds]).toEqual([p.id, 'expired', true, DEFAULT_OPTIONS.heartbeatTimeoutSeconds]);
    }
    expect([r.stuck, r.rescued, r.handler.metrics.Rescued ?? 0, r.handler.metrics.NotRescued ?? 0]).toEqual([N, 0, 0, 0]);
    expect(r.ok).toBe(false);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(expect.arrayContaining(['rescued', 'stuck', 'dlq']));
  });

  /** Messages that failed 3 times are exactly those dead-lettered; the rest went through. */
  function expectDeadLetteredAfterThreeFailures(r: SimulationResult): Message[] {
    const dead = r.lambda.messages.filter((m) => m.deadLettered);
    expect(r.dlq).toBe(dead.length);
    for (const m of r.lambda.messages) {
      expect(m.outcomes).toEqual(m.deadLettered ? ['failed', 'failed', 'failed'] : [...Array<string>(m.receives - 1).fill('failed'), 'ok']);
    }
    expect(r.deadLetters.every((d) => d.from === 'queue-redrive' && d.reason === 'received 3 times')).toBe(true);
    return dead;
  }
  const allDeadLettered = (r: SimulationResult, id: string, kind: string) => {
    const ms = messagesOf(r, id, kind);
    return ms.length > 0 && ms.every((m) => m.deadLettered);
  };

  test('a lifecycle event dead-lettered: its instance is held to the heartbeat; so is one whose statuses were all lost', async () => {
    const r = await runSimulation({ instances: N, seed: 13, lambdaFailureShare: 0.3, ...FEW_RECEIVES });
    const dead = expectDeadLetteredAfterThreeFailures(r);
    expect(dead.length).toBeGreaterThanOrEqual(3);
    const lost = new Set(r.perInstance.filter((p) => allDeadLettered(r, p.id, LIFECYCLE)).map((p) => p.id));
    expect(lost.size).toBeGreaterThan(0);
    for (const p of r.perInstance) {
      if (lost.has(p.id)) expect([p.id, p.release, p.stuck, p.commandsSent]).toEqual([p.id, 'expired', true, 0]);
      // Otherwise stuck only when the invocation status and the command-level backstop were both dead-lettered.
      else if (p.stuck) expect([p.id, p.release, allDeadLettered(r, p.id, INVOCATION_STATUS)]).toEqual([p.id, 'expired', true]);
    }
    expect(r.stuck).toBeGreaterThanOrEqual(lost.size);
    expectCountedOncePerCompletion(r);
    expect(r.ok).toBe(false);
  });

  test('an invocation status dead-lettered: the command-level backstop releases its instance, counted once', async () => {
    const r = await runSimulation({ instances: N, seed: 14, lambdaFailureShare: 0.3, ...FEW_RECEIVES });
    const dead = expectDeadLetteredAfterThreeFailures(r);
    expect(dead.length).toBeGreaterThanOrEqual(3);
    expect(dead.every((m) => m.detailType === INVOCATION_STATUS)).toBe(true);
    const orphans = r.perInstance.filter((p) => allDeadLettered(r, p.id, INVOCATION_STATUS));
    expect(orphans.length).toBeGreaterThan(0);
    for (const p of orphans) {
      // The backstop acts on the command status's second receive at the earliest.
      expect([p.id, p.release, p.rescued, p.holdSeconds >= VISIBILITY]).toEqual([p.id, 'completed', true, true]);
    }
    expect(r.handler.results.backstop).toBeGreaterThan(0);
    expect(r.handler.logs['warn:command finished with instances still held; releasing them']).toBe(r.handler.results.backstop);
    expect([r.stuck, r.expired]).toEqual([0, 0]);
    expect(r.rescued).toBe(r.online);
    expectCountedOncePerCompletion(r);
    expect(r.handler.metrics.Rescued).toBe(r.rescued);
    // Only the DLQ target is missed (and the hold): nothing was lost, but the DLQ alarm rings.
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['dlq', 'p50_hold']);
  });
});

test('duplicates and reordering: no double counting, completion tolerated, no errors', async () => {
  const r = await runSimulation({ instances: N, seed: 5, duplicateShare: 0.5, eventBridgeJitterMs: 2000 });
  expect(r.eventBridge.duplicates).toBeGreaterThanOrEqual(30);
  // Every delivery is one message on the queue, handled in batches (and so is each event sent back).
  expect(r.lambda.messages).toHaveLength(r.eventBridge.deliveries + r.lambda.requeued);
  expect(r.lambda.messages).toHaveLength(r.eventBridge.matched + r.eventBridge.duplicates + r.lambda.requeued);
  expect(r.invocations).toBeLessThan(r.eventBridge.deliveries / 4);
  expect(r.rescued).toBe(r.online);
  expect(r.rescued + r.notRescued).toBe(N);
  // The repeated status events found the action gone: "No active Lifecycle Action found" was success,
  // and they counted nothing: every instance is in the metrics once.
  expect(r.handler.results['ignored:already-counted']).toBeGreaterThan(0);
  expect(r.handler.metrics.Rescued).toBe(r.rescued);
  expect(r.handler.metrics.NotRescued).toBe(r.notRescued);
  expect(r.checks.find((c) => c.name === 'metrics')!.ok).toBe(true);
  expectNoFailureButTheBackstopDeferral(r);
  expect(r.stuck).toBe(0);
  expect(r.perInstance.every((p) => p.release === 'completed')).toBe(true);
  // A repeated lifecycle event finds its rescue's command listed and sends none: one run per instance.
  // (Before the handler asked SSM, this run sent 18 second commands.)
  expect(r.perInstance.filter((p) => p.commandsSent > 1)).toEqual([]);
  expect(r.handler.results['ignored:already-sent']).toBeGreaterThan(0);
});

describe('what the check for commands already sent costs', () => {
  test('a call or two per batch with an agent online, never one per instance', async () => {
    const r = await runSimulation({ instances: N, seed: 3 });
    // Each lifecycle batch with an agent online asked once (a page or two), and each status
    // batch reads a command it did not list itself: never one call per instance.
    expect(r.ssmCalls.ListCommands).toBeLessThan(r.invocations * 2);
    expect(r.ssmCalls.ListCommands).toBeLessThan(r.online);
  });
});

describe('nothing collected, and Windows hosts, at storm scale', () => {
  test('each counted NotRescued with its own reason, once; Windows released at once, never sent the command; the rest as before', async () => {
    const r = await runSimulation({ instances: 200, seed: 8, nothingCollectedShare: 0.1, nonLinuxShare: 0.05 });
    const online = r.perInstance.filter((p) => p.agent === 'online');
    const windows = r.perInstance.filter((p) => p.platform === 'Windows');
    const empty = online.filter((p) => p.platform === 'Linux' && p.drawnOutcome === 'nothing-collected');
    expect(windows.length).toBe(10);
    expect(empty.length).toBeGreaterThanOrEqual(10);
    for (const p of windows) {
      expect([p.id, p.commandsSent, p.rescued, p.release]).toEqual([p.id, 0, false, 'completed']);
      // Released on its first look, not after the online wait.
      expect(p.holdSeconds).toBeLessThan(DEFAULT_OPTIONS.onlineWaitSeconds / 2);
    }
    for (const p of empty) expect([p.id, p.rescued, p.statuses[0]]).toEqual([p.id, false, 'Failed']);
    expect(r.handler.metrics['NotRescued:unsupported-platform']).toBe(windows.length);
    expect(r.handler.metrics['NotRescued:nothing-collected']).toBe(empty.length);
    expect(r.handler.metrics.Rescued).toBe(r.rescued);
    expect([r.rescued, r.stuck, r.dlq]).toEqual([r.rescuable, 0, 0]);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([]);
    // The exit codes were read once per command and batch, not per instance.
    expect(r.ssmCalls.ListCommandInvocations).toBeLessThan(empty.length);
  });
});

/*
 * The event queue's visibility timeout (handlers/log-rescue/timing.ts, rescueQueueVisibilitySeconds) is the
 * function timeout + 10 s, 130 s, not AWS's six function timeouts (720 s): a re-run is harmless
 * now, while every second of the timeout is a second a failed event holds its instance.
 */
describe('the visibility timeout, chosen', () => {
  test('a message that reappears while its first run is still going sends no second command, and counts once', async () => {
    // What six timeouts guard against, forced: 60 s, shorter than the runs of a storm queued behind
    // 1 completion/s (Lambda itself refuses a visibility timeout under the function timeout).
    const r = await runSimulation({ instances: 200, completeRate: 1, completeBurst: 1, queueVisibilitySeconds: 60, duplicateShare: 0 });
    expect(byKind(r, LIFECYCLE).filter((m) => m.receives > 1).length).toBeGreaterThan(20);
    // (Measured before the handler asked SSM for commands already sent: 45 instances ran twice.)
    expect(r.perInstance.filter((p) => p.commandsSent > 1)).toEqual([]);
    expect([r.rescued, r.stuck, r.dlq]).toEqual([r.rescuable, 0, 0]);
    expectCountedOncePerCompletion(r);
  });

  test('130 s against 720 s, with 30% of invocations failing: six timeouts hold every failed event\'s instance 12 minutes', async () => {
    const failing = { instances: 200, seed: 3, lambdaFailureShare: 0.3 };
    const chosen = await runSimulation(failing);
    const six = await runSimulation({
      ...failing, queueVisibilitySeconds: 6 * DEFAULT_OPTIONS.lambdaTimeoutSeconds,
      // As rescueQueueMaxReceiveCount would derive it: receives spanning the 900 s heartbeat, at least 5.
      maxReceiveCount: 5,
    });
    expect(chosen.options.queueVisibilitySeconds).toBe(130);
    // (Measured: p90 hold 138 s, stuck 0 at 130 s; p90 728 s, 53 stuck at 720 s.)
    expect([chosen.stuck, chosen.dlq]).toEqual([0, 0]);
    expect(six.stuck).toBeGreaterThan(20);
    expect(six.maxHoldSeconds).toBeGreaterThan(700);
    expect(chosen.maxHoldSeconds).toBeLessThan(2 * 130 + 30);
  });
});

test('offline agents hold no invocation: at concurrency 2 with 30% offline, no invocation lasts a poll interval and the online instances are not held up', async () => {
  const tight = { instances: N, seed: 3, maximumConcurrency: 2, batchSize: 10 };
  const r = await runSimulation({ ...tight, offlineShare: 0.3 });
  const none = await runSimulation({ ...tight, offlineShare: 0 });
  // Waiting in the invocation, one with an offline agent would last the whole 20 s wait.
  expect(r.lambda.maxInvocationSeconds).toBeLessThan(LOOK_AGAIN_INTERVAL_MS / 1000);
  expect([r.rescued, r.stuck, r.dlq]).toEqual([r.online, 0, 0]);
  expect(r.lambda.requeued).toBe(offlineCount(r) * (DEFAULT_OPTIONS.onlineWaitSeconds / (LOOK_AGAIN_INTERVAL_MS / 1000)));
  const onlineHolds = (x: SimulationResult) => median(x.perInstance.filter((p) => p.agent === 'online').map((p) => p.holdSeconds));
  // (Measured: 6.6 s against 6.35 s with every agent online; 59.1 s, and a 20.5 s invocation, when the wait held the invocation.)
  expect(onlineHolds(r)).toBeLessThan(onlineHolds(none) + 1);
  for (const p of r.perInstance.filter((x) => x.agent !== 'online')) {
    expect(p.holdSeconds).toBeGreaterThanOrEqual(DEFAULT_OPTIONS.onlineWaitSeconds);
    expect(p.holdSeconds).toBeLessThan(DEFAULT_OPTIONS.onlineWaitSeconds + 5);
  }
});

test('late duplicates of lifecycle events for released offline instances: no online wait, counted once', async () => {
  const r = await runSimulation({ instances: N, seed: 6, offlineShare: 0.3, duplicateShare: 0.5, duplicateDelayMaxMs: 60_000 });
  const released = r.handler.results['ignored:already-released'] ?? 0;
  expect(released).toBeGreaterThan(0);
  expect(r.handler.metrics.NotRescued).toBe(r.notRescued);
  expect(r.handler.metrics.Rescued).toBe(r.rescued);
  expect(r.stuck + r.dlq + r.lambda.functionErrors).toBe(0);
  expect(r.checks.find((c) => c.name === 'metrics')!.ok).toBe(true);
});

describe('SendCommand throttled, and EventBridge failing to deliver', () => {
  test('a storm over the SendCommand rate waits for it: every online instance is still rescued, none stuck', async () => {
    const r = await runSimulation({ instances: N, seed: 1, sendCommandRate: 0.2, sendCommandBurst: 1 });
    expect(r.api.sendCommand.throttled).toBeGreaterThan(r.api.sendCommand.allowed);
    expect(r.rescued).toBe(r.rescuable);
    expect(r.rescued).toBe(r.online);
    expect([r.stuck, r.expired, r.dlq]).toEqual([0, 0, 0]);
    expectCountedOncePerCompletion(r);
  });

  test('deliveries that fail are retried by the target\'s retry policy: a 30% failure share loses nothing', async () => {
    const r = await runSimulation({ instances: N, seed: 1, deliveryFailureShare: 0.3 });
    expect(r.eventBridge.deliveryFailures).toBeGreaterThan(10);
    // Every matched event (and duplicate) reached the queue in the end.
    expect(r.eventBridge.deliveries).toBe(r.eventBridge.matched + r.eventBridge.duplicates);
    expect(r.rescued).toBe(r.rescuable);
    expect([r.stuck, r.dlq]).toEqual([0, 0]);
  });

  test.each([
    ['every retry of the policy', {}, [DEFAULT_OPTIONS.eventBridgeMaxRetries + 1, DEFAULT_OPTIONS.eventBridgeMaxRetries + 1]],
    // Retries after 1 s, 2 s, 4 s, ... (each 0.5-1 times that): 60 s of age allows 5 or 6 of them.
    ['fewer once the event is older than the maximum event age', { eventBridgeMaxEventAgeSeconds: 60 }, [6, 7]],
  ])('deliveries that always fail go to the target\'s dead-letter queue after %s', async (_, overrides, [fewest, most]) => {
    const r = await runSimulation({ instances: N, seed: 1, deliveryFailureShare: 1, ...overrides });
    // Only lifecycle events are published (no command was ever sent), each dead-lettered once.
    const events = r.eventBridge.matched + r.eventBridge.duplicates;
    expect(r.eventBridge.deliveries).toBe(0);
    expect(r.deadLetters.map((d) => `${d.from} ${d.detailType}`)).toEqual(new Array(events).fill(`eventbridge-target ${LIFECYCLE}`));
    expect(r.dlq).toBe(events);
    expect(r.eventBridge.deliveryFailures).toBeGreaterThanOrEqual(events * fewest);
    expect(r.eventBridge.deliveryFailures).toBeLessThanOrEqual(events * most);
    // Nothing reached the handler, so the heartbeat let every instance go, unrescued: the dead-letter
    // queue alarm is what tells the operator.
    expect(r.invocations).toBe(0);
    expect(r.rescued).toBe(0);
    expect(r.expired).toBe(N);
    expect(r.stuck).toBe(N);
  });
});

describe('the event source mapping scales as Lambda documents it for standard queues', () => {
  /*
   * Batches of one message, each invocation held 20 s (two AWS calls of 10 s each: the agent is not
   * online, and the group no longer lists the instance), so every batch handed over in the first
   * 20 s is one more concurrent invocation.
   */
  const CALL_MS = 10_000;
  function harness(overrides: Partial<typeof DEFAULT_OPTIONS> = {}) {
    const w = new World({ ...DEFAULT_OPTIONS, batchSize: 1, batchWindowSeconds: 0, coldStartMs: 0, ...overrides });
    const slow = (answer: object) => ({ send: () => new Promise((resolve) => w.clock.after(CALL_MS, () => resolve({ $metadata: {}, ...answer }))) });
    const lambda = new SimulatedLambda(w, { ssm: slow({ InstanceInformationList: [] }), autoScaling: slow({ AutoScalingInstances: [] }) });
    const wave = (n: number) => {
      const at = w.now();
      for (let i = 0; i < n; i++) {
        lambda.sendMessage(lifecycleActionEvent(w, {
          asgName: w.options.asgName, hookName: w.options.hookName, instanceId: `i-0${(0xb0000000 + i).toString(16)}00000000`, token: w.rng.uuid(),
        }));
      }
      return at + w.options.lambdaQueueDelayMs;
    };
    /** Seconds from `from` to each batch handed over at or after it, in order. */
    const since = (from: number) => lambda.batchesAt.filter((t) => t >= from).map((t) => (t - from) / 1000);
    /** Run the clock `ms` on (it stops at the last timer otherwise). */
    const wait = async (ms: number) => {
      const until = w.now() + ms;
      w.clock.at(until, () => undefined);
      await w.clock.run(until);
    };
    return { w, lambda, wave, since, wait };
  }

  test('it starts with 5 concurrent batches and adds up to 300 a minute (one per 0.2 s) while messages wait, up to the maximum concurrency', async () => {
    const { w, lambda, wave, since } = harness();
    const visible = wave(40);
    await w.clock.run(w.now() + 60_000);
    const starts = since(visible);
    expect(starts).toHaveLength(40);
    // The first 5 at once; the 6th to the 30th one every 0.2 s; the last 10 only as the first finish.
    expect(starts.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    for (let k = 6; k <= 30; k++) expect([k, starts[k - 1]]).toEqual([k, expect.closeTo((k - 5) * 0.2, 2)]);
    expect(starts[30]).toBeGreaterThanOrEqual((2 * CALL_MS) / 1000);
    expect(lambda.maxConcurrent).toBe(DEFAULT_OPTIONS.maximumConcurrency);

    // Capped by a lower maximum concurrency; not held back when it starts higher.
    const low = harness({ maximumConcurrency: 3 });
    low.wave(10);
    await low.w.clock.run(low.w.now() + 60_000);
    expect(low.lambda.maxConcurrent).toBe(3);
    const eager = harness({ pollerStartBatches: 30 });
    const at = eager.wave(40);
    await eager.w.clock.run(eager.w.now() + 60_000);
    expect(eager.since(at).slice(0, 30)).toEqual(new Array(30).fill(0));
  });

  test('after a quiet minute it is back at 5; after a shorter lull it keeps its pollers', async () => {
    const { wave, since, wait } = harness();
    wave(40);
    // No message has waited since the last batch was handed over, at about 21 s: 80 s without traffic.
    await wait(101_000);
    const second = wave(40);
    await wait(90_000);
    expect(since(second).slice(0, 6)).toEqual([0, 0, 0, 0, 0, expect.closeTo(0.2, 2)]);

    const busy = harness();
    busy.wave(40);
    // No message has waited for about 24 s.
    await busy.wait(45_000);
    const soon = busy.wave(40);
    await busy.wait(90_000);
    expect(busy.since(soon).filter((t) => t === 0).length).toBeGreaterThan(20);
  });
});

describe('a storm that queues behind Auto Scaling\'s completion rate', () => {
  // 200 instances, CompleteLifecycleAction at 1/s: 190 completions need more than three minutes,
  // longer than one invocation (120 s) and than one visibility timeout. Before throttled calls
  // retried to the invocation's deadline, this dead-lettered 154 messages and left 99 held to the heartbeat.
  const storm = () => runSimulation({ instances: 200, completeRate: 1, completeBurst: 1 });

  test('nothing lost: every online instance rescued and released, none stuck, nothing dead-lettered, no invocation timed out', async () => {
    const r = await storm();
    expect(r.maxHoldSeconds).toBeGreaterThan(DEFAULT_OPTIONS.lambdaTimeoutSeconds + VISIBILITY);
    expect([r.rescued, r.stuck, r.dlq, r.expired]).toEqual([r.rescuable, 0, 0, 0]);
    expect([r.lambda.timeouts, r.lambda.functionErrors]).toEqual([0, 0]);
    expect(r.handler.metrics.Rescued).toBe(r.rescued);
    // Completions run at the rate the whole time: no instance waits for a retry it did not need.
    expect(r.api.complete.allowed).toBeGreaterThanOrEqual(200);
    expect(r.maxHoldSeconds).toBeLessThan(200 / 1 + 2 * VISIBILITY);
  });

  test('a throttled event waits in its invocation, not in the queue: most go through on their first receive, none near the redrive limit', async () => {
    const r = await storm();
    const events = r.lambda.messages.filter((m) => m.detailType !== COMMAND_STATUS);
    expect(events.filter((m) => m.outcomes[0] === 'ok').length / events.length).toBeGreaterThan(0.6);
    // (Measured: 24 invocation statuses needed 3 receives, which the former limit of 3 made the last.)
    expect(Math.max(...r.lambda.messages.map((m) => m.receives))).toBeLessThanOrEqual(DEFAULT_OPTIONS.maxReceiveCount - 4);
    expect(r.handler.metrics.EventsFailing ?? 0).toBe(0);
  });

  test('at 0.5 completions/s (380 s of completions): still nothing lost, where three receives dead-lettered 74 events', async () => {
    const r = await runSimulation({ instances: 200, completeRate: 0.5, completeBurst: 1 });
    expect([r.rescued, r.stuck, r.dlq, r.expired]).toEqual([r.rescuable, 0, 0, 0]);
    const three = await runSimulation({ instances: 200, completeRate: 0.5, completeBurst: 1, maxReceiveCount: 3 });
    expect(three.dlq).toBeGreaterThan(0);
  });
});

/*
 * Heartbeat 700 s, execution timeout 600 s: the handler records a heartbeat before sending when
 * the event's age + 600 + 60 (delivery) is past 700, i.e. for a command sent more than 40 s after
 * its lifecycle event. A lifecycle event whose first receive failed comes back after the 130 s
 * visibility timeout, so every late one needs it. (Measured: seed 4, 11 instances kept, 4 expired;
 * seed 6, 7 kept, 2 expired. Seeds whose failures happen to spare every late status, like 2 since
 * the handler checks for commands already sent, which moves the draws, show no expiry to explain.)
 */
describe.each([4, 6])('seed %i: lifecycle events that reach the handler late', (seed) => {
  let r: SimulationResult;
  beforeAll(async () => {
    r = await runSimulation({
      instances: N, seed, heartbeatTimeoutSeconds: 700, executionTimeoutSeconds: 600, lambdaFailureShare: 0.3, commandTimeoutShare: 0.3,
    });
  });

  test('a heartbeat before SendCommand keeps the action past its first expiry, recorded exactly for the late events', () => {
    const kept = r.perInstance.filter((p) => p.heartbeats > 0);
    expect(kept.length).toBeGreaterThan(0);
    expect(r.heartbeats).toBe(kept.reduce((n, p) => n + p.heartbeats, 0));
    expect(r.handler.logs['info:lifecycle heartbeat recorded']).toBe(r.heartbeats);
    expect(r.dlq).toBe(0);
    const lateLifecycle = (id: string) => messagesOf(r, id, LIFECYCLE).filter((m) => failedFirst(m) && m.outcomes.includes('ok'));
    // Heartbeats only for a lifecycle event that came back after a failed receive...
    for (const p of kept) expect([p.id, lateLifecycle(p.id).length]).not.toEqual([p.id, 0]);
    // ...and for every online instance that had no other.
    for (const p of r.perInstance.filter((x) => x.agent === 'online' && messagesOf(r, x.id, LIFECYCLE).every(failedFirst))) {
      expect([p.id, p.heartbeats]).toEqual([p.id, 1]);
    }
    // A late command that ran into its execution timeout: without the heartbeat, expired at 700 s.
    expect(kept.some((p) => p.drawnOutcome === 'timed-out' && p.holdSeconds > 700 && p.release === 'completed')).toBe(true);
  });

  test('what a heartbeat at send time cannot cover: a status that itself comes back after the visibility timeout', () => {
    // A command that used its whole execution timeout and whose invocation status failed once:
    // 600 + 130 s is past 700 without a heartbeat, and 130 + 600 + 130 past 130 + 700 with one;
    // the command-level backstop, deferred a visibility timeout itself, comes no sooner.
    // (The default heartbeat, 900 s, leaves 300 s for that.)
    const expired = r.perInstance.filter((p) => p.release === 'expired');
    expect(expired.length).toBeGreaterThan(0);
    for (const p of expired) {
      const statuses = messagesOf(r, p.id, INVOCATION_STATUS);
      expect([p.id, p.drawnOutcome, statuses.length > 0 && statuses.every(failedFirst)]).toEqual([p.id, 'timed-out', true]);
      // Expired at the heartbeat timeout after entering Terminating:Wait, or after the heartbeat.
      expect(p.holdSeconds).toBeGreaterThanOrEqual(p.heartbeats > 0 ? VISIBILITY + 700 : 700);
    }
    // Such an instance is counted nowhere (its late status finds the action gone), never twice.
    expectCountedOncePerCompletion(r);
    expect(r.handler.metrics.NotRescued).toBe(r.notRescued - expired.length);
  });
});

test('same seed, same run; another seed, another run', async () => {
  const opts = { instances: N, duplicateShare: 0.2, lambdaFailureShare: 0.1, commandFailureShare: 0.1 };
  const a = await runSimulation({ ...opts, seed: 11 });
  const b = await runSimulation({ ...opts, seed: 11 });
  const c = await runSimulation({ ...opts, seed: 12 });
  expect(b.summary).toBe(a.summary);
  expect(b.details).toEqual(a.details);
  expect(b.perInstance).toEqual(a.perInstance);
  expect(b.lambda.messages).toEqual(a.lambda.messages);
  expect(c.details).not.toEqual(a.details);
});

describe('the summary line', () => {
  test('has exactly the documented form, one decimal for the holds', async () => {
    const r = await runSimulation({ instances: N, seed: 2 });
    const m = SUMMARY_PATTERN.exec(r.summary);
    expect(m).not.toBeNull();
    const [, n, rescued, notRescued, stuck, dlq, maxHold, p50, invocations] = m!;
    expect(Number(n)).toBe(N);
    expect(Number(rescued) + Number(notRescued)).toBe(N);
    expect([Number(stuck), Number(dlq), Number(invocations)]).toEqual([r.stuck, r.dlq, r.invocations]);
    expect(maxHold).toBe(r.maxHoldSeconds.toFixed(1));
    expect(p50).toBe(r.p50HoldSeconds.toFixed(1));
  });

  const cli = (args: string[]) => spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/simulate.ts', ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, LOG_RESCUE_CONFIG: '' },
  });
  const lastLine = (out: string) => out.trimEnd().split('\n').pop() ?? '';
  const flags = (o: Record<string, number>) => Object.entries(o).flatMap(([k, v]) => [`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(v)]);

  test('CLI: the summary line is printed last, after the median upload; exit 0 when the targets are met, 1 when not', () => {
    // The warm, instant configuration whose targets the storm tests above show are met.
    const instant = flags({ lifecycleEventMs: 0, statusEventMs: 0, ebLatencyMs: 0, ebJitterMs: 0, agentDeliveryMs: 0, coldStartMs: 0 });
    const met = cli(['--instances', '30', '--seed', '4', ...instant]);
    expect(met.stderr).not.toMatch(/simulate:/);
    expect(lastLine(met.stdout)).toMatch(SUMMARY_PATTERN);
    expect(met.stdout).toMatch(/^simulate: upload median_s=\d+\.\d /m);
    expect(met.stdout).toMatch(/^simulate: target p50_hold met: .*target <= floor /m);
    expect(met.status).toBe(0);
    // Completions unthrottled: the median hold is held to the median upload + 3 s instead.
    const unthrottled = cli(['--instances', '30', '--seed', '4', ...instant, '--complete-rate', '0']);
    expect(unthrottled.stdout).toMatch(/^simulate: target p50_hold met: .*target <= median upload /m);
    expect(unthrottled.status).toBe(0);

    // One target missed: SSM's status events 8 s late put the median hold past upload + 3 s.
    const slow = cli(['--instances', '30', '--seed', '4', ...instant, '--complete-rate', '0', '--status-event-ms', '8000']);
    expect(slow.stdout).toMatch(/^simulate: target p50_hold MISSED/m);
    expect(slow.stderr).toBe('simulate: target missed: p50_hold\n');
    expect(lastLine(slow.stdout)).toMatch(SUMMARY_PATTERN);
    expect(slow.status).toBe(1);

    // Every invocation failing: every event dead-lettered after its receives; every target it breaks is named.
    const missed = cli(['--instances', '30', '--seed', '4', '--lambda-failures', '100%']);
    expect(lastLine(missed.stdout)).toMatch(/ stuck=30 dlq=30 /);
    expect(missed.stdout).toMatch(/^simulate: target dlq MISSED/m);
    expect(missed.stderr).toBe('simulate: targets missed: rescued, stuck, dlq, metrics, p50_hold\n');
    expect(missed.status).toBe(1);

    expect(cli(['--instances', '30', '--seed', '4', '--lambda-failures', '100%', '--no-check']).status).toBe(0);
    const bad = cli(['--instances', 'many']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--instances "many"/);
  });
});
