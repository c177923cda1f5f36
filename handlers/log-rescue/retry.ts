/**
 * Retry with exponential backoff and full jitter, for throttling and server-side errors only.
 *
 * The SDK clients are built with `maxAttempts: 1` so that this is the only retry layer: its delays
 * go through the injected `sleep` (tests and the simulation run instantly).
 *
 * Two budgets. A server-side or connection error is retried by the policy (a few attempts, a
 * bounded total delay): it may be a brownout, and the queue retrying the event later is the better
 * bet. Throttling is not a fault but backpressure from an account-wide rate (Auto Scaling has no
 * batch form of CompleteLifecycleAction, so a storm of thousands of instances queues behind it):
 * given a deadline (the invocation's own, less a margin), it is retried until the next attempt
 * would start past it. Giving up sooner would only send the event round the queue (a visibility
 * timeout later, one receive closer to the dead-letter queue) to be throttled again.
 *
 * The deadline bounds every retry, whatever the error, and no call starts after it
 * (`DeadlineReached`): the invocation must return its failures before Lambda's timeout, or the
 * queue retries the whole batch.
 */
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './timing';

export interface RetryDeps {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Called before each sleep. */
  onRetry?: (info: { attempt: number; delayMs: number; error: string }) => void;
  /** No attempt starts after `at` (epoch ms, read with `now`); throttling is retried until then. */
  deadline?: { at: number; now: () => number };
  /** Throttling gets the policy's bounded attempts even with a deadline (a call that is optional). */
  boundedThrottling?: boolean;
}

/** The call was not made: the invocation's deadline had passed. The queue retries the event. */
export class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
}

const THROTTLING = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'TooManyUpdates',
  'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'SlowDown',
]);
const SERVER_SIDE = new Set(['ServiceUnavailable', 'ServiceUnavailableException', 'InternalError', 'InternalFailure', 'InternalServerError']);
/** Connection-level failures: the request may not have reached AWS at all. */
const TRANSIENT_NETWORK = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED', 'EAI_AGAIN']);

export function errorName(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { name?: unknown; code?: unknown };
    if (typeof e.code === 'string' && TRANSIENT_NETWORK.has(e.code)) return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return 'UnknownError';
}

export function errorMessage(err: unknown): string {
  const m = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m.slice(0, 500) : '';
}

/** An error returned by an AWS service (as opposed to a bug in this code). */
export function isServiceError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ('$fault' in err || '$metadata' in err);
}

/** The service said "slow down": a rate limit, not a fault. */
export function isThrottling(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return THROTTLING.has(errorName(err)) || e.$retryable?.throttling === true || e.$metadata?.httpStatusCode === 429;
}

export function isRetryable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const name = errorName(err);
  if (isThrottling(err) || SERVER_SIDE.has(name) || TRANSIENT_NETWORK.has(name)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

export async function withRetry<T>(op: () => Promise<T>, deps: RetryDeps, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
  const d = deps.deadline;
  if (d && d.now() >= d.at) throw new DeadlineReached('the invocation\'s deadline passed before the call was made');
  let slept = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
      const delayMs = Math.floor(Math.min(Math.max(deps.random(), 0), 1) * ceiling);
      if (d && d.now() + delayMs > d.at) throw err;
      const patient = d !== undefined && !deps.boundedThrottling && isThrottling(err);
      if (!patient && (attempt >= policy.maxAttempts || slept + delayMs > policy.maxTotalDelayMs)) throw err;
      deps.onRetry?.({ attempt, delayMs, error: errorName(err) });
      slept += delayMs;
      await deps.sleep(delayMs);
    }
  }
}
