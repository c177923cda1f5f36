/**
 * One scale-in storm, start to finish: build the simulated AWS around the real handler, let N
 * instances enter Terminating:Wait, run the virtual clock until everything has settled, and
 * compare what really happened to each instance with the design's targets.
 */
import { WAIT_STARTED_ATTRIBUTE } from '../../handlers/log-rescue/aws';
import { DELIVERY_TIMEOUT_SECONDS } from '../../handlers/log-rescue/timing';
import { SimulatedAutoScaling } from './auto-scaling';
import { instanceOf, SimulatedEventBridge } from './eventbridge';
import { SimulatedLambda } from './lambda';
import { DEFAULT_OPTIONS, type SimulationOptions } from './options';
import { SimulatedSsm } from './ssm';
import { TokenBucket } from './token-bucket';
import { STAGES, World, type AgentState, type CommandOutcome, type DeadLetter, type InstanceRecord, type Platform } from './world';

/** The one line a run prints last; `npm run simulate` output is checked against it. */
export const SUMMARY_PATTERN =
  /^simulate: instances=(\d+) rescued=(\d+) not_rescued=(\d+) stuck=(\d+) dlq=(\d+) max_hold_s=(\d+\.\d) p50_hold_s=(\d+\.\d) invocations=(\d+)$/;

/** Targets of the design for a storm (issue 6, restated in issue 15). */
export const TARGET_INVOCATIONS_PER_INSTANCE = 2.2;
/**
 * The median hold may exceed what no design could beat by this much: the printed floor (the
 * CompleteLifecycleAction rate alone) when Auto Scaling throttles completions, the median upload
 * when it does not (`--complete-rate 0`). Auto Scaling has no batch completion, so at 20/s the
 * median of 1,000 instances cannot be released sooner than the floor (21.6 s), whatever the design.
 */
export const TARGET_P50_MARGIN_SECONDS = 3;
/**
 * An instance is "stuck" when its lifecycle action expired (nothing released it), or when it was
 * still held this long after its command timeout (delivery + execution timeout, counted from its
 * first command, or from entering Terminating:Wait when none was sent): the release path failed.
 */
export const STUCK_MARGIN_SECONDS = 60;

export interface InstanceOutcome {
  readonly id: string;
  readonly agent: AgentState;
  readonly platform: Platform;
  readonly drawnOutcome: CommandOutcome;
  readonly uploadSeconds: number;
  readonly enterAt: number;
  readonly holdSeconds: number;
  readonly release: 'completed' | 'expired';
  readonly rescued: boolean;
  readonly stuck: boolean;
  readonly commandsSent: number;
  /** Heartbeats recorded for its lifecycle action. */
  readonly heartbeats: number;
  readonly statuses: readonly string[];
}

export const STAGE_GAPS = ['to_lifecycle_event', 'to_handler', 'to_send', 'to_agent', 'upload', 'to_status_event', 'to_release'] as const;
export type StageGap = (typeof STAGE_GAPS)[number];

function stageMedians(recs: readonly InstanceRecord[]): Record<StageGap, number> {
  const rows = recs.flatMap((r) => {
    const s = r.stamps;
    const t = [r.enterAt, ...STAGES.map((st) => s[st]), r.releasedAt];
    if (r.uploadedAt === undefined || t.some((x) => x === undefined)) return [];
    const n = t as number[];
    return [n.slice(1).map((x, i) => (x - n[i]) / 1000)];
  });
  return Object.fromEntries(STAGE_GAPS.map((g, i) => [g, median(rows.map((row) => row[i]))])) as Record<StageGap, number>;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SimulationResult {
  readonly options: SimulationOptions;
  readonly instances: number;
  readonly rescued: number;
  readonly notRescued: number;
  readonly stuck: number;
  readonly dlq: number;
  readonly maxHoldSeconds: number;
  readonly p50HoldSeconds: number;
  readonly invocations: number;
  /** Online agents; the rest were offline or never registered. */
  readonly online: number;
  /** Instances whose logs could have been rescued: agent online and the command drawn to succeed. */
  readonly rescuable: number;
  readonly commandFailures: number;
  readonly commandTimeouts: number;
  /** Median time of the uploads that completed (the first upload of each instance). */
  readonly medianUploadSeconds: number;
  /** Lower bound of p50 hold from the CompleteLifecycleAction rate limit alone (no latency, no concurrency limit). */
  readonly p50FloorSeconds: number;
  readonly expired: number;
  /**
   * Median seconds of each stage of the hold over the rescued instances: Auto Scaling's event,
   * EventBridge + Lambda queue (+ throttling), the handler until SendCommand is accepted, delivery
   * to the agent, the upload, SSM's status event, and EventBridge + Lambda + CompleteLifecycleAction.
   */
  readonly stageMedians: Readonly<Record<StageGap, number>>;
  readonly perInstance: readonly InstanceOutcome[];
  readonly deadLetters: readonly DeadLetter[];
  readonly lambda: {
    readonly coldStarts: number; readonly functionErrors: number; readonly timeouts: number;
    readonly redeliveries: number; readonly maxConcurrent: number; readonly maxBatch: number; readonly injectedInvocations: number;
    /** Messages the handler sent to the queue itself: events back to look at an agent again. */
    readonly requeued: number;
    /** The longest invocation, cold start included. */
    readonly maxInvocationSeconds: number;
    /**
     * Every message of the event queue: how often it was received, and how each receive ended;
     * `waitStartedAt` on a message the handler sent back (its online wait's clock).
     */
    readonly messages: ReadonlyArray<{
      detailType: string; instanceId?: string; receives: number; outcomes: readonly string[]; deadLettered: boolean; sentAt: number; waitStartedAt?: number;
    }>;
  };
  readonly eventBridge: { readonly published: number; readonly matched: number; readonly deliveries: number; readonly duplicates: number; readonly deliveryFailures: number };
  readonly api: Readonly<Record<'sendCommand' | 'describe' | 'complete', { allowed: number; throttled: number }>>;
  /** Requests the handlers made to each SSM operation, throttled ones included. */
  readonly ssmCalls: Readonly<Record<string, number>>;
  readonly handler: {
    readonly results: Readonly<Record<string, number>>;
    readonly metrics: Readonly<Record<string, number>>;
    readonly logs: Readonly<Record<string, number>>;
  };
  readonly commandsSent: number;
  /** Instances over all commands: a command goes to up to 50. */
  readonly commandInstances: number;
  /** RecordLifecycleActionHeartbeat calls Auto Scaling accepted. */
  readonly heartbeats: number;
  readonly simulatedSeconds: number;
  readonly steps: number;
  readonly checks: readonly Check[];
  readonly ok: boolean;
  readonly summary: string;
  readonly details: readonly string[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function createInstances(w: World): void {
  const o = w.options;
  const idRng = w.rng.fork('instance-ids');
  const offline = new Map<number, AgentState>();
  w.rng.fork('offline').sample(o.instances, Math.round(o.instances * o.offlineShare))
    .forEach((index, k) => offline.set(index, k % 2 === 0 ? 'connection-lost' : 'not-registered'));
  // Its own stream, so that the knob leaves every other draw as it was.
  const windows = new Set(o.nonLinuxShare > 0 ? w.rng.fork('non-linux').sample(o.instances, Math.round(o.instances * o.nonLinuxShare)) : []);
  for (let i = 0; i < o.instances; i++) {
    let id: string;
    do id = `i-0${idRng.hex(16)}`; while (w.instances.has(id));
    const rng = w.rng.fork(`instance-${i}`);
    const enterAt = o.startMs + rng.uniform(0, o.spreadSeconds * 1000);
    const u = rng.next();
    const failedUpTo = o.commandFailureShare;
    const timedOutUpTo = failedUpTo + o.commandTimeoutShare;
    const outcome: CommandOutcome = u < failedUpTo ? 'failed' : u < timedOutUpTo ? 'timed-out'
      : u < timedOutUpTo + o.nothingCollectedShare ? 'nothing-collected' : 'success';
    const uploadSeconds = rng.lognormal(o.uploadMedianSeconds, o.uploadSigma);
    const rec: InstanceRecord = {
      id, agent: offline.get(i) ?? 'online', platform: windows.has(i) ? 'Windows' : 'Linux', outcome, uploadSeconds, rng, enterAt,
      state: 'InService', commandsSent: 0, commandsRun: 0, statuses: [], stamps: {},
    };
    w.instances.set(id, rec);
  }
}

/**
 * The p50 hold no design could beat at this CompleteLifecycleAction rate: Auto Scaling has no
 * batch form of it, so every instance needs a call of its own, and none can be released before
 * its upload ends (an offline one before the online wait). Releases take the rate's tokens in the
 * order their uploads end; nothing else (no latency, no concurrency limit) is counted.
 */
function p50Floor(w: World): number {
  const o = w.options;
  const bucket = new TokenBucket(o.completeRate, o.completeBurst, o.startMs);
  const due = [...w.instances.values()]
    .map((r) => ({
      at: r.enterAt + 1000 * (r.platform !== 'Linux' ? 0 : r.agent === 'online' ? Math.min(r.uploadSeconds, o.executionTimeoutSeconds) : o.onlineWaitSeconds),
      enterAt: r.enterAt,
    }))
    .sort((a, b) => a.at - b.at);
  const holds: number[] = [];
  let t = o.startMs;
  for (const d of due) {
    t = Math.max(t, d.at);
    while (!bucket.take(t)) t += 1000 / Math.max(o.completeRate, 1e-9) / 10;
    holds.push((t - d.enterAt) / 1000);
  }
  return median(holds);
}

export async function runSimulation(overrides: Partial<SimulationOptions> = {}): Promise<SimulationResult> {
  const options: SimulationOptions = { ...DEFAULT_OPTIONS, ...overrides };
  const w = new World(options);
  createInstances(w);

  let bus: SimulatedEventBridge | undefined;
  const publish = (event: Parameters<SimulatedEventBridge['put']>[0]) => bus!.put(event);
  const ssm = new SimulatedSsm(w, publish);
  const autoScaling = new SimulatedAutoScaling(w, publish);
  const lambda = new SimulatedLambda(w, { ssm, autoScaling });
  bus = new SimulatedEventBridge(w, (event) => lambda.sendMessage(event));

  autoScaling.startScaleIn();
  // Everything has settled long before this; it only bounds a run that would not.
  const horizon = options.startMs + (options.spreadSeconds + options.heartbeatTimeoutSeconds + options.eventBridgeMaxEventAgeSeconds
    + options.maxReceiveCount * (options.queueVisibilitySeconds + options.lambdaTimeoutSeconds) + 3600) * 1000;
  await w.clock.run(horizon);

  return summarize(w, lambda, bus, ssm, autoScaling);
}

function summarize(
  w: World, lambda: SimulatedLambda, bus: SimulatedEventBridge, ssm: SimulatedSsm, autoScaling: SimulatedAutoScaling,
): SimulationResult {
  const o = w.options;
  const stuckAfter = DELIVERY_TIMEOUT_SECONDS + o.executionTimeoutSeconds + STUCK_MARGIN_SECONDS;
  const perInstance: InstanceOutcome[] = [...w.instances.values()].map((r) => {
    // Not released by the horizon: count it as held until then.
    const releasedAt = r.releasedAt ?? w.now();
    const holdSeconds = (releasedAt - r.enterAt) / 1000;
    const rescued = r.uploadedAt !== undefined && (r.terminatedAt === undefined || r.uploadedAt <= r.terminatedAt);
    const release = r.release ?? 'expired';
    const clockFrom = r.stamps.commandAccepted ?? r.enterAt;
    return {
      id: r.id, agent: r.agent, platform: r.platform, drawnOutcome: r.outcome, uploadSeconds: r.uploadSeconds, enterAt: r.enterAt,
      holdSeconds, release, rescued, stuck: release === 'expired' || (releasedAt - clockFrom) / 1000 > stuckAfter,
      commandsSent: r.commandsSent, heartbeats: r.heartbeats ?? 0, statuses: [...r.statuses],
    };
  });
  const holds = perInstance.map((p) => p.holdSeconds);
  const online = perInstance.filter((p) => p.agent === 'online');
  // The document rescues Linux only; on another platform nothing could be rescued.
  const rescuable = online.filter((p) => p.platform === 'Linux' && p.drawnOutcome === 'success' && p.uploadSeconds < o.executionTimeoutSeconds).length;
  const rescued = perInstance.filter((p) => p.rescued).length;
  const stuck = perInstance.filter((p) => p.stuck).length;
  const uploads = perInstance.filter((p) => p.rescued).map((p) => p.uploadSeconds);
  const medianUploadSeconds = uploads.length > 0 ? median(uploads) : o.uploadMedianSeconds;
  const maxHold = Math.max(0, ...holds);
  const p50Hold = median(holds);
  const dlq = w.deadLetters.length;
  const invocations = lambda.invocations;
  const floor = p50Floor(w);
  const rescuedMetric = lambda.metrics.get('Rescued') ?? 0;
  const notRescuedMetric = lambda.metrics.get('NotRescued') ?? 0;

  const one = (x: number) => x.toFixed(1);
  const throttled = o.completeRate > 0;
  const p50Base = throttled ? floor : medianUploadSeconds;
  const p50Limit = p50Base + TARGET_P50_MARGIN_SECONDS;
  const checks: Check[] = [
    {
      name: 'rescued', ok: rescued === rescuable,
      detail: `rescued=${rescued}, expected every online Linux instance whose script has something to collect and finishes = ${rescuable}`,
    },
    {
      name: 'stuck', ok: stuck === 0,
      detail: `stuck=${stuck} (heartbeat expired, or held more than ${stuckAfter} s = delivery ${DELIVERY_TIMEOUT_SECONDS} + execution `
        + `${o.executionTimeoutSeconds} + ${STUCK_MARGIN_SECONDS} after its first command, or after entering Terminating:Wait if none was sent)`,
    },
    { name: 'dlq', ok: dlq === 0, detail: `dlq=${dlq}` },
    {
      // Each instance counted once, whatever the duplicates, reordering and retries.
      name: 'metrics', ok: rescuedMetric === rescued && notRescuedMetric === o.instances - rescued,
      detail: `metrics Rescued=${rescuedMetric} NotRescued=${notRescuedMetric}, expected rescued=${rescued} not_rescued=${o.instances - rescued}`,
    },
    {
      name: 'invocations', ok: invocations <= TARGET_INVOCATIONS_PER_INSTANCE * o.instances,
      detail: `invocations=${invocations} = ${(invocations / o.instances).toFixed(2)} per instance (target <= ${TARGET_INVOCATIONS_PER_INSTANCE})`,
    },
    {
      name: 'p50_hold', ok: Number(one(p50Hold)) <= Number(one(p50Limit)),
      detail: `p50_hold_s=${one(p50Hold)} (target <= ${throttled ? `floor ${one(floor)}` : `median upload ${one(medianUploadSeconds)}`} `
        + `+ ${TARGET_P50_MARGIN_SECONDS} = ${one(p50Limit)}; floor from the CompleteLifecycleAction rate alone: ${one(floor)}, `
        + `median upload ${one(medianUploadSeconds)})`,
    },
  ];

  const summary = `simulate: instances=${o.instances} rescued=${rescued} not_rescued=${o.instances - rescued} stuck=${stuck} dlq=${dlq} `
    + `max_hold_s=${one(maxHold)} p50_hold_s=${one(p50Hold)} invocations=${invocations}`;

  const api = {
    sendCommand: { allowed: w.buckets.sendCommand.allowed, throttled: w.buckets.sendCommand.throttled },
    describe: { allowed: w.buckets.describe.allowed, throttled: w.buckets.describe.throttled },
    complete: { allowed: w.buckets.complete.allowed, throttled: w.buckets.complete.throttled },
  };
  const obj = (m: Map<string, number>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const result: Omit<SimulationResult, 'details'> = {
    options: o,
    instances: o.instances,
    rescued,
    notRescued: o.instances - rescued,
    stuck,
    dlq,
    maxHoldSeconds: maxHold,
    p50HoldSeconds: p50Hold,
    invocations,
    online: online.length,
    rescuable,
    commandFailures: online.filter((p) => p.drawnOutcome === 'failed').length,
    commandTimeouts: online.filter((p) => p.drawnOutcome === 'timed-out' || p.uploadSeconds >= o.executionTimeoutSeconds).length,
    medianUploadSeconds,
    p50FloorSeconds: floor,
    expired: perInstance.filter((p) => p.release === 'expired').length,
    stageMedians: stageMedians([...w.instances.values()]),
    perInstance,
    deadLetters: [...w.deadLetters],
    lambda: {
      coldStarts: lambda.coldStarts, functionErrors: lambda.functionErrors, timeouts: lambda.timeouts,
      redeliveries: lambda.redeliveries, maxConcurrent: lambda.maxConcurrent, maxBatch: lambda.maxBatch,
      injectedInvocations: lambda.injectedInvocations, requeued: lambda.requeued, maxInvocationSeconds: lambda.maxInvocationMs / 1000,
      messages: lambda.messages.map((m) => {
        const waitStarted = m.attributes[WAIT_STARTED_ATTRIBUTE]?.value;
        return {
          detailType: m.event['detail-type'], instanceId: instanceOf(m.event), receives: m.receives, outcomes: [...m.outcomes],
          deadLettered: m.deadLettered, sentAt: m.sentAt, ...(waitStarted === undefined ? {} : { waitStartedAt: Number(waitStarted) }),
        };
      }),
    },
    eventBridge: { published: bus.published, matched: bus.matched, deliveries: bus.deliveries, duplicates: bus.duplicates, deliveryFailures: bus.deliveryFailures },
    api,
    ssmCalls: obj(ssm.calls),
    handler: { results: obj(lambda.results), metrics: obj(lambda.metrics), logs: obj(lambda.logCounts) },
    commandsSent: ssm.commandsAccepted,
    commandInstances: ssm.invocationsAccepted,
    heartbeats: autoScaling.heartbeats,
    simulatedSeconds: (w.now() - o.startMs) / 1000,
    steps: w.clock.steps,
    checks,
    ok: checks.every((c) => c.ok),
    summary,
  };
  return { ...result, details: detailLines(result, holds) };
}

function detailLines(r: Omit<SimulationResult, 'details'>, holds: number[]): string[] {
  const o = r.options;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const one = (x: number) => x.toFixed(1);
  const offline = r.perInstance.filter((p) => p.agent !== 'online');
  const kv = (rec: Readonly<Record<string, number>>) => Object.entries(rec).map(([k, v]) => `${k}=${v}`).join(' ') || '-';
  const sent = r.commandsSent;
  const rescuedMetric = r.handler.metrics.Rescued ?? 0;
  const notRescuedMetric = r.handler.metrics.NotRescued ?? 0;
  return [
    `simulate: config seed=${o.seed} spread_s=${o.spreadSeconds} offline=${pct(o.offlineShare)} command_failures=${pct(o.commandFailureShare)} `
      + `command_timeouts=${pct(o.commandTimeoutShare)} duplicates=${pct(o.duplicateShare)} delivery_failures=${pct(o.deliveryFailureShare)} `
      + `lambda_failures=${pct(o.lambdaFailureShare)}`,
    `simulate: deployment concurrency=${o.maximumConcurrency} batch=${o.batchSize}/${o.batchWindowSeconds}s visibility_s=${o.queueVisibilitySeconds} `
      + `max_receives=${o.maxReceiveCount} online_wait_s=${o.onlineWaitSeconds} heartbeat_s=${o.heartbeatTimeoutSeconds} `
      + `execution_timeout_s=${o.executionTimeoutSeconds} lambda_timeout_s=${o.lambdaTimeoutSeconds} `
      + `rates_per_s send=${o.sendCommandRate}/${o.sendCommandBurst} describe=${o.describeRate}/${o.describeBurst} complete=${o.completeRate}/${o.completeBurst}`,
    `simulate: agents online=${r.online} connection_lost=${offline.filter((p) => p.agent === 'connection-lost').length} `
      + `not_registered=${offline.filter((p) => p.agent === 'not-registered').length}; commands drawn to fail=${r.commandFailures} to time out=${r.commandTimeouts}`,
    `simulate: upload median_s=${one(r.medianUploadSeconds)} (configured ${one(o.uploadMedianSeconds)}); hold p90_s=${one(percentile(holds, 90))} `
      + `p99_s=${one(percentile(holds, 99))}; released completed=${r.instances - r.expired} expired=${r.expired}`,
    `simulate: stages median_s ${STAGE_GAPS.map((g) => `${g}=${r.stageMedians[g].toFixed(2)}`).join(' ')} `
      + `(sum ${Object.values(r.stageMedians).reduce((a, b) => a + b, 0).toFixed(1)})`,
    `simulate: lambda invocations=${r.invocations} per_instance=${(r.invocations / r.instances).toFixed(2)} messages=${r.lambda.messages.length} `
      + `max_batch=${r.lambda.maxBatch} cold_starts=${r.lambda.coldStarts} function_errors=${r.lambda.functionErrors} timeouts=${r.lambda.timeouts} `
      + `injected_failures=${r.lambda.injectedInvocations} redeliveries=${r.lambda.redeliveries} requeued=${r.lambda.requeued} max_concurrent=${r.lambda.maxConcurrent} `
      + `longest_invocation_s=${r.lambda.maxInvocationSeconds.toFixed(1)}`,
    `simulate: eventbridge published=${r.eventBridge.published} matched=${r.eventBridge.matched} deliveries=${r.eventBridge.deliveries} `
      + `duplicates=${r.eventBridge.duplicates} delivery_failures=${r.eventBridge.deliveryFailures}`,
    `simulate: api SendCommand ok=${r.api.sendCommand.allowed} throttled=${r.api.sendCommand.throttled}; DescribeInstanceInformation ok=${r.api.describe.allowed} `
      + `throttled=${r.api.describe.throttled}; CompleteLifecycleAction+RecordLifecycleActionHeartbeat ok=${r.api.complete.allowed} `
      + `throttled=${r.api.complete.throttled}; commands accepted=${sent} (instances ${r.commandInstances}) heartbeats recorded=${r.heartbeats}`,
    `simulate: ssm calls ${kv(r.ssmCalls)} (per invocation: ${Object.entries(r.ssmCalls).map(([k, v]) => `${k}=${(v / Math.max(1, r.invocations)).toFixed(2)}`).join(' ')})`,
    `simulate: handler ${kv(r.handler.results)}`,
    `simulate: metrics Rescued=${rescuedMetric} NotRescued=${notRescuedMetric} (${kv(Object.fromEntries(Object.entries(r.handler.metrics).filter(([k]) => k.startsWith('NotRescued:'))))}) `
      + `vs truth rescued=${r.rescued} not_rescued=${r.notRescued}`,
    ...(r.deadLetters.length > 0
      ? [`simulate: dlq ${kv(r.deadLetters.reduce<Record<string, number>>((acc, d) => ({ ...acc, [`${d.from}:${d.detailType}:${d.reason}`.replace(/ /g, '_')]: (acc[`${d.from}:${d.detailType}:${d.reason}`.replace(/ /g, '_')] ?? 0) + 1 }), {}))}`]
      : []),
    ...r.checks.map((c) => `simulate: target ${c.name} ${c.ok ? 'met' : 'MISSED'}: ${c.detail}`),
  ];
}
