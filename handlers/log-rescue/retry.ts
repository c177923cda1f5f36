/**
 * Retry with exponential backoff and full jitter, for throttling and server-side errors only.
 *
 * The SDK clients are built with `maxAttempts: 1` so that this is the only retry layer: its delays
 * go through the injected `sleep` (tests and the simulation run instantly), and its total delay is
 * bounded so a throttled invocation gives up well inside the Lambda timeout and leaves the event to
 * Lambda's own async retry and on-failure destination.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Sum of all sleeps of one call; a retry that would go past it is not made. */
  maxTotalDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 5000, maxTotalDelayMs: 15000 };

export interface RetryDeps {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Called before each sleep. */
  onRetry?: (info: { attempt: number; delayMs: number; error: string }) => void;
}

const THROTTLING = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'TooManyUpdates',
  'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'SlowDown',
  'ServiceUnavailable', 'ServiceUnavailableException', 'InternalError', 'InternalFailure', 'InternalServerError',
]);
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

export function isRetryable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const name = errorName(err);
  if (THROTTLING.has(name) || TRANSIENT_NETWORK.has(name)) return true;
  const e = err as { $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  if (e.$retryable?.throttling) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 429 || (typeof status === 'number' && status >= 500);
}

export async function withRetry<T>(op: () => Promise<T>, deps: RetryDeps, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
  let slept = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isRetryable(err) || attempt >= policy.maxAttempts) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.floor(Math.min(Math.max(deps.random(), 0), 1) * ceiling);
      if (slept + delayMs > policy.maxTotalDelayMs) throw err;
      deps.onRetry?.({ attempt, delayMs, error: errorName(err) });
      slept += delayMs;
      await deps.sleep(delayMs);
    }
  }
}
