/**
 * Simulated Lambda running the REAL handler (`createRescueHandler`) for asynchronous invocations:
 *
 * - Execution environments: at most `reservedConcurrency` at once, each with its own handler and
 *   clients (as `index.ts` builds them once per environment), a cold start on first use.
 * - The async event queue: an event that finds no free concurrency is throttled and returned to the
 *   queue, retried with an interval growing exponentially from 1 s to 5 min, until the maximum event
 *   age, then sent to the on-failure destination.
 * - Function errors (the handler throws, or the invocation times out): up to `lambdaMaxRetries`
 *   retries, the first after about 1 min and the second after about 2 min, then the on-failure
 *   destination (the project's dead-letter queue).
 * - A timed-out invocation is frozen: its pending sleeps and calls never resume, and its
 *   environment is replaced.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { createRescueHandler, type RescueResult } from '../../handlers/log-rescue/rescue';
import { connectionTimeout } from './aws-errors';
import { instanceOf } from './eventbridge';
import type { BusEvent } from './event-shapes';
import type { Random } from './random';
import { stamp, type World } from './world';

interface Environment {
  readonly id: number;
  readonly handler: (event: unknown) => Promise<RescueResult>;
  warm: boolean;
  dead: boolean;
  /** The invocation it is running, if any. */
  current?: { failing: boolean };
}

/** One event in Lambda's async queue, with what happened to each of its invocations. */
export interface QueuedEvent {
  readonly event: BusEvent;
  readonly acceptedAt: number;
  /** Invocations made (the handler ran). */
  runs: number;
  throttles: number;
  /** Chosen for injected failures. */
  readonly injected: boolean;
  readonly outcomes: Array<'ok' | 'error' | 'timeout'>;
  deadLettered: boolean;
}

const NEVER = new Promise<never>(() => undefined);

export class SimulatedLambda {
  invocations = 0;
  throttles = 0;
  coldStarts = 0;
  functionErrors = 0;
  timeouts = 0;
  asyncRetries = 0;
  maxConcurrent = 0;
  readonly queued: QueuedEvent[] = [];
  /** Handler results by `action` or `action:reason`, and completions. */
  readonly results = new Map<string, number>();
  /** EMF metrics the handler wrote, by `Name` or `Name:Reason`, summed. */
  readonly metrics = new Map<string, number>();
  readonly logCounts = new Map<string, number>();

  private readonly idle: Environment[] = [];
  private busy = 0;
  private created = 0;
  private readonly rng: Random;

  constructor(
    private readonly w: World,
    private readonly services: { ssm: { send(c: unknown): Promise<unknown> }; autoScaling: { send(c: unknown): Promise<unknown> } },
  ) {
    this.rng = w.rng.fork('lambda');
  }

  /** EventBridge's async Invoke: Lambda accepts the event into its queue. */
  invokeAsync(event: BusEvent): void {
    const o = this.w.options;
    const item: QueuedEvent = {
      event, acceptedAt: this.w.now(), runs: 0, throttles: 0, outcomes: [], deadLettered: false,
      injected: this.rng.chance(o.lambdaFailureShare),
    };
    this.queued.push(item);
    this.w.clock.after(o.lambdaQueueDelayMs, () => this.dispatch(item));
  }

  private dispatch(item: QueuedEvent): void {
    const o = this.w.options;
    if (this.w.now() - item.acceptedAt > o.lambdaMaxEventAgeSeconds * 1000) {
      this.deadLetter(item, 'maximum event age exceeded');
      return;
    }
    if (this.busy >= o.reservedConcurrency) {
      this.throttles++;
      item.throttles++;
      const base = Math.min(300_000, 1000 * 2 ** (item.throttles - 1));
      this.w.clock.after(base * this.rng.uniform(0.75, 1.25), () => this.dispatch(item));
      return;
    }
    this.run(item, this.idle.pop() ?? this.createEnvironment());
  }

  private createEnvironment(): Environment {
    const id = ++this.created;
    // The closures below need the environment before its handler exists.
    const env = { id, warm: false, dead: false } as Environment;
    const handlerRng = this.w.rng.fork(`handler-${id}`);
    const viaEnvironment = (service: { send(c: unknown): Promise<unknown> }) => ({
      send: (command: unknown) => this.call(env, () => service.send(command)),
    });
    const o = this.w.options;
    const handler = createRescueHandler({
      ssm: viaEnvironment(this.services.ssm) as unknown as SSMClient,
      autoScaling: viaEnvironment(this.services.autoScaling) as unknown as AutoScalingClient,
      settings: {
        documentName: o.documentName,
        asgNames: [o.asgName],
        hookName: o.hookName,
        onlineWaitSeconds: o.onlineWaitSeconds,
        executionTimeoutSeconds: o.executionTimeoutSeconds,
        heartbeatTimeoutSeconds: o.heartbeatTimeoutSeconds,
        metricNamespace: 'LogRescue',
        stackId: o.stackId,
      },
      log: (record) => this.collect(record),
      now: () => this.w.now(),
      sleep: (ms) => (env.dead ? NEVER : new Promise<void>((resolve) => this.w.clock.after(ms, () => { if (!env.dead) resolve(); }))),
      random: () => handlerRng.next(),
    });
    return Object.assign(env, { handler });
  }

  /** An AWS call from an environment: fails at the connection level when injected; frozen once timed out. */
  private call(env: Environment, op: () => Promise<unknown>): Promise<unknown> {
    if (env.dead) return NEVER;
    const attempt = env.current?.failing
      ? new Promise<never>((_, reject) => this.w.clock.after(1000, () => reject(connectionTimeout(1000))))
      : op();
    return new Promise((resolve, reject) => {
      attempt.then((v) => { if (!env.dead) resolve(v); }, (e: unknown) => { if (!env.dead) reject(e); });
    });
  }

  private run(item: QueuedEvent, env: Environment): void {
    const o = this.w.options;
    this.busy++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.busy);
    item.runs++;
    const invocation = { failing: item.injected && item.runs <= o.lambdaFailureAttempts };
    env.current = invocation;
    const initMs = env.warm ? 0 : o.coldStartMs;
    if (!env.warm) this.coldStarts++;
    env.warm = true;
    let done = false;
    const finish = (outcome: 'ok' | 'error' | 'timeout', result?: RescueResult) => {
      if (done) return;
      done = true;
      this.busy--;
      env.current = undefined;
      if (outcome === 'timeout') env.dead = true;
      else this.idle.push(env);
      item.outcomes.push(outcome);
      if (outcome === 'ok') {
        this.count(this.results, result!.action);
        if ('reason' in result! && result!.reason) this.count(this.results, `${result!.action}:${result!.reason}`);
        if ('completion' in result!) this.count(this.results, `completion:${result!.completion}`);
        return;
      }
      this.functionErrors++;
      if (outcome === 'timeout') this.timeouts++;
      if (item.runs > o.lambdaMaxRetries) {
        this.deadLetter(item, 'retries exhausted');
        return;
      }
      this.asyncRetries++;
      const delay = 60_000 * item.runs + this.rng.uniform(0, 10_000);
      this.w.clock.after(delay, () => this.dispatch(item));
    };
    this.w.clock.after(initMs, () => {
      this.invocations++;
      if (item.event.source === 'aws.autoscaling') stamp(this.w.instances.get(instanceOf(item.event) ?? ''), 'lifecycleInvoked', this.w.now());
      this.w.clock.after(o.lambdaTimeoutSeconds * 1000, () => finish('timeout'));
      env.handler(structuredClone(item.event)).then((r) => finish('ok', r), () => finish('error'));
    });
  }

  private deadLetter(item: QueuedEvent, reason: string): void {
    item.deadLettered = true;
    this.w.deadLetter({ from: 'lambda-on-failure', reason, detailType: item.event['detail-type'], instanceId: instanceOf(item.event) });
  }

  private collect(record: object): void {
    const r = record as Record<string, unknown> & { _aws?: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> } };
    if (r._aws) {
      for (const m of r._aws.CloudWatchMetrics.flatMap((d) => d.Metrics)) {
        const value = typeof r[m.Name] === 'number' ? (r[m.Name] as number) : 0;
        if (m.Name === 'RescueDurationSeconds') continue;
        this.count(this.metrics, m.Name, value);
        if (typeof r.Reason === 'string') this.count(this.metrics, `${m.Name}:${r.Reason}`, value);
      }
      return;
    }
    this.count(this.logCounts, `${String(r.level)}:${String(r.msg)}`);
  }

  private count(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }
}
