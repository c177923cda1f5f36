/**
 * The AWS shell of the log rescue: every read and write the handler makes, over the injected
 * clients, each through the retry policy and the invocation's deadline, and nothing else (what to
 * do with an answer is decisions.ts's, when to ask is send.ts's and finish.ts's). Batched where the API allows:
 * one DescribeInstanceInformation or DescribeAutoScalingInstances per 50 instances, one listing of
 * the document's recent commands per batch, one SendCommand per group of up to 50 instances.
 */
import {
  DescribeInstanceInformationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand, type Command, type SSMClient,
} from '@aws-sdk/client-ssm';
import {
  CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand, RecordLifecycleActionHeartbeatCommand, type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_INSTANCES_PER_COMMAND } from '../../config/patterns';
import { readRescueParameters, type Trigger } from './events';
import { createLimiter } from './limiter';
import { errorMessage, errorName, isRetryable, isServiceError, withRetry } from './retry';
import type { HandlerSettings } from './settings';
import { COMMAND_CLOCK_SKEW_MS, DELIVERY_TIMEOUT_SECONDS, type RetryPolicy } from './timing';

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

/** How the lifecycle action ended up: completed by us, or already gone (completed, or heartbeat expired). */
export type Completion = 'completed' | 'already-completed' | 'none';

/** What the log lines of a call name. */
export type Context = { eventId?: string; instanceId?: string; asgName?: string; instances?: number };

/** One instance to rescue, as SendCommand and the check for a command already sent need it. */
export interface RescueTarget {
  readonly eventId: string;
  readonly instanceId: string;
  readonly asgName: string;
  readonly hookName: string;
  readonly trigger: Trigger;
  readonly eventTime: string;
  /** The event's time, epoch ms: no command for it can have been requested before. */
  readonly timeMs: number;
}

export interface AwsShellDeps {
  ssm: SSMClient;
  autoScaling: AutoScalingClient;
  sqs: SQSClient;
  settings: HandlerSettings;
  info: (ctx: Context, msg: string, extra?: object) => void;
  warn: (ctx: Context, msg: string, extra?: object) => void;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  policy: RetryPolicy;
}

/** One invocation as ListCommandInvocations (with Details) reports it. */
export interface InvocationResult {
  readonly status: string;
  /** Each plugin's ResponseCode: the script's exit code for our one `aws:runShellScript` step. */
  readonly responseCodes: readonly number[];
}

/** A command of our document SSM lists, as the check for one already sent reads it. */
export interface SentCommand {
  readonly commandId: string;
  readonly status: string;
}

/** What identifies one rescue: an instance's command for one event (a lifecycle action, or a Spot warning). */
export function rescueKey(r: { instanceId: string; trigger: string; asgName: string; hookName: string; eventTime: string }): string {
  return [r.instanceId, r.trigger, r.asgName, r.hookName, r.eventTime].join('\n');
}

/**
 * Like Promise.all, but settles every task before throwing the first error: a sibling left running
 * would go on retrying (up to the deadline) after the batch returned, and Lambda would resume it
 * inside the next invocation of the container.
 */
export async function allSettledOrThrow<T>(tasks: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

export function chunks<T>(items: readonly T[], size = MAX_INSTANCES_PER_COMMAND): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function groupBy<T>(items: readonly T[], key: (t: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  return [...groups.values()];
}

export type AwsShell = ReturnType<typeof createAwsShell>;

export function createAwsShell(deps: AwsShellDeps) {
  const { ssm, autoScaling, sqs, settings, info, warn, now, sleep, random, policy } = deps;
  /** Per container: a command's document and parameters never change. */
  const commands = new Map<string, { documentName: string; parameters: Record<string, string[]> }>();
  const lifecycleWrite = createLimiter(LIFECYCLE_WRITE_CONCURRENCY);
  /**
   * The running batch's deadline. Per container, like the clients: Lambda runs one invocation at a
   * time in a container, and the batch sets it before its first call.
   */
  let invocationDeadline: number | undefined;

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
  async function commandsAlreadySent(ctx: Context, jobs: readonly Pick<RescueTarget, 'instanceId' | 'timeMs'>[]): Promise<Map<string, SentCommand>> {
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
  async function sendRescue(ctx: Context, jobs: readonly RescueTarget[]): Promise<string | { refused: string }> {
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
   * Record a heartbeat of the lifecycle action, which restarts its full heartbeat timeout (asked for
   * a command whose status could otherwise come after the action expires: `needsHeartbeat`).
   * `released`: no action holds the instance any more. Any other failure is logged and the command
   * is sent anyway: it may well finish before the action expires, while failing the event would
   * only send it later (after the queue's retry), or never.
   */
  async function recordHeartbeat(
    ctx: Context, target: { asgName: string; hookName: string; instanceId: string }, extra: object,
  ): Promise<'recorded' | 'not-recorded' | 'released'> {
    try {
      // Bounded even when throttled: the command for up to 50 instances waits for this, and goes anyway.
      await lifecycleWrite(() => call(ctx, 'RecordLifecycleActionHeartbeat', () => autoScaling.send(new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: target.asgName,
        LifecycleHookName: target.hookName,
        InstanceId: target.instanceId,
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

  /**
   * Send an event back to the event queue, delayed until its agent is worth looking at again, with
   * the wait's start as a message attribute. The copy is a new message (the one received is deleted
   * as handled), so waiting spends none of the receives the queue's redrive policy allows for
   * failures. If the send fails, the event fails and the queue delivers its message again.
   */
  async function requeue(ctx: Context, event: unknown, delaySeconds: number, waitStartedAt: number): Promise<void> {
    await call(ctx, 'SendMessage', () => sqs.send(new SendMessageCommand({
      QueueUrl: settings.queueUrl,
      MessageBody: JSON.stringify(event),
      DelaySeconds: delaySeconds,
      // String, not Number: SQS may normalise a Number's digits, and this must come back as sent.
      MessageAttributes: { [WAIT_STARTED_ATTRIBUTE]: { DataType: 'String', StringValue: String(Math.round(waitStartedAt)) } },
    })));
  }

  return {
    /** Epoch ms after which no call starts (undefined: no deadline), for the batch about to run. */
    setDeadline(at: number | undefined): void { invocationDeadline = at; },
    /** Whether SSM's parameters of the command are known in this container already. */
    knowsCommand: (commandId: string): boolean => commands.has(commandId),
    groupMembership, agents, commandOf, invocationResults, responseCodesOf, commandsAlreadySent, ourCommandsSince,
    sendRescue, complete, recordHeartbeat, requeue,
  };
}

function isNoActiveAction(err: unknown): boolean {
  return errorName(err) === 'ValidationError' && NO_ACTIVE_ACTION.test(errorMessage(err));
}
