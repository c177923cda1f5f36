/**
 * Every timeout, margin and bound of the log rescue flow, in one place: the handler (its waits,
 * retries and deadlines), the config schema (the ranges and margins it accepts) and the modules
 * (the function's timeout, the event queue's visibility timeout and receive count) all read them
 * from here, so no two of them can disagree. Bundled into the handler, so it imports nothing.
 */

// ---------------------------------------------------------------- config ranges (schema and handler settings)

/** How long the handler waits for an instance's SSM agent to be Online (config `handler.onlineWaitSeconds`). */
export const ONLINE_WAIT_SECONDS = { min: 0, max: 60, default: 20 } as const;
/** The termination lifecycle hook's heartbeat timeout: Auto Scaling accepts 30..7200. */
export const HEARTBEAT_TIMEOUT_SECONDS = { min: 30, max: 7200, default: 900 } as const;
/** The rescue document's execution timeout. */
export const EXECUTION_TIMEOUT_SECONDS = { min: 30, max: 7200, default: 600 } as const;
/**
 * How far the heartbeat timeout must stay above the execution timeout: room for the status event
 * to reach the handler after a command that used its whole timeout, through a failed first attempt
 * (the event queue's visibility timeout, 130 s by default). The instance must be released by the
 * command's own outcome, not by the heartbeat expiring.
 */
export const EXECUTION_TO_HEARTBEAT_MARGIN_SECONDS = 240;

// ---------------------------------------------------------------- the function and its event queue

/**
 * The handler's timeout: the online wait plus the calls after it (agent check, group check,
 * heartbeat, send, complete: about 6 s of backoff each for a server error), with room to spare.
 * Whatever happens, no retry runs past DEADLINE_MARGIN_MS before it, and throttled calls retry until then.
 */
export function handlerTimeoutSeconds(onlineWaitSeconds: number): number {
  return onlineWaitSeconds + 100;
}

/**
 * Milliseconds before the invocation's timeout after which no retry sleeps and no call starts
 * (throttled calls retry until then): time for the last attempts in flight to answer and for the
 * batch's failures to be returned, so a storm throttled to the end still ends in a partial batch
 * failure, not a timeout that retries all 50.
 */
export const DEADLINE_MARGIN_MS = 10_000;

/**
 * Visibility timeout of the event queue: a message a failed invocation did not finish is received
 * again this long after it was received. Chosen: the function timeout + 10 s (130 s by default),
 * not AWS's six function timeouts (720 s), on purpose:
 * - Lambda requires at least the function timeout, and the 10 s over it cover the Init phase (at
 *   most 10 s, and not part of the function timeout), so a batch that ran its whole timeout has
 *   ended before its messages reappear (AWS Lambda Developer Guide, "Creating and configuring an
 *   Amazon SQS event source mapping": "set the source queue's visibility timeout to at least six
 *   times the configuration timeout on your function. The extra time allows Lambda to retry if
 *   your function is throttled while processing a previous batch", and "Lambda validates this
 *   requirement [function timeout <= visibility timeout]",
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html; Init phase limit:
 *   https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
 * - What six timeouts guard against, a batch received again while a throttled or slow first run
 *   still goes, is harmless here: the handler sends no command for a rescue SSM already lists one
 *   for, a second completion answers "No active Lifecycle Action found", and an instance is
 *   counted only by the completion that released it. The event source mapping's maximum
 *   concurrency (at most the reserved concurrency when one is set) also keeps the mapping from
 *   invoking into the function's own throttle.
 * - Every second of it is a second a failed event holds its instance (a failed lifecycle event or
 *   invocation status comes back only after it), and the command-level backstop waits one of it.
 *   `npm run simulate` shows it: 200 instances with 30% of invocations failing, p90 hold 138 s and
 *   none stuck at 130 s, 728 s and 53 stuck at 720 s (__tests__/simulate.test.ts, "the visibility
 *   timeout, chosen").
 * rescueQueueMaxReceiveCount follows from it, so the retries still span the heartbeat timeout.
 */
export function rescueQueueVisibilitySeconds(onlineWaitSeconds: number): number {
  return handlerTimeoutSeconds(onlineWaitSeconds) + 10;
}

/**
 * An event that fails on this receive or later is counted (`EventsFailing`, which raises an alarm):
 * one or two failures are a blip (a brownout, the backlog of a storm); a third is a problem, and
 * SQS's age of the oldest message no longer counts a message received this often.
 */
export const EVENTS_FAILING_FROM_RECEIVE = 3;

/**
 * Receives of one message on the event queue before the queue moves it to the dead-letter queue:
 * enough that its retries span a whole heartbeat timeout (8 with the defaults: 7 visibility
 * timeouts of 130 s cover 900 s). An event is worth retrying as long as its lifecycle action may
 * still hold the instance, and a storm queued behind Auto Scaling's completion rate fails events
 * at the invocation's deadline for as long as the backlog lasts: three receives dead-lettered 74
 * events of a 200-instance storm at half a completion a second. At least 5, so an event failing
 * with an error from its third receive (EVENTS_FAILING_FROM_RECEIVE) is reported at least two
 * receives before it is dead-lettered. (A command-level status spends one receive on its deferral.)
 */
export function rescueQueueMaxReceiveCount(heartbeatTimeoutSeconds: number, onlineWaitSeconds: number): number {
  return Math.max(EVENTS_FAILING_FROM_RECEIVE + 2, Math.ceil(heartbeatTimeoutSeconds / rescueQueueVisibilitySeconds(onlineWaitSeconds)) + 1);
}

// ---------------------------------------------------------------- the rescue command

/** Seconds SSM may take to deliver the command (SendCommand TimeoutSeconds); the agent was just seen Online. */
export const DELIVERY_TIMEOUT_SECONDS = 60;

/**
 * Seconds past the document's execution timeout a command may need before its status releases the
 * instance (its delivery timeout): a command sent later than the heartbeat timeout less the
 * execution timeout less this after its event first records a heartbeat.
 */
export const HEARTBEAT_MARGIN_SECONDS = DELIVERY_TIMEOUT_SECONDS;

/** Whether a lifecycle command sent `elapsedSeconds` after its event could outlive its lifecycle action. */
export function needsHeartbeat(elapsedSeconds: number, executionTimeoutSeconds: number, heartbeatTimeoutSeconds: number): boolean {
  return elapsedSeconds + executionTimeoutSeconds + HEARTBEAT_MARGIN_SECONDS > heartbeatTimeoutSeconds;
}

/**
 * How much earlier than an event's own time the listing of commands already sent for it begins:
 * EventBridge's event time and SSM's RequestedDateTime come from different clocks.
 */
export const COMMAND_CLOCK_SKEW_MS = 60_000;

/**
 * Age a command-level status must reach before the backstop acts on it. The queue's visibility
 * timeout (130 s by default) is longer, so a deferred event acts on its second receive.
 */
export const BACKSTOP_DELAY_SECONDS = 60;

// ---------------------------------------------------------------- the online wait (looks again through the queue)

/** How long an event whose agent is not Online yet stays in the queue before the next look (at most). */
export const LOOK_AGAIN_INTERVAL_MS = 5000;

/**
 * The look-again bound: how old (ms since the lifecycle event's own time) a lifecycle event may be
 * at a look and still wait for its agent. An agent not Online at a first look that comes more than
 * a visibility timeout after the instance began terminating (its event failed before, or the queue
 * is backed up) is not one flapping at scale-in: waiting would only add looks, each of which a
 * failure could delay by another visibility timeout while the instance is held. The same bound,
 * plus the wait and one interval, ends a chain of looks again whatever its wait clock says.
 */
export function lookAgainBoundMs(onlineWaitSeconds: number, lookingAgain: boolean): number {
  const lateAfterMs = rescueQueueVisibilitySeconds(onlineWaitSeconds) * 1000;
  return lateAfterMs + (lookingAgain ? onlineWaitSeconds * 1000 + LOOK_AGAIN_INTERVAL_MS : 0);
}

/** The delay of a look again: the interval, or what is left of the wait, in whole seconds (SQS DelaySeconds), at least 1. */
export function lookAgainDelaySeconds(leftMs: number): number {
  return Math.max(1, Math.ceil(Math.min(leftMs, LOOK_AGAIN_INTERVAL_MS) / 1000));
}

// ---------------------------------------------------------------- retries of AWS calls

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Sum of all sleeps of one call; a retry that would go past it is not made. */
  maxTotalDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 5000, maxTotalDelayMs: 15000 };
