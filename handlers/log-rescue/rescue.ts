/**
 * The termination log rescue over a batch of EventBridge events (as the event queue hands them to
 * one invocation), over injected AWS clients and clock.
 *
 * One run per batch: parse each event, hand each kind to its step (lifecycle actions and Spot
 * warnings to send.ts, Run Command's status events to finish.ts), each of which reads through the
 * AWS shell (aws.ts), asks the pure decisions (decisions.ts) what to do with what was read, writes
 * through the shell, and returns its events' outcomes as values (outcomes.ts). `batch` returns one
 * outcome per event, in order: a result, an error the queue should retry the event for, or retry
 * later (not an error: a fresh command status waits one visibility timeout).
 *
 * The handler never fails an event it cannot use (the queue would retry it, and retry a flood of
 * them); an event fails only when AWS keeps throttling to the invocation's deadline (throttling is
 * backpressure: a storm of thousands queues behind Auto Scaling's completion rate, and waiting in
 * the invocation costs no queue receive) or a call fails in a way a retry may fix,
 * and then only the events that call was for, so the queue retries just those. No module-level
 * state: everything timed goes through `now`/`sleep`, so a simulation can drive many handlers on a
 * virtual clock.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createAwsShell } from './aws';
import { parseEvent, type CommandInvocationEvent, type CommandStatusEvent, type LifecycleActionEvent, type SpotWarningEvent } from './events';
import { onCommandStatus, onInvocations } from './finish';
import { createMetrics } from './metrics';
import {
  all, info, messageOf, ok, rejected, warn,
  type Batch, type BatchOptions, type Indexed, type Outcome, type RescueResult, type Settled, type Tools,
} from './outcomes';
import { onLifecycles, onSpots } from './send';
import type { HandlerSettings } from './settings';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './timing';

export interface RescueDeps {
  ssm: SSMClient;
  autoScaling: AutoScalingClient;
  /** The event queue's client (`settings.queueUrl`), to send an event back to look again later. */
  sqs: SQSClient;
  settings: HandlerSettings;
  /** Writes one structured record (a JSON log line or an EMF metric record). */
  log: (record: object) => void;
  /** Epoch milliseconds. */
  now: () => number;
  /** Retry backoff. */
  sleep: (ms: number) => Promise<void>;
  /** [0, 1); jitter of the retry backoff. @default Math.random */
  random?: () => number;
  /** @default DEFAULT_RETRY_POLICY */
  retryPolicy?: RetryPolicy;
}

export interface RescueHandler {
  /** One event; throws when the event should be retried. */
  (event: unknown): Promise<RescueResult>;
  /** A batch, each event's outcome in order. Never throws. */
  batch(events: readonly unknown[], options?: BatchOptions): Promise<Outcome[]>;
}

/** Thrown by the one-event entry for an event the queue should deliver again later (`retryLater`). */
export class Deferred extends Error {
  override readonly name = 'Deferred';
}

export function createRescueHandler(deps: RescueDeps): RescueHandler {
  const { ssm, autoScaling, sqs, settings, log, now, sleep } = deps;
  // Typed as required; checked too, for a caller that builds the settings at run time.
  if (sqs === undefined || !settings.queueUrl) throw new Error('createRescueHandler: needs settings.queueUrl and deps.sqs (the event queue)');
  const tools: Tools = {
    settings, log, now,
    metrics: createMetrics({ log, now, namespace: settings.metricNamespace, stack: settings.stackId }),
    aws: createAwsShell({
      ssm, autoScaling, sqs, settings, now, sleep, random: deps.random ?? Math.random, policy: deps.retryPolicy ?? DEFAULT_RETRY_POLICY,
      info: (ctx, msg, extra) => info(tools, ctx, msg, extra),
      warn: (ctx, msg, extra) => warn(tools, ctx, msg, extra),
    }),
  };

  async function one(event: unknown): Promise<RescueResult> {
    const [outcome] = await runBatch(tools, [event]);
    if (outcome.ok) return outcome.result;
    if ('retryLater' in outcome) throw new Deferred(outcome.retryLater);
    throw outcome.error;
  }

  return Object.assign(one, { batch: (events: readonly unknown[], options?: BatchOptions) => runBatch(tools, events, options) });
}

/**
 * One batch: read, decide, write; one outcome per event, in order. Every event gets exactly one
 * (a step that settled an event twice, or not at all, is a bug this says so about).
 */
export async function runBatch(tools: Tools, events: readonly unknown[], options: BatchOptions = {}): Promise<Outcome[]> {
  tools.aws.setDeadline(options.deadline);
  const b: Batch = { ...tools, events, options, kinds: new Array<string>(events.length) };
  const parsedOut: Settled[] = [];
  const lifecycles: Indexed<LifecycleActionEvent>[] = [];
  const spots: Indexed<SpotWarningEvent>[] = [];
  const invocations: Indexed<CommandInvocationEvent>[] = [];
  const statuses: Indexed<CommandStatusEvent>[] = [];
  events.forEach((raw, index) => {
    const parsed = parseEvent(raw);
    if (!parsed.ok) {
      parsedOut.push(ok(index, rejected(b, parsed.reason, { ...safeLabels(raw), ...messageOf(b, index) })));
      return;
    }
    const e = parsed.value;
    b.kinds[index] = e.kind;
    if (e.kind === 'lifecycle') lifecycles.push({ index, e });
    else if (e.kind === 'spot') spots.push({ index, e });
    else if (e.kind === 'command-invocation') invocations.push({ index, e });
    else statuses.push({ index, e });
  });
  const settled = await all([
    Promise.resolve(parsedOut), onLifecycles(b, lifecycles), onSpots(b, spots), onInvocations(b, invocations),
    ...statuses.map(({ index, e }) => onCommandStatus(b, index, e)),
  ]);
  const out = new Array<Outcome | undefined>(events.length);
  for (const { index, outcome } of settled) {
    if (out[index] !== undefined) throw new Error(`log rescue: event ${index} of the batch has two outcomes`);
    out[index] = outcome;
  }
  const missing = out.findIndex((o) => o === undefined);
  if (missing >= 0) throw new Error(`log rescue: event ${missing} of the batch has no outcome`);
  return out as Outcome[];
}

/** Identify a rejected event in the logs without echoing untrusted content. */
function safeLabels(event: unknown): object {
  if (typeof event !== 'object' || event === null) return {};
  const out: Record<string, string> = {};
  try {
    const e = event as Record<string, unknown>;
    for (const [key, label, pattern] of [
      ['id', 'eventId', /^[A-Za-z0-9-]{1,128}$/],
      ['source', 'source', /^[A-Za-z0-9.-]{1,128}$/],
      ['detail-type', 'detailType', /^[A-Za-z0-9 .-]{1,128}$/],
    ] as const) {
      const v = e[key];
      if (typeof v === 'string' && v.length <= 128 && pattern.test(v)) out[label] = v;
    }
  } catch {
    // A hostile getter; the reason alone identifies the problem.
  }
  return out;
}
