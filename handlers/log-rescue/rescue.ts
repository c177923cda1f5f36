/**
 * The termination log rescue over a batch of EventBridge events (as the event queue hands them to
 * one invocation), over injected AWS clients and clock.
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
 *   through (an agent that never answered, a status event dead-lettered). Deferred once through
 *   the queue, it then releases, with each invocation's own status, the instances their lifecycle
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
import {
  DescribeInstanceInformationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand, type Command, type SSMClient,
} from '@aws-sdk/client-ssm';
import {
  CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand, RecordLifecycleActionHeartbeatCommand, type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_INSTANCES_PER_COMMAND, NO_LIFECYCLE_HOOK, NOTHING_COLLECTED_EXIT_CODE } from '../../config/patterns';
import {
  compactUtc, parseEvent, readRescueParameters,
  type CommandInvocationEvent, type CommandStatusEvent, type LifecycleActionEvent, type RescueEvent, type SpotWarningEvent, type Trigger,
} from './events';
import { createMetrics, type Metrics } from './metrics';
import {
  DeadlineReached, errorMessage, errorName, isRetryable, isServiceError, isThrottling, withRetry,
} from './retry';
import {
  BACKSTOP_DELAY_SECONDS, COMMAND_CLOCK_SKEW_MS, DEFAULT_RETRY_POLICY, DELIVERY_TIMEOUT_SECONDS, EVENTS_FAILING_FROM_RECEIVE,
  lookAgainBoundMs, lookAgainDelaySeconds, needsHeartbeat, type RetryPolicy,
} from './timing';
import type { HandlerSettings } from './settings';

export { settingsFromEnv, type HandlerSettings } from './settings';

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
  sleep: (ms: number) => Promise<void>;
  /** [0, 1); jitter of the retry backoff. @default Math.random */
  random?: () => number;
  /** @default DEFAULT_RETRY_POLICY */
  retryPolicy?: RetryPolicy;
}

/** Why an instance's logs were not rescued; the `Reason` metric dimension. */
export type NotRescuedReason =
  | 'not-managed' | 'offline' | 'send-failed'
  /** The agent runs on a platform the document does not rescue (Windows, macOS): released at once. */
  | 'unsupported-platform'
  /** The script ran and found nothing to collect (it exited NOTHING_COLLECTED_EXIT_CODE): a wrong glob, not a rescue. */
  | 'nothing-collected'
  | `command-${string}`;

/** Why a valid event needed nothing from this deployment. */
export type IgnoredReason =
  | 'asg-not-configured' | 'hook-not-configured' | 'other-document' | 'not-terminal' | 'not-in-configured-group'
  /** A lifecycle event for an instance its lifecycle action no longer holds (a repeated or late delivery). */
  | 'already-released'
  /** A command status for an instance another delivery already released and counted. */
  | 'already-counted' | 'lifecycle-hook-handles-it'
  /** The same event, or another event for the same instance, earlier in the same batch. */
  | 'duplicate-in-batch'
  /**
   * SSM already lists a command of our document for this very rescue (instance, trigger, group,
   * hook and event time): a repeated delivery, or a batch retried after its SendCommand went
   * through. That command's status events release and count the instance.
   */
  | 'already-sent'
  /** An invocation status of a command SSM no longer lists (commands are listed for 30 days). */
  | 'unknown-command'
  /** A command-level status of a Spot rescue: its invocation statuses count each instance. */
  | 'counted-per-invocation';

/** How the lifecycle action ended up: completed by us, or already gone (completed, or heartbeat expired). */
export type Completion = 'completed' | 'already-completed' | 'none';

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

/** What became of one event of a batch: a result, or the error the queue should retry it for. */
export type Outcome = { ok: true; result: RescueResult } | { ok: false; error: unknown };

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

/**
 * The message attribute carrying the online wait's clock (epoch ms of the first answer that found
 * the agent not Online) on an event the handler sent back to the queue.
 */
export const WAIT_STARTED_ATTRIBUTE = 'LogRescueWaitStartedAt';
/**
 * Lifecycle writes (complete, heartbeat) one invocation keeps in flight at once. Auto Scaling
 * throttles them per account, and has no batch form: fifty at once from one invocation would only
 * throttle each other into exhausting their retries, while a few at a time keep within the rate.
 */
export const LIFECYCLE_WRITE_CONCURRENCY = 4;
/** Commands whose parameters a container remembers (one storm of 1,000 instances needs about 40). */
const COMMAND_CACHE_SIZE = 1000;
const NO_ACTIVE_ACTION = /No active Lifecycle Action found/i;
/**
 * Lifecycle states of an instance its termination lifecycle action has let go. Any other state
 * (including a stale `Terminating` or one this code does not know) takes the normal path, which
 * ends in a completion that tolerates an action already gone: a wrong guess here would leave an
 * instance held until its heartbeat expires, a wrong guess the other way costs one online wait.
 */
const RELEASED_STATES = new Set(['Terminating:Proceed', 'Terminated', 'Warmed:Terminating:Proceed', 'Warmed:Terminated']);
/** Not a failure: an event that should come back later (the queue delivers it again). */
export class Deferred extends Error {
  override readonly name = 'Deferred';
}

/** States in which a termination lifecycle action holds the instance. */
const HELD_STATES = new Set(['Terminating:Wait', 'Warmed:Terminating:Wait']);

/** One instance to rescue, from a lifecycle event or a Spot warning. */
interface Job {
  readonly index: number;
  readonly eventId: string;
  readonly instanceId: string;
  readonly asgName: string;
  readonly hookName: string;
  readonly trigger: Trigger;
  readonly eventTime: string;
  /** The event's time, epoch ms: no command for it can have been requested before. */
  readonly timeMs: number;
  readonly lifecycle?: LifecycleActionEvent;
  readonly spot?: SpotWarningEvent;
}

type Indexed<E> = { index: number; e: E };

/** One invocation as ListCommandInvocations (with Details) reports it. */
interface InvocationResult {
  readonly status: string;
  /** Each plugin's ResponseCode: the script's exit code for our one `aws:runShellScript` step. */
  readonly responseCodes: readonly number[];
}

/** A command of our document SSM lists, as the check for one already sent reads it. */
interface SentCommand {
  readonly commandId: string;
  readonly status: string;
}

/** What identifies one rescue: an instance's command for one event (a lifecycle action, or a Spot warning). */
function rescueKey(r: { instanceId: string; trigger: string; asgName: string; hookName: string; eventTime: string }): string {
  return [r.instanceId, r.trigger, r.asgName, r.hookName, r.eventTime].join('\n');
}

/**
 * The reason an instance whose copy of the command ended `status` was not rescued (undefined: it
 * was). A Failed copy whose script exited NOTHING_COLLECTED_EXIT_CODE found nothing to collect.
 */
export function notRescuedReasonOf(status: string, responseCodes: readonly number[] = []): NotRescuedReason | undefined {
  if (status === 'Success') return undefined;
  if (status === 'Failed' && responseCodes.includes(NOTHING_COLLECTED_EXIT_CODE)) return 'nothing-collected';
  return `command-${status.toLowerCase()}`;
}

/** Run at most `limit` of the given tasks at once, in the order they ask. */
function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * Like Promise.all, but settles every task before throwing the first error: a sibling left running
 * would go on retrying (up to the deadline) after the batch returned, and Lambda would resume it
 * inside the next invocation of the container.
 */
async function allSettledOrThrow<T>(tasks: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

function chunks<T>(items: readonly T[], size = MAX_INSTANCES_PER_COMMAND): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  return [...groups.values()];
}

export function createRescueHandler(deps: RescueDeps): RescueHandler {
  const { ssm, autoScaling, sqs, settings, log, now, sleep } = deps;
  // Typed as required; checked too, for a caller that builds the settings at run time.
  if (sqs === undefined || !settings.queueUrl) throw new Error('createRescueHandler: needs settings.queueUrl and deps.sqs (the event queue)');
  const random = deps.random ?? Math.random;
  const policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const metrics: Metrics = createMetrics({ log, now, namespace: settings.metricNamespace, stack: settings.stackId });
  /** Per container: a command's document and parameters never change. */
  const commands = new Map<string, { documentName: string; parameters: Record<string, string[]> }>();
  const lifecycleWrite = createLimiter(LIFECYCLE_WRITE_CONCURRENCY);
  /**
   * The running batch's deadline. Per container, like the clients: Lambda runs one invocation at a
   * time in a container, and `batch` sets it before its first call.
   */
  let invocationDeadline: number | undefined;

  type Context = { eventId?: string; instanceId?: string; asgName?: string; instances?: number };
  const info = (ctx: Context, msg: string, extra: object = {}) => log({ level: 'info', msg, ...ctx, ...extra });
  const warn = (ctx: Context, msg: string, extra: object = {}) => log({ level: 'warn', msg, ...ctx, ...extra });

  const call = <T>(ctx: Context, operation: string, op: () => Promise<T>, opts: { boundedThrottling?: boolean } = {}): Promise<T> =>
    withRetry(op, {
      sleep, random, ...opts,
      ...(invocationDeadline === undefined ? {} : { deadline: { at: invocationDeadline, now } }),
      onRetry: ({ attempt, delayMs, error }) => warn(ctx, 'AWS call throttled; backing off', { operation, attempt, delayMs, error }),
    }, policy).catch((err: unknown) => {
      // Tagged so the error record of a failed event can name the call.
      if (typeof err === 'object' && err !== null) Object.assign(err, { logRescueOperation: operation });
      throw err;
    });

  // ------------------------------------------------------------------ AWS reads, batched

  /** Lifecycle state and group of each instance Auto Scaling lists (absent: not listed). */
  async function groupMembership(ctx: Context, instanceIds: readonly string[]): Promise<Map<string, { asgName?: string; state?: string }>> {
    const found = new Map<string, { asgName?: string; state?: string }>();
    await allSettledOrThrow(chunks(instanceIds).map(async (ids) => {
      const res = await call(ctx, 'DescribeAutoScalingInstances', () => autoScaling.send(new DescribeAutoScalingInstancesCommand({
        InstanceIds: ids, MaxRecords: ids.length,
      })));
      for (const i of res.AutoScalingInstances ?? []) {
        if (i.InstanceId) found.set(i.InstanceId, { asgName: i.AutoScalingGroupName, state: i.LifecycleState });
      }
    }));
    return found;
  }

  /**
   * Ping status and platform of each instance SSM lists (absent from `ping`: not managed). The
   * same answer carries both: `PlatformType` is one of Windows | Linux | MacOS (SSM API reference,
   * InstanceInformation, PlatformType,
   * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_InstanceInformation.html).
   */
  async function agents(ctx: Context, instanceIds: readonly string[]): Promise<{
    ping: Map<string, string | undefined>; platform: Map<string, string | undefined>;
  }> {
    const ping = new Map<string, string | undefined>();
    const platform = new Map<string, string | undefined>();
    await allSettledOrThrow(chunks(instanceIds).map(async (ids) => {
      let nextToken: string | undefined;
      do {
        const res = await call(ctx, 'DescribeInstanceInformation', () => ssm.send(new DescribeInstanceInformationCommand({
          Filters: [{ Key: 'InstanceIds', Values: ids }], MaxResults: MAX_INSTANCES_PER_COMMAND, NextToken: nextToken,
        })));
        for (const i of res.InstanceInformationList ?? []) {
          if (!i.InstanceId) continue;
          ping.set(i.InstanceId, i.PingStatus);
          platform.set(i.InstanceId, i.PlatformType);
        }
        nextToken = res.NextToken;
      } while (nextToken);
    }));
    return { ping, platform };
  }

  function remember(commandId: string, value: { documentName: string; parameters: Record<string, string[]> }): void {
    if (commands.has(commandId)) return;
    if (commands.size >= COMMAND_CACHE_SIZE) commands.delete(commands.keys().next().value as string);
    commands.set(commandId, value);
  }

  /** A command's document and parameters (null: SSM does not list it), remembered per container. */
  async function commandOf(ctx: Context, commandId: string): Promise<{ documentName: string; parameters: Record<string, string[]> } | null> {
    const known = commands.get(commandId);
    if (known !== undefined) return known;
    const res = await call(ctx, 'ListCommands', () => ssm.send(new ListCommandsCommand({ CommandId: commandId })));
    const c = res.Commands?.find((x) => x.CommandId === commandId);
    const value = c ? { documentName: c.DocumentName ?? '', parameters: (c.Parameters ?? {}) as Record<string, string[]> } : null;
    // Not listed is not remembered: a command may show up a moment after its first event.
    if (value) remember(commandId, value);
    return value;
  }

  /**
   * Each invocation's own status and its plugins' response codes (the script's exit code), for a
   * whole command or for one instance of it. The status events carry no response code (their
   * detail is command-id, document-name, instance-id, requested-date-time and status); with
   * `Details: true`, ListCommandInvocations returns each invocation's `CommandPlugins`, each with
   * its `ResponseCode` (SSM API reference, ListCommandInvocations, Details, and CommandPlugin,
   * ResponseCode: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommandInvocations.html,
   * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CommandPlugin.html). One call
   * (a page of up to 50: a command has at most 50 instances) answers for every instance of the command.
   */
  async function invocationResults(ctx: Context, commandId: string, instanceId?: string): Promise<Map<string, InvocationResult>> {
    const found = new Map<string, InvocationResult>();
    let nextToken: string | undefined;
    do {
      const res = await call(ctx, 'ListCommandInvocations', () => ssm.send(new ListCommandInvocationsCommand({
        CommandId: commandId, ...(instanceId === undefined ? {} : { InstanceId: instanceId }), Details: true,
        MaxResults: MAX_INSTANCES_PER_COMMAND, NextToken: nextToken,
      })));
      for (const i of res.CommandInvocations ?? []) {
        if (!i.InstanceId || !i.Status) continue;
        const codes = (i.CommandPlugins ?? []).map((p) => p.ResponseCode).filter((c): c is number => typeof c === 'number');
        found.set(i.InstanceId, { status: i.Status, responseCodes: codes });
      }
      nextToken = res.NextToken;
    } while (nextToken);
    return found;
  }

  /**
   * `invocationResults` for the Failed copies of an invocation status: an answer SSM refuses for
   * good (say, a role without ssm:ListCommandInvocations) counts them `command-failed`, as before,
   * rather than holding their instances until the queue gives up; anything a retry may fix fails
   * the events, as any other call does.
   */
  async function responseCodesOf(ctx: Context, commandId: string, instanceId?: string): Promise<Map<string, InvocationResult>> {
    try {
      return await invocationResults(ctx, commandId, instanceId);
    } catch (err) {
      if (!isServiceError(err) || isRetryable(err)) throw err;
      warn(ctx, 'could not read the exit code of a failed command; counting it command-failed', {
        commandId, error: errorName(err), detail: errorMessage(err),
      });
      return new Map();
    }
  }

  /**
   * Commands of our document SSM lists for the jobs' rescues, by `rescueKey` (instance, trigger,
   * group, hook, event time), whatever their status: in flight, its status events will release and
   * count the instance; finished, they have (or the backstop will). One listing for the whole wave,
   * filtered by document and by `InvokedAfter` the earliest event time of the jobs (a command for
   * an event is requested after it), at most 50 commands a page: a storm of 1,000 instances has
   * about 55 commands, so one or two calls per batch. The alternatives cost more: the `InstanceId`
   * parameter lists one instance's commands, one call per instance (1,000 in that storm, against an
   * SSM rate shared with every DescribeInstanceInformation and ListCommands of the account, and it
   * cannot be combined with `Status` = `Pending`, the state of a command just sent); a `Status`
   * filter takes one value, so Pending and InProgress would be two listings, and both miss a command
   * that already ended. (SSM API reference, ListCommands: Filters of 1..5 CommandFilters, MaxResults
   * 1..50, InstanceId; CommandFilter keys InvokedAfter | InvokedBefore | Status | ExecutionStage |
   * DocumentName: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommands.html,
   * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CommandFilter.html.)
   * Run Command is eventually consistent: a duplicate that comes within moments of the first send
   * may not see it yet, and then sends a second command, as before.
   */
  async function commandsAlreadySent(ctx: Context, jobs: readonly Job[]): Promise<Map<string, SentCommand>> {
    const found = new Map<string, SentCommand>();
    for (const c of await ourCommandsSince(ctx, Math.min(...jobs.map((j) => j.timeMs)))) {
      const params = readRescueParameters((c.Parameters ?? {}) as Record<string, string[]>);
      if (!params.ok) continue;
      for (const instanceId of c.InstanceIds ?? []) {
        found.set(rescueKey({ ...params.value, instanceId }), { commandId: c.CommandId!, status: c.Status ?? 'unknown' });
      }
    }
    return found;
  }

  /**
   * Every command of our document requested since `sinceMs` (less the clock skew), all pages,
   * each remembered with its parameters (so an invocation status of it needs no ListCommands of
   * its own). Bounded even when throttled, like the heartbeat: its callers can do without it.
   */
  async function ourCommandsSince(ctx: Context, sinceMs: number): Promise<Command[]> {
    const invokedAfter = new Date(sinceMs - COMMAND_CLOCK_SKEW_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const out: Command[] = [];
    let nextToken: string | undefined;
    do {
      const res = await call(ctx, 'ListCommands', () => ssm.send(new ListCommandsCommand({
        Filters: [{ key: 'DocumentName', value: settings.documentName }, { key: 'InvokedAfter', value: invokedAfter }],
        MaxResults: MAX_INSTANCES_PER_COMMAND, NextToken: nextToken,
      })), { boundedThrottling: true });
      for (const c of res.Commands ?? []) {
        if (!c.CommandId || c.DocumentName !== settings.documentName) continue;
        remember(c.CommandId, { documentName: c.DocumentName, parameters: (c.Parameters ?? {}) as Record<string, string[]> });
        out.push(c);
      }
      nextToken = res.NextToken;
    } while (nextToken);
    return out;
  }

  // ------------------------------------------------------------------ AWS writes

  /** `{ refused }` when SSM refused the command for a reason a retry will not fix. */
  async function sendRescue(ctx: Context, jobs: readonly Job[]): Promise<string | { refused: string }> {
    const first = jobs[0];
    try {
      const res = await call(ctx, 'SendCommand', () => ssm.send(new SendCommandCommand({
        DocumentName: settings.documentName,
        InstanceIds: jobs.map((j) => j.instanceId),
        TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
        // Every instance at once, and one instance's failure never stops the others.
        MaxConcurrency: '100%',
        MaxErrors: '100%',
        // The document's execution timeout, log globs and journal flag are its own defaults.
        Parameters: {
          asgName: [first.asgName],
          hookName: [first.hookName],
          trigger: [first.trigger],
          eventTime: [first.eventTime],
        },
        Comment: `log rescue (${first.trigger}) of ${jobs.length} instance(s), event ${first.eventId}`.slice(0, 100),
      })));
      return res.Command?.CommandId ?? '';
    } catch (err) {
      // Throttled to the end, or not an AWS answer at all: worth another try later, not a release.
      if (!isServiceError(err) || isRetryable(err)) throw err;
      warn(ctx, 'SendCommand refused', { error: errorName(err), detail: errorMessage(err) });
      return { refused: errorName(err) };
    }
  }

  async function complete(ctx: Context, asgName: string, hookName: string, instanceId: string): Promise<Completion> {
    try {
      await lifecycleWrite(() => call(ctx, 'CompleteLifecycleAction', () => autoScaling.send(new CompleteLifecycleActionCommand({
        AutoScalingGroupName: asgName,
        LifecycleHookName: hookName,
        InstanceId: instanceId,
        LifecycleActionResult: 'CONTINUE',
      }))));
      info(ctx, 'lifecycle action completed', { result: 'CONTINUE' });
      return 'completed';
    } catch (err) {
      if (isNoActiveAction(err)) {
        // A duplicate event, or the heartbeat ran out first; either way the instance is released.
        info(ctx, 'lifecycle action already completed or expired');
        return 'already-completed';
      }
      throw err;
    }
  }

  /**
   * Before a lifecycle command is sent: when its status could come after the lifecycle action
   * expires (the event's age + the execution timeout + the delivery timeout is past the heartbeat
   * timeout, as after a long queue or retries), record a heartbeat, which restarts the full
   * heartbeat timeout. `released`: no action holds the instance any more.
   *
   * Any other failure is logged and the command is sent anyway: it may well finish before the
   * action expires, while failing the event would only send it later (after the queue's retry), or never.
   */
  async function keepHeld(ctx: Context, e: LifecycleActionEvent): Promise<'not-needed' | 'recorded' | 'not-recorded' | 'released'> {
    const elapsedSeconds = Math.max(0, (now() - e.timeMs) / 1000);
    if (!needsHeartbeat(elapsedSeconds, settings.executionTimeoutSeconds, settings.heartbeatTimeoutSeconds)) return 'not-needed';
    const extra = {
      elapsedSeconds: Math.round(elapsedSeconds), executionTimeoutSeconds: settings.executionTimeoutSeconds,
      heartbeatTimeoutSeconds: settings.heartbeatTimeoutSeconds,
    };
    try {
      // Bounded even when throttled: the command for up to 50 instances waits for this, and goes anyway.
      await lifecycleWrite(() => call(ctx, 'RecordLifecycleActionHeartbeat', () => autoScaling.send(new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: e.asgName,
        LifecycleHookName: e.hookName,
        InstanceId: e.instanceId,
      })), { boundedThrottling: true }));
      info(ctx, 'lifecycle heartbeat recorded', extra);
      return 'recorded';
    } catch (err) {
      if (isNoActiveAction(err)) return 'released';
      warn(ctx, 'lifecycle heartbeat not recorded; sending the command anyway', {
        ...extra, error: errorName(err), detail: errorMessage(err),
      });
      return 'not-recorded';
    }
  }

  // ------------------------------------------------------------------ rescue: wait, send, or release

  const jobCtx = (j: Job): Context => ({ eventId: j.eventId, instanceId: j.instanceId, asgName: j.asgName });

  // ------------------------------------------------------------------ per kind of event

  /** Release (for a lifecycle rescue) and count one instance whose copy of the command finished. */
  async function finish(ctx: Context, p: {
    instanceId: string; commandId: string; status: string; asgName: string; hookName: string; trigger: Trigger; durationSeconds: number;
    /** The script's exit code(s), read for a Failed copy: nothing collected is its own reason. */
    responseCodes?: readonly number[];
  }): Promise<RescueResult> {
    const reason = notRescuedReasonOf(p.status, p.responseCodes);
    const rescued = reason === undefined;
    // The hook name the command carried, not the configured one: the action belongs to that hook.
    const completion = p.trigger === 'lifecycle' ? await complete(ctx, p.asgName, p.hookName, p.instanceId) : 'none';
    if (completion === 'already-completed') {
      // A repeated status event, the other of the invocation and command statuses, or the status of
      // a second command sent for a repeated lifecycle event: the delivery that released the
      // instance counted it. (Also taken when the heartbeat expired first: such an instance is then
      // counted nowhere rather than twice.)
      return ignore(ctx, 'already-counted', { trigger: p.trigger, commandId: p.commandId, status: p.status });
    }
    (rescued ? info : warn)(ctx, rescued ? 'logs rescued' : 'logs not rescued', {
      trigger: p.trigger, commandId: p.commandId, status: p.status, reason, durationSeconds: p.durationSeconds, completion,
      ...(p.responseCodes === undefined ? {} : { responseCodes: p.responseCodes }),
    });
    if (rescued) metrics.rescued();
    else metrics.notRescued(reason!);
    metrics.duration(p.durationSeconds);
    return {
      action: 'command-finished', trigger: p.trigger, instanceId: p.instanceId, asgName: p.asgName, commandId: p.commandId, status: p.status,
      rescued, ...(reason ? { reason } : {}), completion, durationSeconds: p.durationSeconds,
    };
  }

  /**
   * The command-level status: every invocation of the command has ended. The invocation statuses
   * normally released each instance already; this releases any instance still held (an invocation
   * whose status never came), counting it with its invocation's own status.
   */
  async function onCommandStatus(e: CommandStatusEvent): Promise<RescueResult> {
    const ctx: Context = { eventId: e.id, ...(e.instanceIds.length === 1 ? { instanceId: e.instanceIds[0] } : { instances: e.instanceIds.length }) };
    if (e.documentName !== settings.documentName) return ignore(ctx, 'other-document', { documentName: e.documentName });
    if (!e.terminal) return ignore(ctx, 'not-terminal', { status: e.status });
    const params = readRescueParameters(e.parameters);
    if (!params.ok) return rejected(params.reason, ctx);
    const { asgName, hookName, trigger } = params.value;
    ctx.asgName = asgName;
    if (!settings.asgNames.includes(asgName)) return ignore(ctx, 'asg-not-configured');
    // A Spot rescue has nothing to release: its invocation statuses count each instance.
    if (trigger !== 'lifecycle') return ignore(ctx, 'counted-per-invocation', { commandId: e.commandId, status: e.status });
    // The invocation statuses come at the same time as this one and normally release every
    // instance; acting now would race them and double a storm's Auto Scaling calls, which Auto
    // Scaling throttles. So this event waits one visibility timeout in the queue first.
    const ageSeconds = (now() - e.timeMs) / 1000;
    if (ageSeconds < BACKSTOP_DELAY_SECONDS) throw new Deferred(`command status ${Math.round(ageSeconds)} s old; the backstop acts from ${BACKSTOP_DELAY_SECONDS} s`);

    const member = await groupMembership(ctx, e.instanceIds);
    const held = e.instanceIds.filter((id) => HELD_STATES.has(member.get(id)?.state ?? ''));
    if (held.length === 0) return ignore(ctx, 'already-counted', { commandId: e.commandId, status: e.status });
    // A Success command succeeded on every instance; otherwise each invocation says how it ended
    // (and, Failed, with what exit code).
    const invocations = e.status === 'Success' ? new Map<string, InvocationResult>() : await invocationResults(ctx, e.commandId);
    warn(ctx, 'command finished with instances still held; releasing them', { commandId: e.commandId, status: e.status, held: held.length });
    const durationSeconds = Math.max(0, (e.timeMs - e.requestedTimeMs) / 1000);
    const results = await allSettledOrThrow(held.map((instanceId) => finish({ ...ctx, instanceId, instances: undefined }, {
      instanceId, commandId: e.commandId, status: invocations.get(instanceId)?.status ?? e.status, asgName, hookName, trigger, durationSeconds,
      ...(invocations.has(instanceId) ? { responseCodes: invocations.get(instanceId)!.responseCodes } : {}),
    })));
    return { action: 'backstop', commandId: e.commandId, status: e.status, results };
  }

  function ignore(ctx: Context, reason: IgnoredReason, extra: object = {}): RescueResult {
    info(ctx, 'event ignored', { reason, ...extra });
    return { action: 'ignored', reason, ...(ctx.instanceId ? { instanceId: ctx.instanceId } : {}) };
  }

  function rejected(reason: string, labels: object): RescueResult {
    log({ level: 'warn', msg: 'event rejected', ...labels, reason });
    return { action: 'rejected', reason };
  }

  // ------------------------------------------------------------------ entry points

  async function batch(events: readonly unknown[], options: BatchOptions = {}): Promise<Outcome[]> {
    invocationDeadline = options.deadline;
    // Each batch keeps its own bookkeeping: the functions below are made per batch.
    const out: Outcome[] = new Array<Outcome>(events.length);
    const kinds: string[] = new Array<string>(events.length);
    // ------------------------------------------------------------------ batch bookkeeping

    /** The queue's name for the event at `index`, for the lines an operator looks it up by. */
    function messageOf(index: number): { messageId?: string } {
      const message = options.messages?.[index];
      return message === undefined ? {} : { messageId: message.messageId };
    }

    function settled(index: number): boolean {
      return out[index] !== undefined;
    }

    function done(index: number, result: RescueResult): RescueResult {
      out[index] = { ok: true, result };
      return result;
    }

    /**
     * Run `work` for some events of the batch; if it throws, every one of them it had not settled
     * fails with that error (and only those: the queue retries them, not the whole batch).
     */
    async function settle(events: ReadonlyArray<{ index: number; eventId: string; instanceId?: string }>, work: () => Promise<void>): Promise<void> {
      try {
        await work();
      } catch (err) {
        for (const e of events) {
          if (settled(e.index)) continue;
          out[e.index] = { ok: false, error: err };
          if (err instanceof Deferred) {
            info({ eventId: e.eventId, instanceId: e.instanceId }, 'event deferred; the queue delivers it again after its visibility timeout', { detail: err.message, ...messageOf(e.index) });
            continue;
          }
          const receive = options.messages?.[e.index]?.receives;
          log({
            level: 'error', msg: 'event failed; the queue retries it, then moves it to the dead-letter queue',
            eventId: e.eventId, instanceId: e.instanceId, kind: kinds[e.index],
            operation: (err as { logRescueOperation?: string } | null)?.logRescueOperation,
            error: errorName(err), detail: errorMessage(err),
            ...messageOf(e.index), ...(receive === undefined ? {} : { receive }),
          });
          // Not a blip any more; and SQS's age of the oldest message no longer counts it. Throttled
          // to the deadline is backpressure (a storm over the rate), counted apart from errors.
          if (receive !== undefined && receive >= EVENTS_FAILING_FROM_RECEIVE) metrics.eventFailing(isThrottling(err) ? 'throttled' : 'error');
        }
      }
    }

    /** When the online wait of the event's instance began, if it is one the handler sent back to look again. */
    function waitStartedOf(index: number): number | undefined {
      return options.messages?.[index]?.waitStartedAt;
    }

    /**
     * One look at the agents, sending the rescue to each that is Online (the common path: every
     * agent online, one call per 50 instances). An instance on a platform the document does not
     * rescue is released at once. For a lifecycle rescue (`wait`), an instance not Online on its
     * first look is first checked for a lifecycle action that let it go already (a repeated or late
     * event should not wait, nor count the instance a second time); then nothing sleeps: its event
     * goes back to the queue to be looked at again in up to 5 s (see `lookAgainLater`), so an
     * offline agent holds no invocation, and no concurrency the rest of a storm needs, until the
     * wait runs out (then it is released as offline or not managed). The wait runs from the first
     * answer that found the agent not Online, carried on the message, so a first look throttled for
     * a minute does not use it up either way. A Spot rescue (no `wait`) has two minutes in all: an
     * agent not Online is not rescued.
     */
    async function rescue(jobs: Job[], wait: boolean): Promise<void> {
      if (jobs.length === 0) return;
      const ctx: Context = { instances: jobs.length };
      const waitMs = wait ? settings.onlineWaitSeconds * 1000 : 0;
      const waves: Promise<void>[] = [];
      try {
        const { ping, platform } = await agents(ctx, jobs.map((j) => j.instanceId));
        const answeredAt = now();
        // The document only runs on Linux (its step's precondition skips it elsewhere, and the
        // copy still ends Success): an instance on another platform is released at once, online
        // or not, rather than counted as rescued or waited for.
        const unsupported = jobs.filter((j) => (platform.get(j.instanceId) ?? 'Linux') !== 'Linux');
        waves.push(Promise.all(unsupported.map((j) => settle([j], () => notRescued(
          j, 'unsupported-platform', ping.get(j.instanceId), { platformType: platform.get(j.instanceId) },
        )))).then(() => undefined));
        const linux = jobs.filter((j) => !unsupported.includes(j));
        const online = linux.filter((j) => ping.get(j.instanceId) === 'Online');
        // Asked only when an agent is Online: a batch whose agents are all offline (a look again,
        // a late duplicate) spends no call on it.
        if (online.length > 0) waves.push(settle(online, () => sendWave(online, alreadySentOrNone(jobs))));
        let pending = linux.filter((j) => ping.get(j.instanceId) !== 'Online');
        // An event back to look again was checked on its first look; another check would only
        // spend Auto Scaling's rate, which the completions need.
        const firstLooks = pending.filter((j) => waitStartedOf(j.index) === undefined);
        if (wait && firstLooks.length > 0) {
          const member = await groupMembership(ctx, firstLooks.map((j) => j.instanceId));
          pending = pending.filter((j) => {
            if (waitStartedOf(j.index) !== undefined) return true;
            const state = member.get(j.instanceId)?.state;
            if (state !== undefined && !RELEASED_STATES.has(state)) return true;
            done(j.index, ignore(jobCtx(j), 'already-released', {
              pingStatus: ping.get(j.instanceId), lifecycleState: state ?? 'not listed',
            }));
            return false;
          });
        }
        await Promise.all(pending.map((j) => settle([j], async () => {
          const clock = waitStartedOf(j.index);
          const startedAt = Math.min(clock ?? answeredAt, answeredAt);
          // Past the look-again bound (see lookAgainBoundMs), the agent is not given the wait.
          const bound = lookAgainBoundMs(settings.onlineWaitSeconds, clock !== undefined);
          const late = j.lifecycle !== undefined && answeredAt - j.lifecycle.timeMs > bound;
          const left = late ? 0 : startedAt + waitMs - now();
          const pingStatus = ping.get(j.instanceId);
          if (left > 0) await lookAgainLater(j, startedAt, left, pingStatus);
          else await notRescued(j, ping.has(j.instanceId) ? 'offline' : 'not-managed', pingStatus);
        })));
      } finally {
        // Sends already under way finish (and settle their own events) whatever happened to the look.
        await Promise.all(waves);
      }
    }

    /**
     * Send the job's event back to the event queue, delayed until its agent is worth looking at
     * again (5 s, or what is left of the wait), with the wait's start as a message attribute. The
     * copy is a new message (this one is deleted as handled), so waiting spends none of the
     * receives the queue's redrive policy allows for failures. If the send fails, the event fails
     * and the queue delivers this message again.
     */
    async function lookAgainLater(j: Job, startedAt: number, leftMs: number, pingStatus?: string): Promise<void> {
      const ctx = jobCtx(j);
      const recheckSeconds = lookAgainDelaySeconds(leftMs);
      await call(ctx, 'SendMessage', () => sqs.send(new SendMessageCommand({
        QueueUrl: settings.queueUrl,
        MessageBody: JSON.stringify(events[j.index]),
        DelaySeconds: recheckSeconds,
        // String, not Number: SQS may normalise a Number's digits, and this must come back as sent.
        MessageAttributes: { [WAIT_STARTED_ATTRIBUTE]: { DataType: 'String', StringValue: String(Math.round(startedAt)) } },
      })));
      const waitedSeconds = Math.round((now() - startedAt) / 100) / 10;
      info(ctx, 'agent not Online yet; the event goes back to the queue to look again', {
        pingStatus, recheckSeconds, waitedSeconds, onlineWaitSeconds: settings.onlineWaitSeconds, ...messageOf(j.index),
      });
      done(j.index, {
        action: 'waiting', trigger: j.trigger, instanceId: j.instanceId, asgName: j.asgName,
        ...(pingStatus === undefined ? {} : { pingStatus }), recheckSeconds, waitedSeconds,
      });
    }

    /** `commandsAlreadySent`, or none when SSM would not say. */
    function alreadySentOrNone(jobs: readonly Job[]): Promise<Map<string, SentCommand>> {
      return commandsAlreadySent({ instances: jobs.length }, jobs).catch((err: unknown) => {
        // No call starts after the deadline, SendCommand included: the queue retries these events.
        if (err instanceof DeadlineReached) throw err;
        // A guard, not a prerequisite: without the listing the command goes, as it would have
        // before; holding the instance for another visibility timeout would be worse than a second run.
        warn({ instances: jobs.length }, 'could not list the commands already sent; sending anyway', { error: errorName(err), detail: errorMessage(err) });
        return new Map<string, SentCommand>();
      });
    }

    /**
     * Send to instances whose agents are online, less those SSM already lists a command of this
     * rescue for: one command per group, hook and event second, 50 at most.
     */
    async function sendWave(wave: Job[], listing: Promise<Map<string, SentCommand>>): Promise<void> {
      const sent = await listing;
      const jobs = wave.filter((j) => {
        const already = sent.get(rescueKey(j));
        if (already === undefined) return true;
        done(j.index, ignore(jobCtx(j), 'already-sent', { commandId: already.commandId, commandStatus: already.status, trigger: j.trigger }));
        return false;
      });
      if (jobs.length === 0) return;
      const heartbeats = await Promise.all(jobs.map(async (j) => (j.lifecycle ? keepHeld(jobCtx(j), j.lifecycle) : 'not-needed' as const)));
      const ready = jobs.filter((j, i) => {
        if (heartbeats[i] !== 'released') return true;
        done(j.index, ignore(jobCtx(j), 'already-released', { by: 'RecordLifecycleActionHeartbeat' }));
        return false;
      });
      const heartbeatOf = new Map(jobs.map((j, i) => [j.instanceId, heartbeats[i]]));
      const groups = groupBy(ready, (j) => [j.trigger, j.asgName, j.hookName, j.eventTime].join('\n')).flatMap((g) => chunks(g));
      await Promise.all(groups.map((g) => settle(g, () => sendGroup(g, heartbeatOf))));
    }

    async function sendGroup(jobs: Job[], heartbeatOf: Map<string, string>): Promise<void> {
      const ctx: Context = jobs.length === 1 ? jobCtx(jobs[0]) : { eventId: jobs[0].eventId, asgName: jobs[0].asgName, instances: jobs.length };
      const commandId = await sendRescue(ctx, jobs);
      if (typeof commandId !== 'string') {
        // One bad instance (say, it left SSM a moment ago) refuses the whole command: try each alone.
        // Any other refusal (a denied role, a missing document) would refuse each of them too.
        if (jobs.length > 1 && commandId.refused === 'InvalidInstanceId') {
          await Promise.all(jobs.map((j) => settle([j], () => sendGroup([j], heartbeatOf))));
          return;
        }
        await Promise.all(jobs.map((j) => settle([j], () => notRescued(j, 'send-failed'))));
        return;
      }
      for (const j of jobs) {
        // The status event that releases the instance is due within the document's execution timeout.
        info(jobCtx(j), 'rescue command sent', {
          trigger: j.trigger, commandId, eventTime: j.eventTime, commandInstances: jobs.length,
          executionTimeoutSeconds: settings.executionTimeoutSeconds, heartbeat: heartbeatOf.get(j.instanceId),
          ...(j.spot ? { instanceAction: j.spot.instanceAction } : {}),
        });
        metrics.commandSent();
        done(j.index, {
          action: 'command-sent', trigger: j.trigger, instanceId: j.instanceId, asgName: j.asgName, commandId, eventTime: j.eventTime,
          commandInstances: jobs.length,
        });
      }
    }

    async function notRescued(j: Job, reason: NotRescuedReason, pingStatus?: string, extra: object = {}): Promise<void> {
      const ctx = jobCtx(j);
      if (j.trigger === 'spot') {
        warn(ctx, 'logs not rescued before the Spot interruption', { reason, pingStatus, ...extra });
        metrics.notRescued(reason);
        done(j.index, { action: 'not-rescued', trigger: 'spot', instanceId: j.instanceId, asgName: j.asgName, reason, completion: 'none' });
        return;
      }
      // Holding the instance until the heartbeat expires would rescue nothing and delay the scale-in.
      warn(ctx, 'logs not rescued; releasing the instance', { reason, pingStatus, ...extra });
      const completion = await complete(ctx, j.asgName, j.hookName, j.instanceId);
      // Already released: by another delivery of this event, which counted it (or the heartbeat ran out
      // meanwhile, and then nothing can count it). Counting here would count the instance twice.
      if (completion === 'completed') metrics.notRescued(reason);
      done(j.index, { action: 'not-rescued', trigger: 'lifecycle', instanceId: j.instanceId, asgName: j.asgName, reason, completion });
    }

    /**
     * The first event of each key (by default, the instance): a second event for an instance
     * already in this batch adds nothing but a second command, or a second count.
     */
    function firstPerInstance<E extends { id: string; instanceId: string }>(
      items: Indexed<E>[], key: (e: E) => string = (e) => e.instanceId,
    ): Indexed<E>[] {
      const seen = new Set<string>();
      return items.filter(({ index, e }) => {
        const k = key(e);
        if (!seen.has(k)) {
          seen.add(k);
          return true;
        }
        done(index, ignore({ eventId: e.id, instanceId: e.instanceId }, 'duplicate-in-batch'));
        return false;
      });
    }

    async function onLifecycles(items: Indexed<LifecycleActionEvent>[]): Promise<void> {
      const wanted = items.filter(({ index, e }) => {
        const ctx: Context = { eventId: e.id, instanceId: e.instanceId, asgName: e.asgName };
        if (!settings.asgNames.includes(e.asgName)) done(index, ignore(ctx, 'asg-not-configured'));
        else if (e.hookName !== settings.hookName) done(index, ignore(ctx, 'hook-not-configured', { hookName: e.hookName }));
        return !settled(index);
      });
      // A look-again copy before a first look of the same instance (a late EventBridge duplicate):
      // the copy's wait clock is the one that counts.
      const copiesFirst = [...wanted].sort((a, b) => (waitStartedOf(a.index) ?? Infinity) - (waitStartedOf(b.index) ?? Infinity));
      const jobs: Job[] = firstPerInstance(copiesFirst).map(({ index, e }) => ({
        index, eventId: e.id, instanceId: e.instanceId, asgName: e.asgName, hookName: e.hookName, trigger: 'lifecycle',
        eventTime: compactUtc(e.time), timeMs: e.timeMs, lifecycle: e,
      }));
      await settle(jobs, () => rescue(jobs, true));
    }

    async function onSpots(items: Indexed<SpotWarningEvent>[]): Promise<void> {
      const unique = firstPerInstance(items);
      const events = unique.map(({ index, e }) => ({ index, eventId: e.id, instanceId: e.instanceId }));
      await settle(events, async () => {
        const member = await groupMembership({ instances: unique.length }, unique.map(({ e }) => e.instanceId));
        const jobs: Job[] = [];
        for (const { index, e } of unique) {
          const m = member.get(e.instanceId);
          const ctx: Context = { eventId: e.id, instanceId: e.instanceId };
          if (!m?.asgName || !settings.asgNames.includes(m.asgName)) {
            done(index, ignore(ctx, 'not-in-configured-group', m?.asgName ? { asgName: m.asgName } : {}));
          } else if (m.state?.startsWith('Terminating')) {
            // Already terminating: our hook holds it and the lifecycle event rescues it; a second
            // command would upload twice and count twice.
            done(index, ignore({ ...ctx, asgName: m.asgName }, 'lifecycle-hook-handles-it', { lifecycleState: m.state }));
          } else {
            jobs.push({
              index, eventId: e.id, instanceId: e.instanceId, asgName: m.asgName, hookName: NO_LIFECYCLE_HOOK, trigger: 'spot',
              eventTime: compactUtc(e.time), timeMs: e.timeMs, spot: e,
            });
          }
        }
        // No waiting: the instance has two minutes left in all.
        await rescue(jobs, false);
      });
    }

    async function onInvocations(items: Indexed<CommandInvocationEvent>[]): Promise<void> {
      const wanted = items.filter(({ index, e }) => {
        const ctx: Context = { eventId: e.id, instanceId: e.instanceId };
        if (e.documentName !== settings.documentName) done(index, ignore(ctx, 'other-document', { documentName: e.documentName }));
        else if (!e.terminal) done(index, ignore(ctx, 'not-terminal', { status: e.status }));
        return !settled(index);
      });
      // A repeated delivery in the same batch: for a Spot rescue nothing else would stop a second count.
      const unique = firstPerInstance(wanted, (e) => `${e.commandId}/${e.instanceId}`);
      const byCommand = groupBy(unique, ({ e }) => e.commandId);
      // Statuses of several commands this container has not read yet (a storm's batch spans many):
      // one listing of the document's recent commands reads them all, rather than one ListCommands
      // each, which in a storm of 1,000 throttled against SSM's rate and held up the completions.
      const unknown = byCommand.filter((g) => !commands.has(g[0].e.commandId));
      if (unknown.length > 1) {
        await ourCommandsSince({ instances: unique.length }, Math.min(...unknown.map((g) => g[0].e.requestedTimeMs))).catch((err: unknown) => {
          if (err instanceof DeadlineReached) return;
          warn({ instances: unique.length }, 'could not list the recent commands; reading each', { error: errorName(err), detail: errorMessage(err) });
        });
      }
      await Promise.all(byCommand.map((group) => {
        const events = group.map(({ index, e }) => ({ index, eventId: e.id, instanceId: e.instanceId }));
        return settle(events, async () => {
          const first = group[0].e;
          const firstCtx: Context = { eventId: first.id, instanceId: first.instanceId };
          const command = await commandOf(firstCtx, first.commandId);
          const ours = group.filter(({ index, e }) => {
            const ctx: Context = { eventId: e.id, instanceId: e.instanceId };
            if (!command) done(index, ignore(ctx, 'unknown-command', { commandId: e.commandId }));
            else if (command.documentName !== settings.documentName) done(index, ignore(ctx, 'other-document', { documentName: command.documentName }));
            return !settled(index);
          });
          if (!command || ours.length === 0) return;
          const params = readRescueParameters(command.parameters);
          if (!params.ok) return void ours.forEach(({ index, e }) => done(index, rejected(params.reason, { eventId: e.id, instanceId: e.instanceId })));
          const { asgName, hookName, trigger } = params.value;
          if (!settings.asgNames.includes(asgName)) {
            return void ours.forEach(({ index, e }) => done(index, ignore({ eventId: e.id, instanceId: e.instanceId, asgName }, 'asg-not-configured')));
          }
          // A Failed copy may be the script saying it found nothing (its exit code), which the
          // event does not carry: one listing of the command's invocations answers for all of
          // this batch's Failed copies of it (filtered to the instance when there is one).
          const failed = ours.filter(({ e }) => e.status === 'Failed');
          const codes = failed.length === 0
            ? new Map<string, InvocationResult>()
            : await responseCodesOf({ ...firstCtx, asgName }, first.commandId, failed.length === 1 ? failed[0].e.instanceId : undefined);
          await Promise.all(ours.map(({ index, e }) => settle([{ index, eventId: e.id, instanceId: e.instanceId }], async () => {
            const ctx: Context = { eventId: e.id, instanceId: e.instanceId, asgName };
            done(index, await finish(ctx, {
              instanceId: e.instanceId, commandId: e.commandId, status: e.status, asgName, hookName, trigger,
              durationSeconds: Math.max(0, (e.timeMs - e.requestedTimeMs) / 1000),
              ...(e.status === 'Failed' ? { responseCodes: codes.get(e.instanceId)?.responseCodes ?? [] } : {}),
            }));
          })));
        });
      }));
    }


    const lifecycles: Indexed<LifecycleActionEvent>[] = [];
    const spots: Indexed<SpotWarningEvent>[] = [];
    const invocations: Indexed<CommandInvocationEvent>[] = [];
    const statuses: Indexed<CommandStatusEvent>[] = [];
    events.forEach((raw, index) => {
      const parsed = parseEvent(raw);
      if (!parsed.ok) {
        done(index, rejected(parsed.reason, { ...safeLabels(raw), ...messageOf(index) }));
        return;
      }
      const e: RescueEvent = parsed.value;
      kinds[index] = e.kind;
      if (e.kind === 'lifecycle') lifecycles.push({ index, e });
      else if (e.kind === 'spot') spots.push({ index, e });
      else if (e.kind === 'command-invocation') invocations.push({ index, e });
      else statuses.push({ index, e });
    });
    await Promise.all([
      onLifecycles(lifecycles), onSpots(spots), onInvocations(invocations),
      ...statuses.map(({ index, e }) => settle([{ index, eventId: e.id, instanceId: e.instanceIds[0] }], async () => {
        done(index, await onCommandStatus(e));
      })),
    ]);
    return out;
  }

  async function one(event: unknown): Promise<RescueResult> {
    const [outcome] = await batch([event]);
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  }

  return Object.assign(one, { batch });
}

function isNoActiveAction(err: unknown): boolean {
  return errorName(err) === 'ValidationError' && NO_ACTIVE_ACTION.test(errorMessage(err));
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
