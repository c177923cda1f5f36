/**
 * The rescue's decisions, one pure function per question the handler answers for an event: what
 * was read in (the event, the settings, what AWS answered, the clock), a decision out. No AWS call,
 * no log, no clock of their own: the AWS shell (aws.ts) reads and writes, the run of a batch
 * (send.ts, finish.ts) asks these what to do between the two. Table-tested without mocks
 * (__tests__/handlers/log-rescue/decisions.test.ts).
 */
import { NOTHING_COLLECTED_EXIT_CODE } from '../../config/patterns';
import { readRescueParameters, type RescueParameters, type Trigger } from './events';
import { BACKSTOP_DELAY_SECONDS, lookAgainBoundMs, lookAgainDelaySeconds } from './timing';

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

/** A decision that ends an event's handling without a write: ignored (with why), or rejected (unusable). */
export type Ignore = { kind: 'ignore'; reason: IgnoredReason; detail?: Record<string, string | number> };
export type Reject = { kind: 'reject'; reason: string };
/** Not now: the queue delivers the event again after its visibility timeout. */
export type RetryLater = { kind: 'retry-later'; detail: string };
/** Send the rescue command. */
export type Send = { kind: 'send' };
/** Send the event back to the queue, to look at the agent again in `delaySeconds`, with the wait's clock. */
export type Requeue = { kind: 'requeue'; delaySeconds: number; waitStartedAt: number };
/** Complete the lifecycle action (a lifecycle rescue) and count the instance not rescued, for `reason`. */
export type Release = { kind: 'release'; reason: NotRescuedReason; detail?: Record<string, string | number> };

export type Decision = Ignore | Reject | RetryLater | Send | Requeue | Release;

/** The settings the decisions read. */
export interface Scope {
  readonly documentName: string;
  readonly asgNames: readonly string[];
  readonly hookName: string;
  readonly onlineWaitSeconds: number;
}

// ---------------------------------------------------------------- lifecycle action

/** A lifecycle event of a group and hook this deployment does not protect is ignored; otherwise undefined (go on). */
export function lifecycleScope(e: { asgName: string; hookName: string }, scope: Scope): Ignore | undefined {
  if (!scope.asgNames.includes(e.asgName)) return { kind: 'ignore', reason: 'asg-not-configured' };
  if (e.hookName !== scope.hookName) return { kind: 'ignore', reason: 'hook-not-configured', detail: { hookName: e.hookName } };
  return undefined;
}

/**
 * Lifecycle states of an instance its termination lifecycle action has let go. Any other state
 * (including a stale `Terminating` or one this code does not know) takes the normal path, which
 * ends in a completion that tolerates an action already gone: a wrong guess here would leave an
 * instance held until its heartbeat expires, a wrong guess the other way costs one online wait.
 */
const RELEASED_STATES = new Set(['Terminating:Proceed', 'Terminated', 'Warmed:Terminating:Proceed', 'Warmed:Terminated']);

/** States in which a termination lifecycle action holds the instance. */
const HELD_STATES = new Set(['Terminating:Wait', 'Warmed:Terminating:Wait']);

/** What DescribeInstanceInformation said of one instance's agent (absent from its answer: not managed). */
export interface AgentLook {
  readonly managed: boolean;
  readonly pingStatus?: string;
  readonly platformType?: string;
}

/** One look at an instance's agent, for a rescue. */
export interface LookInput {
  readonly agent: AgentLook;
  /** A Spot rescue has two minutes in all: no wait. */
  readonly trigger: Trigger;
  /** The lifecycle event's own time (epoch ms); a lifecycle rescue only. */
  readonly eventTimeMs?: number;
  /** On a look again: when the agent was first found not Online (the message's wait clock). */
  readonly waitStartedAt?: number;
  /**
   * The instance's lifecycle state, read only on a lifecycle rescue's first look at an agent not
   * Online (`needsReleasedCheck`); null when Auto Scaling does not list the instance.
   */
  readonly lifecycleState?: string | null;
  /** When the agents' answer came (epoch ms). */
  readonly answeredAt: number;
  readonly now: number;
}

/**
 * Whether an agent's look needs the instance's lifecycle state first: a lifecycle rescue's first
 * look at an agent not Online. A repeated or late event should not wait, nor count the instance a
 * second time; a look again was checked on its first look, and another check would only spend Auto
 * Scaling's rate, which the completions need.
 */
export function needsReleasedCheck(i: Pick<LookInput, 'agent' | 'trigger' | 'waitStartedAt'>): boolean {
  return i.trigger === 'lifecycle' && i.waitStartedAt === undefined && lookKind(i.agent) === 'not-online';
}

function lookKind(agent: AgentLook): 'unsupported' | 'online' | 'not-online' {
  // The document only runs on Linux (its step's precondition skips it elsewhere, and the copy
  // still ends Success): an instance on another platform is released at once, online or not,
  // rather than counted as rescued or waited for.
  if ((agent.platformType ?? 'Linux') !== 'Linux') return 'unsupported';
  return agent.pingStatus === 'Online' ? 'online' : 'not-online';
}

/**
 * After a look at the agent: send; release (a platform the document does not rescue, or the wait
 * is over); ignore (its lifecycle action let it go already); or look again through the queue. The
 * wait runs from the first answer that found the agent not Online (carried on the message), so a
 * first look throttled for a minute does not use it up; past the look-again bound
 * (`lookAgainBoundMs`) a lifecycle event does not wait at all.
 */
export function decideLook(i: LookInput, onlineWaitSeconds: number): Send | Release | Ignore | Requeue {
  const kind = lookKind(i.agent);
  if (kind === 'unsupported') return { kind: 'release', reason: 'unsupported-platform', detail: { platformType: i.agent.platformType ?? '' } };
  if (kind === 'online') return { kind: 'send' };
  if (i.lifecycleState !== undefined && (i.lifecycleState === null || RELEASED_STATES.has(i.lifecycleState))) {
    return { kind: 'ignore', reason: 'already-released', detail: { lifecycleState: i.lifecycleState ?? 'not listed' } };
  }
  const waitMs = i.trigger === 'lifecycle' ? onlineWaitSeconds * 1000 : 0;
  const startedAt = Math.min(i.waitStartedAt ?? i.answeredAt, i.answeredAt);
  const late = i.eventTimeMs !== undefined && i.answeredAt - i.eventTimeMs > lookAgainBoundMs(onlineWaitSeconds, i.waitStartedAt !== undefined);
  const left = late ? 0 : startedAt + waitMs - i.now;
  if (left > 0) return { kind: 'requeue', delaySeconds: lookAgainDelaySeconds(left), waitStartedAt: startedAt };
  return { kind: 'release', reason: i.agent.managed ? 'offline' : 'not-managed' };
}

/** Before the send: SSM already lists a command of this very rescue (the ignore), or none (undefined: send). */
export function alreadySent(sent: { commandId: string; status: string } | undefined, trigger: Trigger): Ignore | undefined {
  return sent === undefined ? undefined
    : { kind: 'ignore', reason: 'already-sent', detail: { commandId: sent.commandId, commandStatus: sent.status, trigger } };
}

// ---------------------------------------------------------------- Spot warning

/**
 * A Spot warning's instance, by what Auto Scaling lists of it: rescue it (with its group), or
 * ignore it (not in a configured group; or already terminating, when our hook holds it and the
 * lifecycle event rescues it: a second command would upload twice and count twice).
 */
export function spotScope(member: { asgName?: string; state?: string } | undefined, scope: Scope): Ignore | { kind: 'rescue'; asgName: string } {
  if (!member?.asgName || !scope.asgNames.includes(member.asgName)) {
    return { kind: 'ignore', reason: 'not-in-configured-group', ...(member?.asgName ? { detail: { asgName: member.asgName } } : {}) };
  }
  if (member.state?.startsWith('Terminating')) return { kind: 'ignore', reason: 'lifecycle-hook-handles-it', detail: { lifecycleState: member.state } };
  return { kind: 'rescue', asgName: member.asgName };
}

// ---------------------------------------------------------------- a command finished (invocation or command status)

/**
 * The reason an instance whose copy of the command ended `status` was not rescued (undefined: it
 * was). A Failed copy whose script exited NOTHING_COLLECTED_EXIT_CODE found nothing to collect.
 */
export function notRescuedReasonOf(status: string, responseCodes: readonly number[] = []): NotRescuedReason | undefined {
  if (status === 'Success') return undefined;
  if (status === 'Failed' && responseCodes.includes(NOTHING_COLLECTED_EXIT_CODE)) return 'nothing-collected';
  return `command-${status.toLowerCase()}`;
}

/** An invocation status of another document, or of a copy not finished yet, is ignored; otherwise undefined (go on). */
export function invocationScope(e: { documentName: string; terminal: boolean; status: string }, scope: Scope): Ignore | undefined {
  if (e.documentName !== scope.documentName) return { kind: 'ignore', reason: 'other-document', detail: { documentName: e.documentName } };
  if (!e.terminal) return { kind: 'ignore', reason: 'not-terminal', detail: { status: e.status } };
  return undefined;
}

/**
 * The command an invocation status belongs to, as ListCommands answered (null: not listed): its
 * rescue parameters, or why the event needs nothing (not ours, not listed, not a configured group)
 * or cannot be used (parameters that are not a rescue's).
 */
export function invocationCommand(
  command: { documentName: string; parameters: Record<string, string[]> } | null, commandId: string, scope: Scope,
): Ignore | Reject | { kind: 'finish'; params: RescueParameters } {
  if (!command) return { kind: 'ignore', reason: 'unknown-command', detail: { commandId } };
  if (command.documentName !== scope.documentName) return { kind: 'ignore', reason: 'other-document', detail: { documentName: command.documentName } };
  const params = readRescueParameters(command.parameters);
  if (!params.ok) return { kind: 'reject', reason: params.reason };
  if (!scope.asgNames.includes(params.value.asgName)) return { kind: 'ignore', reason: 'asg-not-configured', detail: { asgName: params.value.asgName } };
  return { kind: 'finish', params: params.value };
}

/**
 * A command-level status: every invocation of the command has ended. The backstop for an
 * invocation status that never arrived or never went through; it acts only on a lifecycle rescue,
 * and only once the status is BACKSTOP_DELAY_SECONDS old: the invocation statuses come at the same
 * time and normally release every instance, and acting at once would race them and double a
 * storm's Auto Scaling calls, which Auto Scaling throttles. So a fresh one waits one visibility
 * timeout in the queue first.
 */
export function commandStatusScope(
  e: { documentName: string; terminal: boolean; status: string; commandId: string; parameters: Record<string, string[]>; timeMs: number },
  scope: Scope, now: number,
): Ignore | Reject | RetryLater | { kind: 'backstop'; params: RescueParameters } {
  if (e.documentName !== scope.documentName) return { kind: 'ignore', reason: 'other-document', detail: { documentName: e.documentName } };
  if (!e.terminal) return { kind: 'ignore', reason: 'not-terminal', detail: { status: e.status } };
  const params = readRescueParameters(e.parameters);
  if (!params.ok) return { kind: 'reject', reason: params.reason };
  const { asgName } = params.value;
  if (!scope.asgNames.includes(asgName)) return { kind: 'ignore', reason: 'asg-not-configured', detail: { asgName } };
  // A Spot rescue has nothing to release: its invocation statuses count each instance.
  if (params.value.trigger !== 'lifecycle') return { kind: 'ignore', reason: 'counted-per-invocation', detail: { asgName, commandId: e.commandId, status: e.status } };
  const ageSeconds = (now - e.timeMs) / 1000;
  if (ageSeconds < BACKSTOP_DELAY_SECONDS) {
    return { kind: 'retry-later', detail: `command status ${Math.round(ageSeconds)} s old; the backstop acts from ${BACKSTOP_DELAY_SECONDS} s` };
  }
  return { kind: 'backstop', params: params.value };
}

/** The instances of a finished command their lifecycle actions still hold, by Auto Scaling's states. */
export function stillHeld(instanceIds: readonly string[], stateOf: (instanceId: string) => string | undefined): string[] {
  return instanceIds.filter((id) => HELD_STATES.has(stateOf(id) ?? ''));
}

/**
 * How one instance's finished copy of the command is counted, once its lifecycle action was
 * completed (or not: a Spot rescue has none). `already-completed`: a repeated status event, the
 * other of the invocation and command statuses, or the status of a second command sent for a
 * repeated lifecycle event; the delivery that released the instance counted it. (Also taken when
 * the heartbeat expired first: such an instance is then counted nowhere rather than twice.)
 */
export function countFinished(
  p: { status: string; responseCodes?: readonly number[]; trigger: Trigger; commandId: string }, completion: 'completed' | 'already-completed' | 'none',
): Ignore | { kind: 'count'; rescued: boolean; reason?: NotRescuedReason } {
  if (completion === 'already-completed') {
    return { kind: 'ignore', reason: 'already-counted', detail: { trigger: p.trigger, commandId: p.commandId, status: p.status } };
  }
  const reason = notRescuedReasonOf(p.status, p.responseCodes);
  return reason === undefined ? { kind: 'count', rescued: true } : { kind: 'count', rescued: false, reason };
}
