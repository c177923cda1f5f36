/**
 * The termination log rescue over a batch of EventBridge events (as the event queue hands them to
 * one invocation), over injected AWS clients and clock.
 *
 * One run per batch, per kind of event: read through the AWS shell (aws.ts), ask the pure
 * decisions (decisions.ts) what to do with what was read, write through the shell. `batch`
 * returns each event's outcome as a value: a result, an error the queue should retry the event
 * for, or retry later (not an error: a fresh command status waits one visibility timeout).
 *
 * - Lifecycle actions: wait (bounded) for the instances' SSM agents, then send the rescue document,
 *   (the wait holds no invocation: an event whose agent is not Online yet goes back to the event
 *   queue with a delay, to be looked at again),
 *   ONE command per group of up to 50 instances of the same group, hook and event second
 *   (recording a heartbeat first for an instance whose command could otherwise outlive its
 *   lifecycle action). An instance whose logs cannot be rescued is released at once instead of
 *   being held until the heartbeat expires.
 * - Invocation status: one instance's copy of the command finished (any way); release that
 *   instance. The event carries no parameters: the command's (group, hook, trigger) come from
 *   `ListCommands`, once per command per container. Nobody polls.
 * - Command status: the backstop for an invocation status that never arrived or never went
 *   through (an agent that never answered, a status event dead-lettered). Retried later once
 *   through the queue, it then releases, with each invocation's own status, the instances their lifecycle
 *   actions still hold.
 * - Spot warning: send the same document with the 2-minute budget; nothing to release.
 *
 * Rescued / NotRescued count instances, not event deliveries: the delivery that releases the
 * instance counts it; a repeated or late delivery that finds it already released counts nothing.
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
import { NO_LIFECYCLE_HOOK } from '../../config/patterns';
import {
  allSettledOrThrow, chunks, createAwsShell, groupBy, rescueKey,
  type Completion, type Context, type InvocationResult, type RescueTarget, type SentCommand,
} from './aws';
import {
  alreadySent, commandStatusScope, countFinished, decideLook, invocationCommand, invocationScope, lifecycleScope, needsReleasedCheck, spotScope,
  stillHeld, type Ignore, type IgnoredReason, type LookInput, type NotRescuedReason, type Requeue, type Scope,
} from './decisions';
import {
  compactUtc, compactUtcMs, parseEvent,
  type CommandInvocationEvent, type CommandStatusEvent, type LifecycleActionEvent, type SpotWarningEvent, type Trigger,
} from './events';
import { createMetrics, type Metrics } from './metrics';
import { DeadlineReached, errorMessage, errorName, isThrottling } from './retry';
import type { HandlerSettings } from './settings';
import { DEFAULT_RETRY_POLICY, EVENTS_FAILING_FROM_RECEIVE, needsHeartbeat, type RetryPolicy } from './timing';

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

/** One instance to rescue, from a lifecycle event or a Spot warning. */
interface Job extends RescueTarget {
  readonly index: number;
  readonly lifecycle?: LifecycleActionEvent;
  readonly spot?: SpotWarningEvent;
}

type Indexed<E> = { index: number; e: E };
/** An event of the batch, as the lines about its outcome name it. */
type EventRef = { index: number; eventId: string; instanceId?: string };
/** One event's outcome. */
type Settled = { index: number; outcome: Outcome };

/** The batch being run: its events and their SQS messages, and the kind of each event parsed. */
interface Run {
  readonly events: readonly unknown[];
  readonly options: BatchOptions;
  readonly kinds: string[];
}

const ok = (index: number, result: RescueResult): Settled => ({ index, outcome: { ok: true, result } });

export function createRescueHandler(deps: RescueDeps): RescueHandler {
  const { ssm, autoScaling, sqs, settings, log, now, sleep } = deps;
  // Typed as required; checked too, for a caller that builds the settings at run time.
  if (sqs === undefined || !settings.queueUrl) throw new Error('createRescueHandler: needs settings.queueUrl and deps.sqs (the event queue)');
  const metrics: Metrics = createMetrics({ log, now, namespace: settings.metricNamespace, stack: settings.stackId });
  const scope: Scope = settings;
  const info = (ctx: Context, msg: string, extra: object = {}) => log({ level: 'info', msg, ...ctx, ...extra });
  const warn = (ctx: Context, msg: string, extra: object = {}) => log({ level: 'warn', msg, ...ctx, ...extra });
  const aws = createAwsShell({
    ssm, autoScaling, sqs, settings, info, warn, now, sleep, random: deps.random ?? Math.random, policy: deps.retryPolicy ?? DEFAULT_RETRY_POLICY,
  });

  const jobCtx = (j: Job): Context => ({ eventId: j.eventId, instanceId: j.instanceId, asgName: j.asgName });

  function ignored(ctx: Context, d: Ignore): RescueResult {
    info(ctx, 'event ignored', { reason: d.reason, ...d.detail });
    return { action: 'ignored', reason: d.reason, ...(ctx.instanceId ? { instanceId: ctx.instanceId } : {}) };
  }

  function rejected(reason: string, labels: object): RescueResult {
    log({ level: 'warn', msg: 'event rejected', ...labels, reason });
    return { action: 'rejected', reason };
  }

  // ------------------------------------------------------------------ outcomes that are not results

  /** The queue's name for the event at `index`, for the lines an operator looks it up by. */
  function messageOf(run: Run, index: number): { messageId?: string } {
    const message = run.options.messages?.[index];
    return message === undefined ? {} : { messageId: message.messageId };
  }

  /** When the online wait of the event's instance began, if it is one the handler sent back to look again. */
  function waitStartedOf(run: Run, index: number): number | undefined {
    return run.options.messages?.[index]?.waitStartedAt;
  }

  /** The event failed for `err`: the queue retries it (and only it), then dead-letters it. */
  function failed(run: Run, e: EventRef, err: unknown): Settled {
    const receive = run.options.messages?.[e.index]?.receives;
    log({
      level: 'error', msg: 'event failed; the queue retries it, then moves it to the dead-letter queue',
      eventId: e.eventId, instanceId: e.instanceId, kind: run.kinds[e.index],
      operation: (err as { logRescueOperation?: string } | null)?.logRescueOperation,
      error: errorName(err), detail: errorMessage(err),
      ...messageOf(run, e.index), ...(receive === undefined ? {} : { receive }),
    });
    // Not a blip any more; and SQS's age of the oldest message no longer counts it. Throttled
    // to the deadline is backpressure (a storm over the rate), counted apart from errors.
    if (receive !== undefined && receive >= EVENTS_FAILING_FROM_RECEIVE) metrics.eventFailing(isThrottling(err) ? 'throttled' : 'error');
    return { index: e.index, outcome: { ok: false, error: err } };
  }

  /** Not now: the queue delivers the event again after its visibility timeout. */
  function retryLater(run: Run, e: EventRef, detail: string): Settled {
    info({ eventId: e.eventId, instanceId: e.instanceId }, 'event deferred; the queue delivers it again after its visibility timeout', {
      detail, ...messageOf(run, e.index),
    });
    return { index: e.index, outcome: { ok: false, retryLater: detail } };
  }

  /**
   * The outcomes of `work` for some events of the batch; if it throws (an AWS call failed in a way
   * a retry may fix), each of those events fails with that error, and only those: the queue
   * retries them, not the whole batch. Work that settles some events before a later call fails
   * runs that call in an `attempt` of its own, so what it settled stays settled.
   */
  async function attempt(run: Run, events: readonly EventRef[], work: () => Promise<Settled[]>): Promise<Settled[]> {
    try {
      return await work();
    } catch (err) {
      return events.map((e) => failed(run, e, err));
    }
  }

  const all = async (parts: ReadonlyArray<Promise<Settled[]>>): Promise<Settled[]> => (await Promise.all(parts)).flat();

  /**
   * The first event of each key (by default, the instance), and the others ignored: a second event
   * for an instance already in this batch adds nothing but a second command, or a second count.
   */
  function firstPerInstance<E extends { id: string; instanceId: string }>(
    items: Indexed<E>[], key: (e: E) => string = (e) => e.instanceId,
  ): { first: Indexed<E>[]; repeats: Settled[] } {
    const seen = new Set<string>();
    const first: Indexed<E>[] = [];
    const repeats: Settled[] = [];
    for (const item of items) {
      const k = key(item.e);
      if (seen.has(k)) repeats.push(ok(item.index, ignored({ eventId: item.e.id, instanceId: item.e.instanceId }, { kind: 'ignore', reason: 'duplicate-in-batch' })));
      else {
        seen.add(k);
        first.push(item);
      }
    }
    return { first, repeats };
  }

  // ------------------------------------------------------------------ rescue: look, then send, look again later, or release

  /**
   * One look at the jobs' agents, each then sent the rescue (Online), sent back to the queue to be
   * looked at again (`decideLook`: not Online, with wait left; nothing sleeps, so an offline agent
   * holds no invocation, and no concurrency the rest of a storm needs), or released. A lifecycle
   * rescue's first look at an agent not Online first reads the instance's lifecycle state (a
   * repeated or late event whose action let it go already should not wait, nor count it twice).
   */
  async function rescue(run: Run, jobs: Job[]): Promise<Settled[]> {
    if (jobs.length === 0) return [];
    const ctx: Context = { instances: jobs.length };
    return attempt(run, jobs, async () => {
      const { ping, platform } = await aws.agents(ctx, jobs.map((j) => j.instanceId));
      const answeredAt = now();
      const look = (j: Job): Omit<LookInput, 'now'> => ({
        agent: { managed: ping.has(j.instanceId), pingStatus: ping.get(j.instanceId), platformType: platform.get(j.instanceId) },
        trigger: j.trigger, answeredAt,
        ...(j.lifecycle ? { eventTimeMs: j.lifecycle.timeMs } : {}),
        ...(waitStartedOf(run, j.index) === undefined ? {} : { waitStartedAt: waitStartedOf(run, j.index) }),
      });
      const first = jobs.map((j) => ({ j, d: decideLook({ ...look(j), now: answeredAt }, settings.onlineWaitSeconds) }));
      // Released at once (another platform): under way while the others are looked at.
      const released = all(first.filter(({ d }) => d.kind === 'release' && d.reason === 'unsupported-platform').map(({ j, d }) =>
        attempt(run, [j], () => release(run, j, d.kind === 'release' ? d.reason : 'unsupported-platform', ping.get(j.instanceId), d.kind === 'release' ? d.detail : {}))));
      const online = first.filter(({ d }) => d.kind === 'send').map(({ j }) => j);
      // The listing of commands already sent is asked only when an agent is Online: a batch whose
      // agents are all offline (a look again, a late duplicate) spends no call on it.
      const sends = online.length === 0 ? Promise.resolve([]) : attempt(run, online, () => sendWave(run, online, alreadySentOrNone(jobs)));
      const notOnline = first.filter(({ d }) => d.kind !== 'send' && !(d.kind === 'release' && d.reason === 'unsupported-platform')).map(({ j }) => j);
      const looked = attempt(run, notOnline, async () => {
        const check = notOnline.filter((j) => needsReleasedCheck(look(j)));
        const member = check.length === 0 ? new Map<string, { state?: string }>() : await aws.groupMembership(ctx, check.map((j) => j.instanceId));
        return all(notOnline.map(async (j) => {
          const pingStatus = ping.get(j.instanceId);
          const d = decideLook({
            ...look(j), now: now(), ...(check.includes(j) ? { lifecycleState: member.get(j.instanceId)?.state ?? null } : {}),
          }, settings.onlineWaitSeconds);
          if (d.kind === 'ignore') return [ok(j.index, ignored(jobCtx(j), { ...d, detail: { ...(pingStatus === undefined ? {} : { pingStatus }), ...d.detail } }))];
          if (d.kind === 'requeue') return attempt(run, [j], () => lookAgainLater(run, j, d, pingStatus));
          if (d.kind === 'release') return attempt(run, [j], () => release(run, j, d.reason, pingStatus));
          throw new Error(`decideLook: ${d.kind} for an agent not Online`);
        }));
      });
      // Sends already under way finish (and settle their own events) whatever happened to the look.
      return all([released, sends, looked]);
    });
  }

  /**
   * Send the job's event back to the event queue, delayed until its agent is worth looking at again
   * (5 s, or what is left of the wait), with the wait's start as a message attribute.
   */
  async function lookAgainLater(run: Run, j: Job, d: Requeue, pingStatus?: string): Promise<Settled[]> {
    const ctx = jobCtx(j);
    await aws.requeue(ctx, run.events[j.index], d.delaySeconds, d.waitStartedAt);
    const waitedSeconds = Math.round((now() - d.waitStartedAt) / 100) / 10;
    info(ctx, 'agent not Online yet; the event goes back to the queue to look again', {
      pingStatus, recheckSeconds: d.delaySeconds, waitedSeconds, onlineWaitSeconds: settings.onlineWaitSeconds, ...messageOf(run, j.index),
    });
    return [ok(j.index, {
      action: 'waiting', trigger: j.trigger, instanceId: j.instanceId, asgName: j.asgName,
      ...(pingStatus === undefined ? {} : { pingStatus }), recheckSeconds: d.delaySeconds, waitedSeconds,
    })];
  }

  /** `commandsAlreadySent`, or none when SSM would not say. */
  function alreadySentOrNone(jobs: readonly Job[]): Promise<Map<string, SentCommand>> {
    return aws.commandsAlreadySent({ instances: jobs.length }, jobs).catch((err: unknown) => {
      // No call starts after the deadline, SendCommand included: the queue retries these events.
      if (err instanceof DeadlineReached) throw err;
      // A guard, not a prerequisite: without the listing the command goes, as it would have
      // before; holding the instance for another visibility timeout would be worse than a second run.
      warn({ instances: jobs.length }, 'could not list the commands already sent; sending anyway', { error: errorName(err), detail: errorMessage(err) });
      return new Map<string, SentCommand>();
    });
  }

  /**
   * Before a lifecycle command is sent: when its status could come after the lifecycle action
   * expires (`needsHeartbeat`: the event's age + the execution timeout + the delivery timeout is
   * past the heartbeat timeout, as after a long queue or retries), record a heartbeat first.
   */
  async function keepHeld(j: Job): Promise<'not-needed' | 'recorded' | 'not-recorded' | 'released'> {
    const e = j.lifecycle;
    if (!e) return 'not-needed';
    const elapsedSeconds = Math.max(0, (now() - e.timeMs) / 1000);
    if (!needsHeartbeat(elapsedSeconds, settings.executionTimeoutSeconds, settings.heartbeatTimeoutSeconds)) return 'not-needed';
    return aws.recordHeartbeat(jobCtx(j), e, {
      elapsedSeconds: Math.round(elapsedSeconds), executionTimeoutSeconds: settings.executionTimeoutSeconds,
      heartbeatTimeoutSeconds: settings.heartbeatTimeoutSeconds,
    });
  }

  /**
   * Send to instances whose agents are online, less those SSM already lists a command of this
   * rescue for: one command per group, hook and event second, 50 at most.
   */
  async function sendWave(run: Run, wave: Job[], listing: Promise<Map<string, SentCommand>>): Promise<Settled[]> {
    const sent = await listing;
    const out: Settled[] = [];
    const jobs = wave.filter((j) => {
      const d = alreadySent(sent.get(rescueKey(j)), j.trigger);
      if (d) out.push(ok(j.index, ignored(jobCtx(j), d)));
      return d === undefined;
    });
    if (jobs.length === 0) return out;
    const heartbeats = await Promise.all(jobs.map(keepHeld));
    const ready = jobs.filter((j, i) => {
      if (heartbeats[i] !== 'released') return true;
      out.push(ok(j.index, ignored(jobCtx(j), { kind: 'ignore', reason: 'already-released', detail: { by: 'RecordLifecycleActionHeartbeat' } })));
      return false;
    });
    const heartbeatOf = new Map(jobs.map((j, i) => [j.instanceId, heartbeats[i]]));
    const groups = groupBy(ready, (j) => [j.trigger, j.asgName, j.hookName, j.eventTime].join('\n')).flatMap((g) => chunks(g));
    return [...out, ...await all(groups.map((g) => attempt(run, g, () => sendGroup(run, g, heartbeatOf))))];
  }

  async function sendGroup(run: Run, jobs: Job[], heartbeatOf: Map<string, string>): Promise<Settled[]> {
    const ctx: Context = jobs.length === 1 ? jobCtx(jobs[0]) : { eventId: jobs[0].eventId, asgName: jobs[0].asgName, instances: jobs.length };
    const commandId = await aws.sendRescue(ctx, jobs);
    if (typeof commandId !== 'string') {
      // One bad instance (say, it left SSM a moment ago) refuses the whole command: try each alone.
      // Any other refusal (a denied role, a missing document) would refuse each of them too.
      if (jobs.length > 1 && commandId.refused === 'InvalidInstanceId') {
        return all(jobs.map((j) => attempt(run, [j], () => sendGroup(run, [j], heartbeatOf))));
      }
      return all(jobs.map((j) => attempt(run, [j], () => release(run, j, 'send-failed'))));
    }
    return jobs.map((j) => {
      // The status event that releases the instance is due within the document's execution timeout.
      info(jobCtx(j), 'rescue command sent', {
        trigger: j.trigger, commandId, eventTime: j.eventTime, commandInstances: jobs.length,
        executionTimeoutSeconds: settings.executionTimeoutSeconds, heartbeat: heartbeatOf.get(j.instanceId),
        ...(j.spot ? { instanceAction: j.spot.instanceAction } : {}),
      });
      metrics.commandSent();
      return ok(j.index, {
        action: 'command-sent', trigger: j.trigger, instanceId: j.instanceId, asgName: j.asgName, commandId, eventTime: j.eventTime,
        commandInstances: jobs.length,
      });
    });
  }

  /** Count an instance not rescued, for `reason`, releasing it first (a lifecycle rescue). */
  async function release(run: Run, j: Job, reason: NotRescuedReason, pingStatus?: string, extra: object = {}): Promise<Settled[]> {
    const ctx = jobCtx(j);
    if (j.trigger === 'spot') {
      warn(ctx, 'logs not rescued before the Spot interruption', { reason, pingStatus, ...extra });
      metrics.notRescued(reason);
      return [ok(j.index, { action: 'not-rescued', trigger: 'spot', instanceId: j.instanceId, asgName: j.asgName, reason, completion: 'none' })];
    }
    // Holding the instance until the heartbeat expires would rescue nothing and delay the scale-in.
    warn(ctx, 'logs not rescued; releasing the instance', { reason, pingStatus, ...extra });
    const completion = await aws.complete(ctx, j.asgName, j.hookName, j.instanceId);
    // Already released: by another delivery of this event, which counted it (or the heartbeat ran out
    // meanwhile, and then nothing can count it). Counting here would count the instance twice.
    if (completion === 'completed') metrics.notRescued(reason);
    return [ok(j.index, { action: 'not-rescued', trigger: 'lifecycle', instanceId: j.instanceId, asgName: j.asgName, reason, completion })];
  }

  // ------------------------------------------------------------------ per kind of event

  async function onLifecycles(run: Run, items: Indexed<LifecycleActionEvent>[]): Promise<Settled[]> {
    const out: Settled[] = [];
    const wanted = items.filter(({ index, e }) => {
      const d = lifecycleScope(e, scope);
      if (d) out.push(ok(index, ignored({ eventId: e.id, instanceId: e.instanceId, asgName: e.asgName }, d)));
      return d === undefined;
    });
    // A look-again copy before a first look of the same instance (a late EventBridge duplicate):
    // the copy's wait clock is the one that counts.
    const copiesFirst = [...wanted].sort((a, b) => (waitStartedOf(run, a.index) ?? Infinity) - (waitStartedOf(run, b.index) ?? Infinity));
    const { first, repeats } = firstPerInstance(copiesFirst);
    const jobs: Job[] = first.map(({ index, e }) => ({
      index, eventId: e.id, instanceId: e.instanceId, asgName: e.asgName, hookName: e.hookName, trigger: 'lifecycle',
      eventTime: compactUtc(e.time), timeMs: e.timeMs, lifecycle: e,
    }));
    return [...out, ...repeats, ...await rescue(run, jobs)];
  }

  async function onSpots(run: Run, items: Indexed<SpotWarningEvent>[]): Promise<Settled[]> {
    const { first, repeats } = firstPerInstance(items);
    const refs = first.map(({ index, e }) => ({ index, eventId: e.id, instanceId: e.instanceId }));
    return [...repeats, ...await attempt(run, refs, async () => {
      const member = await aws.groupMembership({ instances: first.length }, first.map(({ e }) => e.instanceId));
      const out: Settled[] = [];
      const jobs: Job[] = [];
      for (const { index, e } of first) {
        const d = spotScope(member.get(e.instanceId), scope);
        const ctx: Context = { eventId: e.id, instanceId: e.instanceId };
        if (d.kind === 'ignore') {
          out.push(ok(index, ignored(d.reason === 'lifecycle-hook-handles-it' ? { ...ctx, asgName: member.get(e.instanceId)?.asgName } : ctx, d)));
        } else {
          jobs.push({
            index, eventId: e.id, instanceId: e.instanceId, asgName: d.asgName, hookName: NO_LIFECYCLE_HOOK, trigger: 'spot',
            eventTime: compactUtc(e.time), timeMs: e.timeMs, spot: e,
          });
        }
      }
      // No waiting: the instance has two minutes left in all.
      return [...out, ...await rescue(run, jobs)];
    })];
  }

  /** Release (for a lifecycle rescue) and count one instance whose copy of the command finished. */
  async function finish(ctx: Context, p: {
    instanceId: string; commandId: string; status: string; asgName: string; hookName: string; trigger: Trigger; durationSeconds: number;
    /** From the lifecycle event (the rescue's eventTime parameter) to the status event that ends it. */
    holdSeconds: number;
    /** The script's exit code(s), read for a Failed copy: nothing collected is its own reason. */
    responseCodes?: readonly number[];
  }): Promise<RescueResult> {
    // The hook name the command carried, not the configured one: the action belongs to that hook.
    const completion = p.trigger === 'lifecycle' ? await aws.complete(ctx, p.asgName, p.hookName, p.instanceId) : 'none';
    const d = countFinished(p, completion);
    if (d.kind === 'ignore') return ignored(ctx, d);
    const { rescued, reason } = d;
    (rescued ? info : warn)(ctx, rescued ? 'logs rescued' : 'logs not rescued', {
      trigger: p.trigger, commandId: p.commandId, status: p.status, reason, durationSeconds: p.durationSeconds, completion,
      ...(p.responseCodes === undefined ? {} : { responseCodes: p.responseCodes }),
    });
    if (rescued) metrics.rescued();
    else metrics.notRescued(reason!);
    metrics.duration(p.durationSeconds);
    // Only a lifecycle rescue holds its instance; a Spot instance goes when EC2 says.
    if (p.trigger === 'lifecycle' && completion === 'completed') metrics.hold(p.holdSeconds);
    return {
      action: 'command-finished', trigger: p.trigger, instanceId: p.instanceId, asgName: p.asgName, commandId: p.commandId, status: p.status,
      rescued, ...(reason ? { reason } : {}), completion, durationSeconds: p.durationSeconds,
    };
  }

  async function onInvocations(run: Run, items: Indexed<CommandInvocationEvent>[]): Promise<Settled[]> {
    const out: Settled[] = [];
    const wanted = items.filter(({ index, e }) => {
      const d = invocationScope(e, scope);
      if (d) out.push(ok(index, ignored({ eventId: e.id, instanceId: e.instanceId }, d)));
      return d === undefined;
    });
    // A repeated delivery in the same batch: for a Spot rescue nothing else would stop a second count.
    const { first: unique, repeats } = firstPerInstance(wanted, (e) => `${e.commandId}/${e.instanceId}`);
    out.push(...repeats);
    const byCommand = groupBy(unique, ({ e }) => e.commandId);
    // Statuses of several commands this container has not read yet (a storm's batch spans many):
    // one listing of the document's recent commands reads them all, rather than one ListCommands
    // each, which in a storm of 1,000 throttled against SSM's rate and held up the completions.
    const unknown = byCommand.filter((g) => !aws.knowsCommand(g[0].e.commandId));
    if (unknown.length > 1) {
      await aws.ourCommandsSince({ instances: unique.length }, Math.min(...unknown.map((g) => g[0].e.requestedTimeMs))).catch((err: unknown) => {
        if (err instanceof DeadlineReached) return;
        warn({ instances: unique.length }, 'could not list the recent commands; reading each', { error: errorName(err), detail: errorMessage(err) });
      });
    }
    const refOf = ({ index, e }: Indexed<CommandInvocationEvent>): EventRef => ({ index, eventId: e.id, instanceId: e.instanceId });
    return [...out, ...await all(byCommand.map((group) => attempt(run, group.map(refOf), async () => {
      const first = group[0].e;
      const firstCtx: Context = { eventId: first.id, instanceId: first.instanceId };
      const d = invocationCommand(await aws.commandOf(firstCtx, first.commandId), first.commandId, scope);
      if (d.kind === 'reject') return group.map(({ index, e }) => ok(index, rejected(d.reason, { eventId: e.id, instanceId: e.instanceId })));
      if (d.kind === 'ignore') return group.map(({ index, e }) => ok(index, ignored({ eventId: e.id, instanceId: e.instanceId }, d)));
      const { asgName, hookName, trigger, eventTime } = d.params;
      // A Failed copy may be the script saying it found nothing (its exit code), which the
      // event does not carry: one listing of the command's invocations answers for all of
      // this batch's Failed copies of it (filtered to the instance when there is one).
      const failedCopies = group.filter(({ e }) => e.status === 'Failed');
      const codes = failedCopies.length === 0
        ? new Map<string, InvocationResult>()
        : await aws.responseCodesOf({ ...firstCtx, asgName }, first.commandId, failedCopies.length === 1 ? failedCopies[0].e.instanceId : undefined);
      return all(group.map(({ index, e }) => attempt(run, [refOf({ index, e })], async () => [ok(index, await finish(
        { eventId: e.id, instanceId: e.instanceId, asgName },
        {
          instanceId: e.instanceId, commandId: e.commandId, status: e.status, asgName, hookName, trigger,
          durationSeconds: Math.max(0, (e.timeMs - e.requestedTimeMs) / 1000),
          holdSeconds: Math.max(0, (e.timeMs - compactUtcMs(eventTime)) / 1000),
          ...(e.status === 'Failed' ? { responseCodes: codes.get(e.instanceId)?.responseCodes ?? [] } : {}),
        },
      ))])));
    })))];
  }

  /**
   * The command-level status: every invocation of the command has ended. The invocation statuses
   * normally released each instance already; this releases any instance still held (an invocation
   * whose status never came), counting it with its invocation's own status.
   */
  async function onCommandStatus(run: Run, index: number, e: CommandStatusEvent): Promise<Settled[]> {
    const ctx: Context = { eventId: e.id, ...(e.instanceIds.length === 1 ? { instanceId: e.instanceIds[0] } : { instances: e.instanceIds.length }) };
    const ref: EventRef = { index, eventId: e.id, instanceId: e.instanceIds[0] };
    const d = commandStatusScope(e, scope, now());
    if (d.kind === 'ignore') return [ok(index, ignored(ctx, d))];
    if (d.kind === 'reject') return [ok(index, rejected(d.reason, ctx))];
    if (d.kind === 'retry-later') return [retryLater(run, ref, d.detail)];
    const { asgName, hookName, trigger, eventTime } = d.params;
    const held = { ...ctx, asgName };
    return attempt(run, [ref], async () => {
      const member = await aws.groupMembership(held, e.instanceIds);
      const holding = stillHeld(e.instanceIds, (id) => member.get(id)?.state);
      if (holding.length === 0) return [ok(index, ignored(held, { kind: 'ignore', reason: 'already-counted', detail: { commandId: e.commandId, status: e.status } }))];
      // A Success command succeeded on every instance; otherwise each invocation says how it ended
      // (and, Failed, with what exit code).
      const invocations = e.status === 'Success' ? new Map<string, InvocationResult>() : await aws.invocationResults(held, e.commandId);
      warn(held, 'command finished with instances still held; releasing them', { commandId: e.commandId, status: e.status, held: holding.length });
      const durationSeconds = Math.max(0, (e.timeMs - e.requestedTimeMs) / 1000);
      const results = await allSettledOrThrow(holding.map((instanceId) => finish({ ...held, instanceId, instances: undefined }, {
        instanceId, commandId: e.commandId, status: invocations.get(instanceId)?.status ?? e.status, asgName, hookName, trigger, durationSeconds,
        holdSeconds: Math.max(0, (e.timeMs - compactUtcMs(eventTime)) / 1000),
        ...(invocations.has(instanceId) ? { responseCodes: invocations.get(instanceId)!.responseCodes } : {}),
      })));
      return [ok(index, { action: 'backstop', commandId: e.commandId, status: e.status, results })];
    });
  }

  // ------------------------------------------------------------------ the batch: read, decide, write; one outcome per event

  async function batch(events: readonly unknown[], options: BatchOptions = {}): Promise<Outcome[]> {
    aws.setDeadline(options.deadline);
    const run: Run = { events, options, kinds: new Array<string>(events.length) };
    const parsedOut: Settled[] = [];
    const lifecycles: Indexed<LifecycleActionEvent>[] = [];
    const spots: Indexed<SpotWarningEvent>[] = [];
    const invocations: Indexed<CommandInvocationEvent>[] = [];
    const statuses: Indexed<CommandStatusEvent>[] = [];
    events.forEach((raw, index) => {
      const parsed = parseEvent(raw);
      if (!parsed.ok) {
        parsedOut.push(ok(index, rejected(parsed.reason, { ...safeLabels(raw), ...messageOf(run, index) })));
        return;
      }
      const e = parsed.value;
      run.kinds[index] = e.kind;
      if (e.kind === 'lifecycle') lifecycles.push({ index, e });
      else if (e.kind === 'spot') spots.push({ index, e });
      else if (e.kind === 'command-invocation') invocations.push({ index, e });
      else statuses.push({ index, e });
    });
    const settled = await all([
      Promise.resolve(parsedOut), onLifecycles(run, lifecycles), onSpots(run, spots), onInvocations(run, invocations),
      ...statuses.map(({ index, e }) => onCommandStatus(run, index, e)),
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

  async function one(event: unknown): Promise<RescueResult> {
    const [outcome] = await batch([event]);
    if (outcome.ok) return outcome.result;
    if ('retryLater' in outcome) throw new Deferred(outcome.retryLater);
    throw outcome.error;
  }

  return Object.assign(one, { batch });
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
