/**
 * The termination log rescue, as one function per event, over injected AWS clients and clock.
 *
 * - Lifecycle action: wait (bounded) for the instance's SSM agent, then send the rescue document
 *   (recording a heartbeat first when the command could otherwise outlive the lifecycle action).
 *   If the logs cannot be rescued, release the instance at once instead of holding it until the
 *   heartbeat expires.
 * - Command status: the rescue document finished (any way); release the instance. Nobody polls.
 * - Spot warning: send the same document with the 2-minute budget; nothing to release.
 *
 * Rescued / NotRescued count instances, not event deliveries: the delivery that releases the
 * instance counts it; a repeated or late delivery that finds it already released counts nothing.
 *
 * The handler never throws for an event it cannot use (Lambda would retry it, and retry a flood of
 * them); it throws only when AWS keeps throttling or a call fails in a way a retry may fix, so that
 * Lambda's async retry and on-failure destination take over. No module-level state: everything
 * timed goes through `now`/`sleep`, so a simulation can drive many handlers on a virtual clock.
 */
import { DescribeInstanceInformationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import {
  CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand, RecordLifecycleActionHeartbeatCommand, type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import {
  compactUtc, NO_HOOK, parseEvent, readRescueParameters,
  type CommandStatusEvent, type LifecycleActionEvent, type SpotWarningEvent, type Trigger,
} from './events';
import { createMetrics, type Metrics } from './metrics';
import {
  DEFAULT_RETRY_POLICY, errorMessage, errorName, isRetryable, isServiceError, withRetry, type RetryPolicy,
} from './retry';
import type { HandlerSettings } from './settings';

export { settingsFromEnv, type HandlerSettings } from './settings';

export interface RescueDeps {
  ssm: SSMClient;
  autoScaling: AutoScalingClient;
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
export type NotRescuedReason = 'not-managed' | 'offline' | 'send-failed' | `command-${string}`;

/** Why a valid event needed nothing from this deployment. */
export type IgnoredReason =
  | 'asg-not-configured' | 'hook-not-configured' | 'other-document' | 'not-terminal' | 'not-in-configured-group'
  /** A lifecycle event for an instance its lifecycle action no longer holds (a repeated or late delivery). */
  | 'already-released'
  /** A command status for an instance another delivery already released and counted. */
  | 'already-counted' | 'lifecycle-hook-handles-it';

/** How the lifecycle action ended up: completed by us, or already gone (completed, or heartbeat expired). */
export type Completion = 'completed' | 'already-completed' | 'none';

export type RescueResult =
  | { action: 'rejected'; reason: string }
  | { action: 'ignored'; reason: IgnoredReason; instanceId?: string }
  | { action: 'command-sent'; trigger: Trigger; instanceId: string; asgName: string; commandId: string; eventTime: string; polls: number }
  | { action: 'not-rescued'; trigger: Trigger; instanceId: string; asgName: string; reason: NotRescuedReason; completion: Completion; polls: number }
  | {
      action: 'command-finished'; trigger: Trigger; instanceId: string; asgName: string; commandId: string; status: string;
      rescued: boolean; reason?: NotRescuedReason; completion: Completion; durationSeconds: number;
    };

/** Seconds SSM may take to deliver the command; the agent was just seen Online. */
export const DELIVERY_TIMEOUT_SECONDS = 60;
export const ONLINE_POLL_INTERVAL_MS = 5000;
/**
 * Seconds past the document's execution timeout a command may need before its status releases the
 * instance (its delivery timeout); the config keeps the heartbeat at least this far above it.
 */
export const HEARTBEAT_MARGIN_SECONDS = DELIVERY_TIMEOUT_SECONDS;
const NO_ACTIVE_ACTION = /No active Lifecycle Action found/i;
/**
 * Lifecycle states of an instance its termination lifecycle action has let go. Any other state
 * (including a stale `Terminating` or one this code does not know) takes the normal path, which
 * ends in a completion that tolerates an action already gone: a wrong guess here would leave an
 * instance held until its heartbeat expires, a wrong guess the other way costs one online wait.
 */
const RELEASED_STATES = new Set(['Terminating:Proceed', 'Terminated', 'Warmed:Terminating:Proceed', 'Warmed:Terminated']);

type Online = {
  state: 'online' | 'offline' | 'not-managed'; polls: number; pingStatus?: string;
  /** The lifecycle action no longer holds the instance; `lifecycleState` is what Auto Scaling said (absent: not listed). */
  released?: boolean; lifecycleState?: string;
};

export function createRescueHandler(deps: RescueDeps): (event: unknown) => Promise<RescueResult> {
  const { ssm, autoScaling, settings, log, now, sleep } = deps;
  const random = deps.random ?? Math.random;
  const policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const metrics: Metrics = createMetrics({ log, now, namespace: settings.metricNamespace, stack: settings.stackId });

  type Context = { eventId: string; instanceId?: string; asgName?: string };
  const info = (ctx: Context, msg: string, extra: object = {}) => log({ level: 'info', msg, ...ctx, ...extra });
  const warn = (ctx: Context, msg: string, extra: object = {}) => log({ level: 'warn', msg, ...ctx, ...extra });

  const call = <T>(ctx: Context, operation: string, op: () => Promise<T>): Promise<T> =>
    withRetry(op, {
      sleep, random,
      onRetry: ({ attempt, delayMs, error }) => warn(ctx, 'AWS call throttled; backing off', { operation, attempt, delayMs, error }),
    }, policy).catch((err: unknown) => {
      // Tagged so the one error record of a failed invocation can name the call.
      if (typeof err === 'object' && err !== null) Object.assign(err, { logRescueOperation: operation });
      throw err;
    });

  /** Whether the instance's lifecycle action has let it go: it is past Terminating:Wait, or no group lists it. */
  async function released(ctx: Context, instanceId: string): Promise<{ released: boolean; lifecycleState?: string }> {
    const out = await call(ctx, 'DescribeAutoScalingInstances', () => autoScaling.send(new DescribeAutoScalingInstancesCommand({
      InstanceIds: [instanceId],
    })));
    const state = out.AutoScalingInstances?.find((i) => i.InstanceId === instanceId)?.LifecycleState;
    return { released: state === undefined || RELEASED_STATES.has(state), ...(state ? { lifecycleState: state } : {}) };
  }

  /**
   * Poll the agent until Online or `waitMs` passed. With `checkReleased`, an agent that is not Online
   * on the first poll (the common path stays one call) is first checked for a lifecycle action that
   * let its instance go already: a repeated or late event should not hold a slot of the reserved
   * concurrency through the online wait, nor count the instance a second time.
   */
  async function waitOnline(ctx: Context, instanceId: string, waitMs: number, checkReleased = false): Promise<Online> {
    const deadline = now() + waitMs;
    for (let polls = 1; ; polls++) {
      const out = await call(ctx, 'DescribeInstanceInformation', () => ssm.send(new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'InstanceIds', Values: [instanceId] }],
      })));
      const item = out.InstanceInformationList?.find((i) => i.InstanceId === instanceId);
      if (item?.PingStatus === 'Online') return { state: 'online', polls };
      if (polls === 1 && checkReleased) {
        const r = await released(ctx, instanceId);
        if (r.released) {
          return { state: item ? 'offline' : 'not-managed', polls, pingStatus: item?.PingStatus, released: true, lifecycleState: r.lifecycleState };
        }
      }
      const remaining = deadline - now();
      if (remaining <= 0) return { state: item ? 'offline' : 'not-managed', polls, pingStatus: item?.PingStatus };
      await sleep(Math.min(ONLINE_POLL_INTERVAL_MS, remaining));
    }
  }

  /** `undefined` when SSM refused the command for a reason a retry will not fix. */
  async function sendRescue(ctx: Context, p: {
    instanceId: string; asgName: string; hookName: string; trigger: Trigger; eventTime: string;
  }): Promise<string | undefined> {
    try {
      const out = await call(ctx, 'SendCommand', () => ssm.send(new SendCommandCommand({
        DocumentName: settings.documentName,
        InstanceIds: [p.instanceId],
        TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
        // The document's execution timeout, log globs and journal flag are its own defaults.
        Parameters: {
          asgName: [p.asgName],
          hookName: [p.hookName],
          trigger: [p.trigger],
          eventTime: [p.eventTime],
        },
        Comment: `log rescue (${p.trigger}) event ${ctx.eventId}`.slice(0, 100),
      })));
      return out.Command?.CommandId ?? '';
    } catch (err) {
      // Throttled to the end, or not an AWS answer at all: worth another try later, not a release.
      if (!isServiceError(err) || isRetryable(err)) throw err;
      warn(ctx, 'SendCommand refused', { error: errorName(err), detail: errorMessage(err) });
      return undefined;
    }
  }

  async function complete(ctx: Context, asgName: string, hookName: string, instanceId: string): Promise<Completion> {
    try {
      await call(ctx, 'CompleteLifecycleAction', () => autoScaling.send(new CompleteLifecycleActionCommand({
        AutoScalingGroupName: asgName,
        LifecycleHookName: hookName,
        InstanceId: instanceId,
        LifecycleActionResult: 'CONTINUE',
      })));
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
   * timeout, as after a long Lambda queue or retries), record a heartbeat, which restarts the full
   * heartbeat timeout. `released`: no action holds the instance any more.
   *
   * Any other failure is logged and the command is sent anyway: it may well finish before the
   * action expires, while throwing would only send it later (after Lambda's retry), or never.
   */
  async function keepHeld(ctx: Context, e: LifecycleActionEvent): Promise<'not-needed' | 'recorded' | 'not-recorded' | 'released'> {
    const elapsedSeconds = Math.max(0, (now() - e.timeMs) / 1000);
    if (elapsedSeconds + settings.executionTimeoutSeconds + HEARTBEAT_MARGIN_SECONDS <= settings.heartbeatTimeoutSeconds) return 'not-needed';
    const extra = {
      elapsedSeconds: Math.round(elapsedSeconds), executionTimeoutSeconds: settings.executionTimeoutSeconds,
      heartbeatTimeoutSeconds: settings.heartbeatTimeoutSeconds,
    };
    try {
      await call(ctx, 'RecordLifecycleActionHeartbeat', () => autoScaling.send(new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: e.asgName,
        LifecycleHookName: e.hookName,
        InstanceId: e.instanceId,
      })));
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

  async function onLifecycle(e: LifecycleActionEvent): Promise<RescueResult> {
    const ctx: Context = { eventId: e.id, instanceId: e.instanceId, asgName: e.asgName };
    if (!settings.asgNames.includes(e.asgName)) return ignore(ctx, 'asg-not-configured');
    if (e.hookName !== settings.hookName) return ignore(ctx, 'hook-not-configured', { hookName: e.hookName });

    const online = await waitOnline(ctx, e.instanceId, settings.onlineWaitSeconds * 1000, true);
    if (online.released) {
      return ignore(ctx, 'already-released', { pingStatus: online.pingStatus, lifecycleState: online.lifecycleState ?? 'not listed' });
    }
    let reason: NotRescuedReason | undefined = online.state === 'online' ? undefined : online.state;
    if (!reason) {
      const heartbeat = await keepHeld(ctx, e);
      if (heartbeat === 'released') return ignore(ctx, 'already-released', { by: 'RecordLifecycleActionHeartbeat' });
      const eventTime = compactUtc(e.time);
      const commandId = await sendRescue(ctx, {
        instanceId: e.instanceId, asgName: e.asgName, hookName: e.hookName, trigger: 'lifecycle', eventTime,
      });
      if (commandId !== undefined) {
        // The status event that releases the instance is due within the document's execution timeout.
        info(ctx, 'rescue command sent', {
          trigger: 'lifecycle', commandId, eventTime, polls: online.polls, executionTimeoutSeconds: settings.executionTimeoutSeconds, heartbeat,
        });
        metrics.commandSent();
        return { action: 'command-sent', trigger: 'lifecycle', instanceId: e.instanceId, asgName: e.asgName, commandId, eventTime, polls: online.polls };
      }
      reason = 'send-failed';
    }
    // Holding the instance until the heartbeat expires would rescue nothing and delay the scale-in.
    warn(ctx, 'logs not rescued; releasing the instance', { reason, polls: online.polls, pingStatus: online.pingStatus });
    const completion = await complete(ctx, e.asgName, e.hookName, e.instanceId);
    // Already released: by another delivery of this event, which counted it (or the heartbeat ran out
    // meanwhile, and then nothing can count it). Counting here would count the instance twice.
    if (completion === 'completed') metrics.notRescued(reason);
    return { action: 'not-rescued', trigger: 'lifecycle', instanceId: e.instanceId, asgName: e.asgName, reason, completion, polls: online.polls };
  }

  async function onCommandStatus(e: CommandStatusEvent): Promise<RescueResult> {
    const ctx: Context = { eventId: e.id, instanceId: e.instanceId };
    if (e.documentName !== settings.documentName) return ignore(ctx, 'other-document', { documentName: e.documentName });
    if (!e.terminal) return ignore(ctx, 'not-terminal', { status: e.status });
    const params = readRescueParameters(e.parameters);
    if (!params.ok) return rejected(params.reason, ctx);
    const { asgName, hookName, trigger } = params.value;
    ctx.asgName = asgName;
    if (!settings.asgNames.includes(asgName)) return ignore(ctx, 'asg-not-configured');

    const rescued = e.status === 'Success';
    const reason: NotRescuedReason | undefined = rescued ? undefined : `command-${e.status.toLowerCase()}`;
    const durationSeconds = Math.max(0, (e.timeMs - e.requestedTimeMs) / 1000);
    // The hook name the command carried, not the configured one: the action belongs to that hook.
    const completion = trigger === 'lifecycle' ? await complete(ctx, asgName, hookName, e.instanceId) : 'none';
    if (completion === 'already-completed') {
      // A repeated status event, or the status of a second command sent for a repeated lifecycle
      // event: the delivery that released the instance counted it. (Also taken when the heartbeat
      // expired first: such an instance is then counted nowhere rather than twice.)
      return ignore(ctx, 'already-counted', { trigger, commandId: e.commandId, status: e.status });
    }
    (rescued ? info : warn)(ctx, rescued ? 'logs rescued' : 'logs not rescued', {
      trigger, commandId: e.commandId, status: e.status, reason, durationSeconds, completion,
    });
    if (rescued) metrics.rescued();
    else metrics.notRescued(reason!);
    metrics.duration(durationSeconds);
    return {
      action: 'command-finished', trigger, instanceId: e.instanceId, asgName, commandId: e.commandId, status: e.status,
      rescued, ...(reason ? { reason } : {}), completion, durationSeconds,
    };
  }

  async function onSpot(e: SpotWarningEvent): Promise<RescueResult> {
    const ctx: Context = { eventId: e.id, instanceId: e.instanceId };
    const out = await call(ctx, 'DescribeAutoScalingInstances', () => autoScaling.send(new DescribeAutoScalingInstancesCommand({
      InstanceIds: [e.instanceId],
    })));
    const member = out.AutoScalingInstances?.find((i) => i.InstanceId === e.instanceId);
    const asgName = member?.AutoScalingGroupName;
    if (!asgName || !settings.asgNames.includes(asgName)) return ignore(ctx, 'not-in-configured-group', asgName ? { asgName } : {});
    ctx.asgName = asgName;
    // Already terminating: our hook holds it and the lifecycle event rescues it; a second command
    // would upload twice and count twice.
    if (member?.LifecycleState?.startsWith('Terminating')) {
      return ignore(ctx, 'lifecycle-hook-handles-it', { lifecycleState: member.LifecycleState });
    }

    // No waiting: the instance has two minutes left in all.
    const online = await waitOnline(ctx, e.instanceId, 0);
    let reason: NotRescuedReason | undefined = online.state === 'online' ? undefined : online.state;
    if (!reason) {
      const eventTime = compactUtc(e.time);
      const commandId = await sendRescue(ctx, {
        instanceId: e.instanceId, asgName, hookName: NO_HOOK, trigger: 'spot', eventTime,
      });
      if (commandId !== undefined) {
        info(ctx, 'rescue command sent', { trigger: 'spot', commandId, eventTime, instanceAction: e.instanceAction });
        metrics.commandSent();
        return { action: 'command-sent', trigger: 'spot', instanceId: e.instanceId, asgName, commandId, eventTime, polls: online.polls };
      }
      reason = 'send-failed';
    }
    warn(ctx, 'logs not rescued before the Spot interruption', { reason, pingStatus: online.pingStatus });
    metrics.notRescued(reason);
    return { action: 'not-rescued', trigger: 'spot', instanceId: e.instanceId, asgName, reason, completion: 'none', polls: online.polls };
  }

  function ignore(ctx: Context, reason: IgnoredReason, extra: object = {}): RescueResult {
    info(ctx, 'event ignored', { reason, ...extra });
    return { action: 'ignored', reason, ...(ctx.instanceId ? { instanceId: ctx.instanceId } : {}) };
  }

  function rejected(reason: string, labels: object): RescueResult {
    log({ level: 'warn', msg: 'event rejected', ...labels, reason });
    return { action: 'rejected', reason };
  }

  return async function rescue(event: unknown): Promise<RescueResult> {
    const parsed = parseEvent(event);
    if (!parsed.ok) return rejected(parsed.reason, safeLabels(event));
    const e = parsed.value;
    try {
      switch (e.kind) {
        case 'lifecycle': return await onLifecycle(e);
        case 'command-status': return await onCommandStatus(e);
        case 'spot': return await onSpot(e);
      }
    } catch (err) {
      log({
        level: 'error', msg: 'event failed; Lambda retries it, then sends it to the failure destination',
        eventId: e.id, instanceId: e.instanceId, kind: e.kind,
        operation: (err as { logRescueOperation?: string } | null)?.logRescueOperation,
        error: errorName(err), detail: errorMessage(err),
      });
      throw err;
    }
  };
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
