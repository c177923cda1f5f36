/**
 * The scale-in storm simulation (scripts/simulate.ts): the real handler through simulated Auto
 * Scaling, SSM, EventBridge and Lambda on a virtual clock. Small storms here; the 1,000-instance
 * run is `npm run simulate -- --instances 1000`.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import { CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { parseConfig } from '../config/load';
import { errorMessage, errorName, isRetryable } from '../handlers/log-rescue/retry';
import { runSimulation, SUMMARY_PATTERN, type SimulationResult } from '../scripts/simulate';
import { SimulatedAutoScaling } from '../scripts/sim/auto-scaling';
import { DEFAULT_OPTIONS, deploymentOptions, parseArgs } from '../scripts/sim/options';
import { median } from '../scripts/sim/run';
import { SimulatedSsm } from '../scripts/sim/ssm';
import { World, type InstanceRecord } from '../scripts/sim/world';
import { Random } from '../scripts/sim/random';

const ROOT = path.join(__dirname, '..');
const N = 50;
/** AWS's own event latencies set to zero: what is left of the hold is the upload and the design's own work. */
const INSTANT_AWS = { lifecycleEventDelayMs: 0, statusEventDelayMs: 0, eventBridgeLatencyMs: 0, eventBridgeJitterMs: 0, agentDeliveryMs: 0 };

const offlineCount = (r: SimulationResult) => r.perInstance.filter((p) => p.agent !== 'online').length;
const byKind = (r: SimulationResult, detailType: string) => r.lambda.events.filter((e) => e.detailType === detailType);
const LIFECYCLE = 'EC2 Instance-terminate Lifecycle Action';

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

  test('flags: shares as fractions or percentages, every bad value reported at once', () => {
    expect(parseArgs(['--instances', '1000', '--offline=5%', '--command-failures', '0.1', '--no-check']).options)
      .toEqual({ instances: 1000, offlineShare: 0.05, commandFailureShare: 0.1 });
    expect(() => parseArgs(['--instances', '0', '--offline', '150%', '--bogus', '1'])).toThrow(
      /--instances "0": expected an integer in 1\.\.100000\n--offline "150%": expected a share.*\nunknown argument "--bogus"/,
    );
  });
});

describe('simulated AWS answers as the SDK clients would', () => {
  function world(overrides = {}) {
    const w = new World({ ...DEFAULT_OPTIONS, ...overrides });
    const rec: InstanceRecord = {
      id: 'i-0123456789abcdef0', agent: 'online', outcome: 'success', uploadSeconds: 3, rng: new Random(1, 'x'), enterAt: w.now(),
      state: 'Terminating:Wait', commandsSent: 0, commandsRun: 0, statuses: [], stamps: {},
    };
    w.instances.set(rec.id, rec);
    return { w, rec };
  }
  const settle = async <T>(w: World, p: Promise<T>) => {
    const out = p.then((v) => ({ v }), (e: unknown) => ({ e }));
    await w.clock.run(w.now() + 10_000);
    return out;
  };
  const send = (params: Record<string, string[]>) => new SendCommandCommand({
    DocumentName: DEFAULT_OPTIONS.documentName, InstanceIds: ['i-0123456789abcdef0'], TimeoutSeconds: 60, Parameters: params,
  });
  const good = { asgName: ['web-fleet'], hookName: ['log-rescue'], trigger: ['lifecycle'], eventTime: ['20261120T223000Z'] };

  test('SendCommand is checked against the real document: a parameter outside its allowedPattern is InvalidParameters', async () => {
    const { w } = world();
    const ssm = new SimulatedSsm(w, () => undefined);
    const ok = await settle(w, ssm.send(send(good)));
    expect(ok).toMatchObject({ v: { Command: { Status: 'Pending', Parameters: good } } });
    const bad = await settle(w, ssm.send(send({ ...good, eventTime: ['2026-11-20 22:30'] })));
    expect(errorName((bad as { e: unknown }).e)).toBe('InvalidParameters');
    const missing = await settle(w, ssm.send(send({ hookName: ['log-rescue'] })));
    expect(errorMessage((missing as { e: unknown }).e)).toMatch(/asgName/);
  });

  test('over the rate limit: a ThrottlingException the handler retries', async () => {
    const { w } = world({ sendCommandRate: 1, sendCommandBurst: 1 });
    const ssm = new SimulatedSsm(w, () => undefined);
    const [a, b] = await Promise.all([settle(w, ssm.send(send(good))), settle(w, ssm.send(send(good)))]);
    expect(a).toHaveProperty('v');
    const err = (b as { e: { name: string; $metadata: { httpStatusCode: number } } }).e;
    expect(err).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(isRetryable(err)).toBe(true);
  });

  test('completing an action twice: the second is the ValidationError "No active Lifecycle Action found"', async () => {
    const { w } = world();
    const asg = new SimulatedAutoScaling(w, () => undefined);
    const complete = () => new CompleteLifecycleActionCommand({
      AutoScalingGroupName: 'web-fleet', LifecycleHookName: 'log-rescue', InstanceId: 'i-0123456789abcdef0', LifecycleActionResult: 'CONTINUE',
    });
    expect(await settle(w, asg.send(complete()))).toHaveProperty('v');
    const second = (await settle(w, asg.send(complete())) as { e: unknown }).e;
    expect(errorName(second)).toBe('ValidationError');
    expect(errorMessage(second)).toBe('No active Lifecycle Action found with instance ID i-0123456789abcdef0');
  });

  test('RecordLifecycleActionHeartbeat restarts the full heartbeat timeout; once released, "No active Lifecycle Action found"', async () => {
    const { w, rec } = world({ heartbeatTimeoutSeconds: 300 });
    const asg = new SimulatedAutoScaling(w, () => undefined);
    rec.state = 'InService';
    asg.startScaleIn();
    await w.clock.run(w.now());
    expect(rec.actionExpiresAt).toBe(rec.enterAt + 300_000);
    const heartbeat = () => new RecordLifecycleActionHeartbeatCommand({
      AutoScalingGroupName: 'web-fleet', LifecycleHookName: 'log-rescue', InstanceId: 'i-0123456789abcdef0',
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
    const late = (await settle(w, asg.send(heartbeat())) as { e: unknown }).e;
    expect(errorMessage(late)).toBe('No active Lifecycle Action found with instance ID i-0123456789abcdef0');
  });
});

describe('a storm of 50 instances with the defaults', () => {
  test.each([1, 2, 3])('seed %i: every online instance rescued, none stuck, nothing in the DLQ, <= 2.2 invocations each', async (seed) => {
    const r = await runSimulation({ instances: N, seed });

    expect(offlineCount(r)).toBe(Math.round(N * DEFAULT_OPTIONS.offlineShare));
    expect(r.rescuable).toBe(r.online);
    expect(r.rescued).toBe(r.online);
    for (const p of r.perInstance) expect([p.id, p.rescued]).toEqual([p.id, p.agent === 'online']);
    expect(r.rescued + r.notRescued).toBe(N);
    expect(r.stuck).toBe(0);
    expect(r.expired).toBe(0);
    expect(r.dlq).toBe(0);
    expect(r.invocations).toBeLessThanOrEqual(2.2 * N);
    // Offline agents: released after the bounded online wait, not at the heartbeat.
    for (const p of r.perInstance.filter((x) => x.agent !== 'online')) {
      expect(p.holdSeconds).toBeGreaterThanOrEqual(DEFAULT_OPTIONS.onlineWaitSeconds);
      expect(p.holdSeconds).toBeLessThan(DEFAULT_OPTIONS.onlineWaitSeconds + 30);
      expect(p.commandsSent).toBe(0);
    }
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(
      r.checks.find((c) => c.name === 'p50_hold')!.ok ? [] : ['p50_hold'],
    );
    // Non-terminal statuses (InProgress) never reach the handler: the rule filters them.
    expect(r.eventBridge.published).toBeGreaterThan(r.eventBridge.matched);
  });

  test.each([1, 2, 3])('seed %i: the design adds at most 2 s to the median upload when AWS delivers its events at once', async (seed) => {
    const r = await runSimulation({ instances: N, seed, ...INSTANT_AWS });
    expect(r.p50HoldSeconds).toBeLessThanOrEqual(r.medianUploadSeconds + 2);
    expect(r.ok).toBe(true);
    expect(r.medianUploadSeconds).toBeCloseTo(median(r.perInstance.filter((p) => p.rescued).map((p) => p.uploadSeconds)), 9);
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
  }
  expect(r.stuck).toBe(0);
  expect(r.dlq).toBe(0);
  expect(r.checks.find((c) => c.name === 'rescued')!.ok).toBe(true);
});

describe('Lambda invocation failures', () => {
  test('within the retry budget (2 failed attempts): retried about 1 and 2 min later, then every event goes through', async () => {
    const base = await runSimulation({ instances: N, seed: 3 });
    const r = await runSimulation({ instances: N, seed: 3, lambdaFailureShare: 0.2, lambdaFailureAttempts: 2 });
    const injected = r.lambda.events.filter((e) => e.injected);
    expect(injected.length).toBeGreaterThanOrEqual(5);
    for (const e of injected) expect(e.outcomes).toEqual(['error', 'error', 'ok']);
    for (const e of r.lambda.events.filter((x) => !x.injected)) expect(e.outcomes).toEqual(['ok']);
    expect(r.lambda.asyncRetries).toBe(2 * injected.length);
    expect(r.invocations).toBe(r.lambda.events.reduce((n, e) => n + e.runs, 0));
    expect(r.invocations).toBeGreaterThan(base.invocations);
    expect(r.dlq).toBe(0);
    expect(r.rescued).toBe(r.online);
    expect(r.stuck).toBe(0);
    // A lifecycle event that failed twice reached the handler about 3 min late; its instance was held
    // that long (unless a duplicate delivery of the event went through at once).
    const lifecycle = byKind(r, LIFECYCLE);
    const late = new Set(lifecycle.filter((e) => e.injected).map((e) => e.instanceId)
      .filter((id) => lifecycle.filter((e) => e.instanceId === id).every((e) => e.injected)));
    expect(late.size).toBeGreaterThan(0);
    for (const p of r.perInstance.filter((x) => late.has(x.id) && x.agent === 'online')) expect(p.holdSeconds).toBeGreaterThan(180);
  });

  test('beyond the budget (3 failed attempts): exactly those events go to the DLQ, and only their instances are stuck', async () => {
    const r = await runSimulation({ instances: N, seed: 3, lambdaFailureShare: 0.1, lambdaFailureAttempts: 3 });
    const injected = r.lambda.events.filter((e) => e.injected);
    expect(injected.length).toBeGreaterThanOrEqual(3);
    expect(r.dlq).toBe(injected.length);
    for (const e of injected) expect([e.deadLettered, e.outcomes]).toEqual([true, ['error', 'error', 'error']]);
    expect(r.deadLetters.every((d) => d.from === 'lambda-on-failure' && d.reason === 'retries exhausted')).toBe(true);

    // An instance is held to the heartbeat only if every delivery of one of its events was dead-lettered.
    const lost = new Set<string>();
    for (const id of new Set(r.lambda.events.map((e) => e.instanceId))) {
      for (const kind of new Set(r.lambda.events.filter((e) => e.instanceId === id).map((e) => e.detailType))) {
        const deliveries = r.lambda.events.filter((e) => e.instanceId === id && e.detailType === kind);
        if (deliveries.every((e) => e.deadLettered)) lost.add(id!);
      }
    }
    expect(lost.size).toBeGreaterThan(0);
    for (const p of r.perInstance) {
      expect([p.id, p.release === 'expired', p.stuck]).toEqual([p.id, lost.has(p.id), lost.has(p.id)]);
    }
    expect(r.stuck).toBe(lost.size);
    expect(r.ok).toBe(false);
  });
});

test('duplicates and reordering: no double counting, completion tolerated, no errors', async () => {
  const r = await runSimulation({ instances: N, seed: 5, duplicateShare: 0.5, eventBridgeJitterMs: 2000 });
  expect(r.eventBridge.duplicates).toBeGreaterThanOrEqual(30);
  expect(r.invocations).toBe(r.eventBridge.deliveries);
  expect(r.rescued).toBe(r.online);
  expect(r.rescued + r.notRescued).toBe(N);
  // The repeated status events found the action gone: "No active Lifecycle Action found" was success,
  // and they counted nothing: every instance is in the metrics once.
  expect(r.handler.results['ignored:already-counted']).toBeGreaterThan(0);
  expect(r.handler.metrics.Rescued).toBe(r.rescued);
  expect(r.handler.metrics.NotRescued).toBe(r.notRescued);
  expect(r.checks.find((c) => c.name === 'metrics')!.ok).toBe(true);
  expect(r.lambda.functionErrors).toBe(0);
  expect(r.dlq).toBe(0);
  expect(r.stuck).toBe(0);
  expect(r.perInstance.every((p) => p.release === 'completed')).toBe(true);
  // Repeated lifecycle events may send a second command (same archive key); never a third for one repeat.
  const lifecycleDeliveries = (id: string) => byKind(r, LIFECYCLE).filter((e) => e.instanceId === id).length;
  for (const p of r.perInstance) expect(p.commandsSent).toBeLessThanOrEqual(lifecycleDeliveries(p.id));
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

test('lifecycle events that reach the handler late: a heartbeat before SendCommand keeps the action past its first expiry', async () => {
  // Heartbeat 700 s, execution 600 s: a command sent more than 40 s after its event records a heartbeat.
  const r = await runSimulation({
    instances: N, seed: 8, heartbeatTimeoutSeconds: 700, executionTimeoutSeconds: 600,
    lambdaFailureShare: 0.3, lambdaFailureAttempts: 2, commandTimeoutShare: 0.3,
  });
  const lateStatus = new Set(byKind(r, 'EC2 Command Status-change Notification').filter((e) => e.injected).map((e) => e.instanceId));
  const kept = r.perInstance.filter((p) => p.heartbeats > 0);
  expect(kept.length).toBeGreaterThan(0);
  expect(r.heartbeats).toBe(kept.reduce((n, p) => n + p.heartbeats, 0));
  expect(r.handler.logs['info:lifecycle heartbeat recorded']).toBe(r.heartbeats);
  expect(r.dlq).toBe(0);
  // A late command that ran into its execution timeout: without the heartbeat, expired at 700 s.
  expect(kept.some((p) => !lateStatus.has(p.id) && p.drawnOutcome === 'timed-out' && p.holdSeconds > 700 && p.release === 'completed')).toBe(true);
  // What a heartbeat at send time cannot cover: a status event that itself needs Lambda's retries
  // (minutes) after a command that used its whole execution timeout. 700 s leaves too little for that.
  const expired = r.perInstance.filter((p) => p.release === 'expired');
  expect(expired.length).toBeGreaterThan(0);
  for (const p of expired) expect([p.id, lateStatus.has(p.id), p.drawnOutcome]).toEqual([p.id, true, 'timed-out']);
  // Such an instance is counted nowhere (its late status finds the action gone), never twice.
  expect(r.handler.metrics.Rescued).toBe(r.rescued);
  expect(r.handler.metrics.NotRescued).toBe(r.notRescued - expired.length);
});

test('same seed, same run; another seed, another run', async () => {
  const opts = { instances: N, duplicateShare: 0.2, lambdaFailureShare: 0.1, commandFailureShare: 0.1 };
  const a = await runSimulation({ ...opts, seed: 11 });
  const b = await runSimulation({ ...opts, seed: 11 });
  const c = await runSimulation({ ...opts, seed: 12 });
  expect(b.summary).toBe(a.summary);
  expect(b.details).toEqual(a.details);
  expect(b.perInstance).toEqual(a.perInstance);
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
    const instant = flags({ lifecycleEventMs: 0, statusEventMs: 0, ebLatencyMs: 0, ebJitterMs: 0, agentDeliveryMs: 0 });
    const met = cli(['--instances', '30', '--seed', '4', ...instant]);
    expect(met.stderr).not.toMatch(/simulate:/);
    expect(lastLine(met.stdout)).toMatch(SUMMARY_PATTERN);
    expect(met.stdout).toMatch(/^simulate: upload median_s=\d+\.\d /m);
    expect(met.status).toBe(0);

    const missed = cli(['--instances', '30', '--seed', '4', '--lambda-failures', '20%', '--lambda-failure-attempts', '3']);
    expect(lastLine(missed.stdout)).toMatch(SUMMARY_PATTERN);
    expect(missed.stdout).toMatch(/^simulate: target dlq MISSED/m);
    expect(missed.status).toBe(1);

    expect(cli(['--instances', '30', '--seed', '4', '--lambda-failures', '20%', '--lambda-failure-attempts', '3', '--no-check']).status).toBe(0);
    const bad = cli(['--instances', 'many']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--instances "many"/);
  });
});
