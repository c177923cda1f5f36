/**
 * Proves the one retry layer of the handler's AWS calls (handlers/log-rescue/retry.ts): how an
 * error is named and classified (throttling, server-side, connection-level, or final; an AWS answer
 * or not), and what `withRetry` makes of each: exponential backoff with full jitter under a cap,
 * the policy's bounds on attempts and total delay, and the invocation's deadline (no call starts
 * after it; throttling is retried until it, unless the call asks for bounded throttling).
 * @lane unit
 */
import { SSMServiceException } from '@aws-sdk/client-ssm';
import {
  DeadlineReached, errorMessage, errorName, isRetryable, isServiceError, isThrottling, withRetry, type RetryDeps,
} from '../../../handlers/log-rescue/retry';
import type { RetryPolicy } from '../../../handlers/log-rescue/timing';

/** An error as the SDK v3 clients throw it for an AWS answer. */
const answer = (name: string, httpStatusCode: number, fault: 'client' | 'server' = 'client') => new SSMServiceException({
  name, $fault: fault, $metadata: { httpStatusCode }, message: `${name} (${httpStatusCode})`,
});
/** A connection-level error as Node's sockets throw it (no AWS answer). */
const socket = (code: string) => Object.assign(new Error(`read ${code}`), { code });

describe('naming and classifying an error', () => {
  test.each<[string, unknown, string, boolean, boolean, boolean]>([
    // [case, error, errorName, isThrottling, isRetryable, isServiceError]
    ['SSM ThrottlingException', answer('ThrottlingException', 400), 'ThrottlingException', true, true, true],
    ['Auto Scaling Throttling', answer('Throttling', 400), 'Throttling', true, true, true],
    ['Auto Scaling TooManyUpdates', answer('TooManyUpdates', 400), 'TooManyUpdates', true, true, true],
    ['S3-style SlowDown', answer('SlowDown', 503, 'server'), 'SlowDown', true, true, true],
    ['an unknown name with HTTP 429', answer('Whatever', 429), 'Whatever', true, true, true],
    ['an unknown name the SDK marks throttling', Object.assign(answer('Whatever', 400), { $retryable: { throttling: true } }), 'Whatever', true, true, true],
    ['InternalFailure (500)', answer('InternalFailure', 500, 'server'), 'InternalFailure', false, true, true],
    ['ServiceUnavailable', answer('ServiceUnavailable', 503, 'server'), 'ServiceUnavailable', false, true, true],
    ['an unknown name with HTTP 502', answer('Unknown', 502, 'server'), 'Unknown', false, true, true],
    ['AccessDeniedException', answer('AccessDeniedException', 400), 'AccessDeniedException', false, false, true],
    ['ValidationError', answer('ValidationError', 400), 'ValidationError', false, false, true],
    ['InvalidInstanceId', answer('InvalidInstanceId', 400), 'InvalidInstanceId', false, false, true],
    ['a reset connection (its code names it)', socket('ECONNRESET'), 'ECONNRESET', false, true, false],
    ['a DNS failure', socket('EAI_AGAIN'), 'EAI_AGAIN', false, true, false],
    ['the SDK timing out a request', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'TimeoutError', false, true, false],
    ['a code that is not a network failure', socket('ENOENT'), 'Error', false, false, false],
    ['a bug (TypeError)', new TypeError('x is undefined'), 'TypeError', false, false, false],
    ['null', null, 'UnknownError', false, false, false],
    ['a string', 'Rate exceeded', 'UnknownError', false, false, false],
    ['an object with only $metadata', { $metadata: {} }, 'UnknownError', false, false, true],
  ])('%s', (_case, err, name, throttling, retryable, service) => {
    expect([errorName(err), isThrottling(err), isRetryable(err), isServiceError(err)]).toEqual([name, throttling, retryable, service]);
  });

  test('errorMessage: the message, cut to 500 characters; empty when there is none', () => {
    expect(errorMessage(answer('ThrottlingException', 400))).toBe('ThrottlingException (400)');
    expect(errorMessage(new Error('x'.repeat(600)))).toBe('x'.repeat(500));
    expect(errorMessage({ message: 42 })).toBe('');
    expect(errorMessage(null)).toBe('');
    expect(errorMessage('Rate exceeded')).toBe('');
  });
});

describe('withRetry', () => {
  const POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 5000, maxTotalDelayMs: 15000 };

  /** An operation failing with `errors` in turn, then answering 'done'; a clock that `sleep` advances. */
  function run(errors: unknown[], deps: Partial<RetryDeps> & { deadlineIn?: number } = {}, policy = POLICY) {
    const clock = { ms: 1_000_000 };
    const sleeps: number[] = [];
    const retries: Array<{ attempt: number; delayMs: number; error: string }> = [];
    let calls = 0;
    const op = async () => {
      calls++;
      if (calls <= errors.length) throw errors[calls - 1];
      return 'done';
    };
    const { deadlineIn, ...rest } = deps;
    const result = withRetry(op, {
      sleep: async (ms) => { sleeps.push(ms); clock.ms += ms; },
      random: () => 1,
      onRetry: (info) => retries.push(info),
      ...(deadlineIn === undefined ? {} : { deadline: { at: clock.ms + deadlineIn, now: () => clock.ms } }),
      ...rest,
    }, policy);
    return { result, sleeps, retries, calls: () => calls };
  }
  const always = (err: unknown, n = 100) => new Array<unknown>(n).fill(err);

  test('an answer on the first attempt: no sleep, no retry', async () => {
    const r = run([]);
    await expect(r.result).resolves.toBe('done');
    expect([r.calls(), r.sleeps, r.retries]).toEqual([1, [], []]);
  });

  test('an error a retry will not fix is thrown at once, the very error', async () => {
    const denied = answer('AccessDeniedException', 400);
    const r = run([denied]);
    await expect(r.result).rejects.toBe(denied);
    expect([r.calls(), r.sleeps]).toEqual([1, []]);
  });

  test('throttled twice, then an answer: exponential backoff from 200 ms, each retry reported before its sleep', async () => {
    const r = run([answer('ThrottlingException', 400), answer('ThrottlingException', 400)]);
    await expect(r.result).resolves.toBe('done');
    expect(r.calls()).toBe(3);
    expect(r.sleeps).toEqual([200, 400]);
    expect(r.retries).toEqual([
      { attempt: 1, delayMs: 200, error: 'ThrottlingException' },
      { attempt: 2, delayMs: 400, error: 'ThrottlingException' },
    ]);
  });

  test.each<[string, number, number[]]>([
    ['a draw of 0.5 halves each delay', 0.5, [100, 200, 400, 800, 1600]],
    ['a draw of 0 retries at once', 0, [0, 0, 0, 0, 0]],
    ['a draw above 1 is taken as 1', 7, [200, 400, 800, 1600, 3200]],
    ['a draw below 0 is taken as 0', -3, [0, 0, 0, 0, 0]],
  ])('full jitter: %s', async (_case, draw, delays) => {
    const throttled = answer('ThrottlingException', 400);
    const r = run(always(throttled), { random: () => draw });
    await expect(r.result).rejects.toBe(throttled);
    // Six attempts in all, the first included.
    expect([r.calls(), r.sleeps]).toEqual([6, delays]);
  });

  test('each delay is capped at maxDelayMs', async () => {
    const r = run(always(answer('InternalFailure', 500, 'server')), {}, { maxAttempts: 7, baseDelayMs: 1000, maxDelayMs: 3000, maxTotalDelayMs: 60000 });
    await expect(r.result).rejects.toMatchObject({ name: 'InternalFailure' });
    expect(r.sleeps).toEqual([1000, 2000, 3000, 3000, 3000, 3000]);
  });

  test('no retry whose sleep would take the total past maxTotalDelayMs', async () => {
    const r = run(always(socket('ECONNRESET')), {}, { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 10000, maxTotalDelayMs: 5000 });
    await expect(r.result).rejects.toMatchObject({ code: 'ECONNRESET' });
    // 1000 + 2000 slept; 4000 more would make 7000.
    expect([r.calls(), r.sleeps]).toEqual([3, [1000, 2000]]);
  });

  describe('with a deadline', () => {
    test('past the deadline, the call is not made: DeadlineReached', async () => {
      const r = run([], { deadlineIn: 0 });
      await expect(r.result).rejects.toBeInstanceOf(DeadlineReached);
      await expect(r.result).rejects.toMatchObject({ name: 'DeadlineReached' });
      expect(r.calls()).toBe(0);
    });

    test('throttling is retried past maxAttempts and maxTotalDelayMs, until the next attempt would start past the deadline', async () => {
      const throttled = answer('Throttling', 400);
      const r = run(always(throttled), { deadlineIn: 20000 });
      await expect(r.result).rejects.toBe(throttled);
      // 16.2 s slept; another 5 s would end at 21.2 s, past the deadline at 20 s.
      expect(r.sleeps).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
      expect(r.calls()).toBe(8);
    });

    test('boundedThrottling: throttling gets the policy\'s attempts, deadline or not', async () => {
      const r = run(always(answer('Throttling', 400)), { deadlineIn: 20000, boundedThrottling: true });
      await expect(r.result).rejects.toMatchObject({ name: 'Throttling' });
      expect([r.calls(), r.sleeps]).toEqual([6, [200, 400, 800, 1600, 3200]]);
    });

    test('a server-side error keeps the policy\'s bounds under a deadline', async () => {
      const r = run(always(answer('InternalFailure', 500, 'server')), { deadlineIn: 60000 });
      await expect(r.result).rejects.toMatchObject({ name: 'InternalFailure' });
      expect(r.calls()).toBe(6);
    });

    test('a retry whose sleep would end past the deadline is not made, whatever the policy allows', async () => {
      const throttled = answer('ThrottlingException', 400);
      const r = run([throttled, throttled], { deadlineIn: 500 });
      await expect(r.result).rejects.toBe(throttled);
      // 200 ms slept; the next sleep of 400 ms would end at 600 ms.
      expect([r.calls(), r.sleeps]).toEqual([2, [200]]);
    });
  });
});
