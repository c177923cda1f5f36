/**
 * Simulated event queue (SQS) and the handler Lambda behind its event source mapping, running the
 * REAL handler (`createRescueHandler` behind `createQueueHandler`, as index.ts wires them):
 *
 * - The queue: EventBridge's targets send each event as a message. A received message is invisible
 *   for the visibility timeout; one the handler does not report as failed is deleted, a failed one
 *   (or every message of an invocation that threw or timed out) is received again when its
 *   visibility timeout ends, and after `maxReceiveCount` receives the queue moves it to the
 *   dead-letter queue instead.
 * - The event source mapping: it gathers up to `batchSize` visible messages, waiting at most
 *   `batchWindowSeconds` from the first, and invokes the function with them while fewer invocations
 *   run than its pollers allow. As Lambda documents for standard queues, it starts with
 *   `pollerStartBatches` (5) concurrent batches when messages become available and adds up to
 *   `pollerScaleUpPerMinute` (300) more per minute while messages are still available, up to its
 *   maximum concurrency; after a quiet minute it is back at the start.
 * - Execution environments: each with its own handler and clients (as `index.ts` builds them once
 *   per environment), a cold start on first use. A timed-out invocation is frozen: its pending
 *   sleeps and calls never resume, and its environment is replaced.
 * - The handler's own SendMessage (an event sent back, delayed, to look at its agent again): a new
 *   message, invisible for its DelaySeconds, carrying its message attributes to the next batch.
 * - Injected failures: a share of invocations whose AWS calls all time out at the connection level.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createQueueHandler } from '../../handlers/log-rescue/queue';
import type { BatchOptions, Outcome, RescueResult } from '../../handlers/log-rescue/outcomes';
import { createRescueHandler, type RescueHandler } from '../../handlers/log-rescue/rescue';
import { connectionTimeout, sqsErrors } from './aws-errors';
import { instanceOf } from './eventbridge';
import type { BusEvent } from './event-shapes';
import type { Random } from './random';
import { stamp, type World } from './world';

interface Environment {
  readonly id: number;
  readonly handler: (event: unknown, context: { getRemainingTimeInMillis(): number }) => Promise<unknown>;
  warm: boolean;
  dead: boolean;
  /** The invocation it is running, if any. */
  current?: { failing: boolean };
}

export const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:logrescue-dev-log-rescue-events';
export const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/logrescue-dev-log-rescue-events';
/** SQS's limits on SendMessage. */
const MAX_DELAY_SECONDS = 900;
const MAX_BODY_BYTES = 256 * 1024;

/** One message on the event queue, with what happened to it. */
export interface QueuedMessage {
  readonly messageId: string;
  readonly event: BusEvent;
  /** Message attributes (only the handler's own messages have any). */
  readonly attributes: Readonly<Record<string, { readonly value: string; readonly dataType: string }>>;
  readonly sentAt: number;
  visibleAt: number;
  receives: number;
  inFlight: boolean;
  deleted: boolean;
  deadLettered: boolean;
  readonly outcomes: Array<'ok' | 'failed' | 'error' | 'timeout'>;
}

const NEVER = new Promise<never>(() => undefined);
/** Without messages for this long, the event source mapping is back at its starting pollers (an assumption: AWS says only "when traffic is low"). */
const SCALE_DOWN_AFTER_MS = 60_000;

export class SimulatedLambda {
  invocations = 0;
  coldStarts = 0;
  functionErrors = 0;
  timeouts = 0;
  /** Messages received again after a failed or unfinished attempt. */
  redeliveries = 0;
  injectedInvocations = 0;
  /** Messages the handler sent to the queue itself (events back to look at an agent again). */
  requeued = 0;
  maxConcurrent = 0;
  /** The longest invocation, from its batch being handed over to its end (cold start included). */
  maxInvocationMs = 0;
  /** When the event source mapping handed each batch over (epoch ms), in order. */
  readonly batchesAt: number[] = [];
  maxBatch = 0;
  readonly messages: QueuedMessage[] = [];
  /** Handler results by `action` or `action:reason`, and completions. */
  readonly results = new Map<string, number>();
  /** EMF metrics the handler wrote, by `Name` or `Name:Reason`, summed. */
  readonly metrics = new Map<string, number>();
  readonly logCounts = new Map<string, number>();

  private readonly idle: Environment[] = [];
  private busy = 0;
  private created = 0;
  private readonly rng: Random;
  /** When the oldest message waiting for a batch became visible to the poller. */
  private gatheringSince?: number;
  private pollAt?: number;
  /** Concurrent batches the event source mapping's pollers allow now (fractional while it scales up). */
  private batches: number;
  /** When growth was last counted, while messages have been available without a break. */
  private scaledAt?: number;
  private quietSince?: number;

  constructor(
    private readonly w: World,
    private readonly services: { ssm: { send(c: unknown): Promise<unknown> }; autoScaling: { send(c: unknown): Promise<unknown> } },
  ) {
    this.rng = w.rng.fork('lambda');
    this.batches = this.startBatches();
  }

  private startBatches(): number {
    return Math.min(this.w.options.pollerStartBatches, this.w.options.maximumConcurrency);
  }

  /** Scale the pollers: up while messages are available, back to the start after a quiet spell. */
  private scale(now: number, available: boolean): void {
    const o = this.w.options;
    if (!available) {
      this.quietSince ??= now;
      this.scaledAt = undefined;
      return;
    }
    if (this.quietSince !== undefined && now - this.quietSince >= SCALE_DOWN_AFTER_MS) {
      this.batches = this.startBatches();
    }
    this.quietSince = undefined;
    if (this.scaledAt !== undefined) {
      this.batches = Math.min(o.maximumConcurrency, this.batches + ((now - this.scaledAt) * o.pollerScaleUpPerMinute) / 60_000);
    }
    this.scaledAt = now;
  }

  /** EventBridge's SendMessage to the event queue (or the handler's, with a delay and attributes). */
  sendMessage(event: BusEvent, extra: { delayMs?: number; attributes?: QueuedMessage['attributes'] } = {}): void {
    const now = this.w.now();
    const m: QueuedMessage = {
      messageId: this.rng.uuid(), event, attributes: extra.attributes ?? {}, sentAt: now,
      visibleAt: now + (extra.delayMs ?? 0) + this.w.options.lambdaQueueDelayMs,
      receives: 0, inFlight: false, deleted: false, deadLettered: false, outcomes: [],
    };
    this.messages.push(m);
    this.schedulePoll(m.visibleAt);
  }

  /** The event queue's API as the handler's SQS client reaches it: SendMessage only, checked as SQS checks it. */
  readonly queue = {
    send: (command: unknown): Promise<unknown> => this.w.apiCall((requestId) => {
      if (!(command instanceof SendMessageCommand)) throw sqsErrors.invalidValue(requestId, `${(command as object)?.constructor?.name} is not simulated`);
      const input = command.input;
      if (input.QueueUrl !== QUEUE_URL) throw sqsErrors.queueDoesNotExist(requestId);
      const delay = input.DelaySeconds ?? 0;
      if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
        throw sqsErrors.invalidValue(requestId, `Value ${delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900.`);
      }
      const body = input.MessageBody ?? '';
      if (body === '' || Buffer.byteLength(body) > MAX_BODY_BYTES) throw sqsErrors.invalidValue(requestId, 'MessageBody must be 1 byte to 256 KiB');
      const attributes: Record<string, { value: string; dataType: string }> = {};
      for (const [name, v] of Object.entries(input.MessageAttributes ?? {})) {
        if (v.StringValue === undefined || !/^(String|Number)/.test(v.DataType ?? '')) throw sqsErrors.invalidValue(requestId, `message attribute ${name}: a String or Number value`);
        attributes[name] = { value: v.StringValue, dataType: v.DataType ?? 'String' };
      }
      this.requeued++;
      this.sendMessage(JSON.parse(body) as BusEvent, { delayMs: delay * 1000, attributes });
      return { MessageId: this.rng.uuid(), MD5OfMessageBody: '', $metadata: { httpStatusCode: 200, requestId } };
    }),
  };

  /** Messages on the queue that no invocation holds: visible now, or once their delay or timeout ends. */
  private waiting(): QueuedMessage[] {
    return this.messages.filter((m) => !m.deleted && !m.deadLettered && !m.inFlight);
  }

  private visible(): QueuedMessage[] {
    const now = this.w.now();
    return this.waiting().filter((m) => m.visibleAt <= now);
  }

  private schedulePoll(at: number): void {
    const when = Math.max(at, this.w.now());
    if (this.pollAt !== undefined && this.pollAt <= when) return;
    this.pollAt = when;
    this.w.clock.at(when, () => {
      if (this.pollAt === when) this.pollAt = undefined;
      this.poll();
    });
  }

  /** The event source mapping's poller: invoke with a full batch, or with what the window gathered. */
  private poll(): void {
    const o = this.w.options;
    const now = this.w.now();
    const ready = this.visible().filter((m) => {
      if (m.receives < o.maxReceiveCount) return true;
      // Received as often as the redrive policy allows and still not deleted: to the dead-letter queue.
      m.deadLettered = true;
      this.w.deadLetter({ from: 'queue-redrive', reason: `received ${m.receives} times`, detailType: m.event['detail-type'], instanceId: instanceOf(m.event) });
      return false;
    });
    this.scale(now, ready.length > 0);
    if (ready.length === 0) {
      this.gatheringSince = undefined;
      this.scheduleNextVisible();
      return;
    }
    this.gatheringSince ??= Math.min(...ready.map((m) => m.visibleAt));
    const windowEnds = this.gatheringSince + o.batchWindowSeconds * 1000;
    if (ready.length < o.batchSize && now < windowEnds) {
      this.schedulePoll(windowEnds);
      return;
    }
    // Full or out of time; with no free concurrency it waits for an invocation to finish, or for
    // the pollers to scale up.
    const allowed = Math.floor(this.batches + 1e-9);
    if (this.busy >= allowed) {
      if (allowed < o.maximumConcurrency) this.schedulePoll(now + Math.max(1, Math.ceil(((allowed + 1 - this.batches) * 60_000) / o.pollerScaleUpPerMinute)));
      return;
    }
    const batch = ready.sort((a, b) => a.visibleAt - b.visibleAt).slice(0, o.batchSize);
    this.gatheringSince = undefined;
    for (const m of batch) {
      if (m.receives > 0) this.redeliveries++;
      m.receives++;
      m.inFlight = true;
      m.visibleAt = now + o.queueVisibilitySeconds * 1000;
      this.w.clock.at(m.visibleAt, () => this.reappear(m));
    }
    this.run(batch, this.idle.pop() ?? this.createEnvironment());
    // More may be waiting already.
    this.schedulePoll(now);
  }

  private scheduleNextVisible(): void {
    const next = this.waiting().map((m) => m.visibleAt);
    if (next.length > 0) this.schedulePoll(Math.min(...next));
  }

  /** The visibility timeout of a received message ended without it being deleted. */
  private reappear(m: QueuedMessage): void {
    if (m.deleted || m.deadLettered || !m.inFlight || this.w.now() < m.visibleAt) return;
    m.inFlight = false;
    this.schedulePoll(this.w.now());
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
    const rescue = createRescueHandler({
      ssm: viaEnvironment(this.services.ssm) as unknown as SSMClient,
      autoScaling: viaEnvironment(this.services.autoScaling) as unknown as AutoScalingClient,
      sqs: viaEnvironment(this.queue) as unknown as SQSClient,
      settings: {
        documentName: o.documentName,
        asgNames: [o.asgName],
        hookName: o.hookName,
        onlineWaitSeconds: o.onlineWaitSeconds,
        executionTimeoutSeconds: o.executionTimeoutSeconds,
        heartbeatTimeoutSeconds: o.heartbeatTimeoutSeconds,
        metricNamespace: 'LogRescue',
        queueUrl: QUEUE_URL,
        stackId: o.stackId,
      },
      log: (record) => this.collect(record),
      now: () => this.w.now(),
      sleep: (ms) => (env.dead ? NEVER : new Promise<void>((resolve) => this.w.clock.after(ms, () => { if (!env.dead) resolve(); }))),
      random: () => handlerRng.next(),
    });
    // The results of each batch, for the report; the queue handler itself sees the real `batch`.
    const observed: RescueHandler = Object.assign((event: unknown) => rescue(event), {
      batch: async (events: readonly unknown[], options?: BatchOptions): Promise<Outcome[]> => {
        const outcomes = await rescue.batch(events, options);
        if (!env.dead) for (const o of outcomes) if (o.ok) this.countResult(o.result);
        return outcomes;
      },
    });
    return Object.assign(env, { handler: createQueueHandler(observed, () => this.w.now()) });
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

  private run(batch: QueuedMessage[], env: Environment): void {
    const o = this.w.options;
    this.busy++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.busy);
    this.batchesAt.push(this.w.now());
    this.maxBatch = Math.max(this.maxBatch, batch.length);
    const failing = this.rng.chance(o.lambdaFailureShare);
    if (failing) this.injectedInvocations++;
    env.current = { failing };
    const initMs = env.warm ? 0 : o.coldStartMs;
    if (!env.warm) this.coldStarts++;
    env.warm = true;
    let done = false;
    const startedAt = this.w.now();
    const finish = (outcome: 'ok' | 'error' | 'timeout', failed: ReadonlySet<string> = new Set()) => {
      if (done) return;
      done = true;
      this.maxInvocationMs = Math.max(this.maxInvocationMs, this.w.now() - startedAt);
      this.busy--;
      env.current = undefined;
      if (outcome === 'timeout') env.dead = true;
      else this.idle.push(env);
      if (outcome !== 'ok') this.functionErrors++;
      if (outcome === 'timeout') this.timeouts++;
      for (const m of batch) {
        const ok = outcome === 'ok' && !failed.has(m.messageId);
        m.outcomes.push(ok ? 'ok' : outcome === 'ok' ? 'failed' : outcome);
        // Deleted; the rest reappear when their visibility timeout ends.
        if (ok) m.deleted = true;
      }
      this.schedulePoll(this.w.now());
    };
    this.w.clock.after(initMs, () => {
      this.invocations++;
      for (const m of batch) {
        if (m.event.source === 'aws.autoscaling') stamp(this.w.instances.get(instanceOf(m.event) ?? ''), 'lifecycleInvoked', this.w.now());
      }
      const endsAt = this.w.now() + o.lambdaTimeoutSeconds * 1000;
      this.w.clock.after(o.lambdaTimeoutSeconds * 1000, () => finish('timeout'));
      env.handler(sqsEvent(batch, this.w.now()), { getRemainingTimeInMillis: () => endsAt - this.w.now() }).then(
        (r) => finish('ok', new Set((r as { batchItemFailures: Array<{ itemIdentifier: string }> }).batchItemFailures.map((f) => f.itemIdentifier))),
        () => finish('error'),
      );
    });
  }

  private countResult(result: RescueResult): void {
    this.count(this.results, result.action);
    if ('reason' in result && result.reason) this.count(this.results, `${result.action}:${result.reason}`);
    if ('completion' in result) this.count(this.results, `completion:${result.completion}`);
    if (result.action === 'backstop') for (const r of result.results) this.countResult(r);
  }

  private collect(record: object): void {
    const r = record as Record<string, unknown> & { _aws?: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> } };
    if (r._aws) {
      for (const m of r._aws.CloudWatchMetrics.flatMap((d) => d.Metrics)) {
        const value = typeof r[m.Name] === 'number' ? (r[m.Name] as number) : 0;
        if (m.Name === 'RescueDurationSeconds' || m.Name === 'HoldSeconds') continue;
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

/** The event Lambda's SQS poller hands the function, as it really looks. */
function sqsEvent(batch: readonly QueuedMessage[], now: number): object {
  return {
    Records: batch.map((m) => ({
      messageId: m.messageId,
      receiptHandle: `AQEB${m.messageId.replace(/-/g, '')}`,
      body: JSON.stringify(m.event),
      attributes: {
        ApproximateReceiveCount: String(m.receives),
        SentTimestamp: String(Math.round(m.sentAt)),
        SenderId: 'AIDAIENQZJOLO23YVJ4VO',
        ApproximateFirstReceiveTimestamp: String(Math.round(now)),
      },
      // As Lambda hands them over: lower-case keys, the list fields empty.
      messageAttributes: Object.fromEntries(Object.entries(m.attributes).map(([name, a]) => [
        name, { stringValue: a.value, stringListValues: [], binaryListValues: [], dataType: a.dataType },
      ])),
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
      awsRegion: 'us-east-1',
    })),
  };
}
