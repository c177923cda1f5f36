/**
 * What becomes of each event of a batch, as a value: the results the handler returns, and the one
 * `Batch` every step of a run reads from and writes through (the AWS shell, the metrics, the log,
 * the clock, the batch's events and their SQS messages).
 *
 * Every step returns the outcomes of the events it was given (`Settled[]`); none writes into a
 * shared list, and the run checks that each event got exactly one (rescue.ts).
 */
import type { AwsShell, Completion, Context } from './aws';
import type { Ignore, IgnoredReason, NotRescuedReason } from './decisions';
import type { Trigger } from './events';
import type { Metrics } from './metrics';
import { errorMessage, errorName, isThrottling } from './retry';
import type { HandlerSettings } from './settings';
import { EVENTS_FAILING_FROM_RECEIVE } from './timing';

export type RescueResult =
  | { action: 'rejected'; reason: string }
  | { action: 'ignored'; reason: IgnoredReason; instanceId?: string }
  | {
      action: 'command-sent'; trigger: Trigger; instanceId: string; asgName: string; commandId: string; eventTime: string;
      /** Instances the command went to, this one included. */
      commandInstances: number;
    }
  | { action: 'not-rescued'; trigger: Trigger; instanceId: string; asgName: string; reason: NotRescuedReason; completion: Completion }
  | {
      action: 'command-finished'; trigger: Trigger; instanceId: string; asgName: string; commandId: string; status: string;
      rescued: boolean; reason?: NotRescuedReason; completion: Completion; durationSeconds: number;
    }
  /** The agent was not Online yet: the event went back to the queue to look again in `recheckSeconds`. */
  | {
      action: 'waiting'; trigger: Trigger; instanceId: string; asgName: string; pingStatus?: string; recheckSeconds: number;
      /** Since the agent was first found not Online. */
      waitedSeconds: number;
    }
  /** A command-level status: what it did for each instance its lifecycle action still held. */
  | { action: 'backstop'; commandId: string; status: string; results: RescueResult[] };

/**
 * What became of one event of a batch: a result; an error the queue should retry it for; or not
 * now (`retryLater`: the queue delivers it again after its visibility timeout, as it would after
 * an error, but nothing went wrong).
 */
export type Outcome = { ok: true; result: RescueResult } | { ok: false; error: unknown } | { ok: false; retryLater: string };

export interface BatchOptions {
  /**
   * Epoch ms by which the batch must be done (the invocation's end, less a margin): throttled calls
   * keep retrying until then. Without it, throttling gets the retry policy's bounded attempts.
   */
  deadline?: number;
  /**
   * The SQS message of each event, by index: its messageId is named in its rejection, failure and
   * deferral lines; an event failing on a late receive (`receives`, SQS ApproximateReceiveCount,
   * this delivery included) is counted in the `EventsFailing` metric.
   */
  messages?: ReadonlyArray<{
    readonly messageId: string;
    readonly receives?: number;
    /** Set on an event the handler sent back to look again: when its agent was first found not Online. */
    readonly waitStartedAt?: number;
  }>;
}

/** What every run of the handler writes through: made once per handler (rescue.ts). */
export interface Tools {
  readonly aws: AwsShell;
  readonly metrics: Metrics;
  readonly settings: HandlerSettings;
  /** Writes one structured record. */
  readonly log: (record: object) => void;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

/** One batch being run: the tools, its events and their SQS messages, and the kind of each event parsed. */
export interface Batch extends Tools {
  readonly events: readonly unknown[];
  readonly options: BatchOptions;
  readonly kinds: string[];
}

export type Indexed<E> = { index: number; e: E };
/** An event of the batch, as the lines about its outcome name it. */
export type EventRef = { index: number; eventId: string; instanceId?: string };
/** One event's outcome. */
export type Settled = { index: number; outcome: Outcome };

export const ok = (index: number, result: RescueResult): Settled => ({ index, outcome: { ok: true, result } });

export function info(b: Tools, ctx: Context, msg: string, extra: object = {}): void {
  b.log({ level: 'info', msg, ...ctx, ...extra });
}

export function warn(b: Tools, ctx: Context, msg: string, extra: object = {}): void {
  b.log({ level: 'warn', msg, ...ctx, ...extra });
}

export function ignored(b: Tools, ctx: Context, d: Ignore): RescueResult {
  info(b, ctx, 'event ignored', { reason: d.reason, ...d.detail });
  return { action: 'ignored', reason: d.reason, ...(ctx.instanceId ? { instanceId: ctx.instanceId } : {}) };
}

export function rejected(b: Tools, reason: string, labels: object): RescueResult {
  b.log({ level: 'warn', msg: 'event rejected', ...labels, reason });
  return { action: 'rejected', reason };
}

/** The queue's name for the event at `index`, for the lines an operator looks it up by. */
export function messageOf(b: Batch, index: number): { messageId?: string } {
  const message = b.options.messages?.[index];
  return message === undefined ? {} : { messageId: message.messageId };
}

/** When the online wait of the event's instance began, if it is one the handler sent back to look again. */
export function waitStartedOf(b: Batch, index: number): number | undefined {
  return b.options.messages?.[index]?.waitStartedAt;
}

/** The event failed for `err`: the queue retries it (and only it), then dead-letters it. */
export function failed(b: Batch, e: EventRef, err: unknown): Settled {
  const receive = b.options.messages?.[e.index]?.receives;
  b.log({
    level: 'error', msg: 'event failed; the queue retries it, then moves it to the dead-letter queue',
    eventId: e.eventId, instanceId: e.instanceId, kind: b.kinds[e.index],
    operation: (err as { logRescueOperation?: string } | null)?.logRescueOperation,
    error: errorName(err), detail: errorMessage(err),
    ...messageOf(b, e.index), ...(receive === undefined ? {} : { receive }),
  });
  // Not a blip any more; and SQS's age of the oldest message no longer counts it. Throttled
  // to the deadline is backpressure (a storm over the rate), counted apart from errors.
  if (receive !== undefined && receive >= EVENTS_FAILING_FROM_RECEIVE) b.metrics.eventFailing(isThrottling(err) ? 'throttled' : 'error');
  return { index: e.index, outcome: { ok: false, error: err } };
}

/** Not now: the queue delivers the event again after its visibility timeout. */
export function retryLater(b: Batch, e: EventRef, detail: string): Settled {
  info(b, { eventId: e.eventId, instanceId: e.instanceId }, 'event deferred; the queue delivers it again after its visibility timeout', {
    detail, ...messageOf(b, e.index),
  });
  return { index: e.index, outcome: { ok: false, retryLater: detail } };
}

/**
 * The outcomes of `work` for some events of the batch; if it throws (an AWS call failed in a way
 * a retry may fix), each of those events fails with that error, and only those: the queue
 * retries them, not the whole batch. Work that settles some events before a later call fails
 * runs that call in an `attempt` of its own, so what it settled stays settled.
 */
export async function attempt(b: Batch, events: readonly EventRef[], work: () => Promise<Settled[]>): Promise<Settled[]> {
  try {
    return await work();
  } catch (err) {
    return events.map((e) => failed(b, e, err));
  }
}

export const all = async (parts: ReadonlyArray<Promise<Settled[]>>): Promise<Settled[]> => (await Promise.all(parts)).flat();

/**
 * The first event of each key (by default, the instance), and the others ignored: a second event
 * for an instance already in this batch adds nothing but a second command, or a second count.
 */
export function firstPerInstance<E extends { id: string; instanceId: string }>(
  b: Tools, items: Indexed<E>[], key: (e: E) => string = (e) => e.instanceId,
): { first: Indexed<E>[]; repeats: Settled[] } {
  const seen = new Set<string>();
  const first: Indexed<E>[] = [];
  const repeats: Settled[] = [];
  for (const item of items) {
    const k = key(item.e);
    if (seen.has(k)) repeats.push(ok(item.index, ignored(b, { eventId: item.e.id, instanceId: item.e.instanceId }, { kind: 'ignore', reason: 'duplicate-in-batch' })));
    else {
      seen.add(k);
      first.push(item);
    }
  }
  return { first, repeats };
}
