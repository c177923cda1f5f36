/**
 * Proves how an event's outcome is made (handlers/log-rescue/outcomes.ts), on a bare batch with the
 * real metrics and a captured log, no AWS: an ignored or rejected event is a result with one log
 * line; a failed event is an error outcome with one error line naming its call, message and
 * receive, counted in EventsFailing from its third receive (throttled apart from errors); a
 * deferred event is retry-later, not an error; `attempt` fails only the events of the work that
 * threw; `firstPerInstance` keeps the first event of each key and settles the rest as
 * duplicate-in-batch.
 * @lane unit
 */
import type { AwsShell } from '../../../handlers/log-rescue/aws';
import { createMetrics } from '../../../handlers/log-rescue/metrics';
import {
  all, attempt, failed, firstPerInstance, ignored, messageOf, ok, rejected, retryLater, waitStartedOf,
  type Batch, type BatchOptions, type Settled,
} from '../../../handlers/log-rescue/outcomes';
import { SETTINGS, throttling } from './fixtures';

const T = Date.parse('2026-11-20T22:31:12Z');
const EVENT = '7f3c2a1e-5b9d-4c8e-a2f1-0e6d4b3c2a19';
const I1 = 'i-0123456789abcdef1';
const I2 = 'i-0123456789abcdef2';

/** A batch of `kinds.length` events, with the real metrics writing to the same log. */
function bare(options: BatchOptions = {}, kinds: string[] = ['lifecycle', 'command-invocation', 'spot']) {
  const records: any[] = [];
  const log = (r: object) => records.push(JSON.parse(JSON.stringify(r)));
  const now = () => T;
  const b: Batch = {
    // Outcomes never call AWS: a shell that is not there proves it.
    aws: undefined as unknown as AwsShell,
    metrics: createMetrics({ log, now, namespace: 'LogRescue', stack: SETTINGS.stackId }),
    settings: SETTINGS, log, now, events: kinds.map(() => ({})), options, kinds,
  };
  return { b, logs: () => records.filter((r) => !r._aws), metrics: () => records.filter((r) => r._aws) };
}

describe('ignored and rejected: a result, and one line', () => {
  test('ignored names the instance in its result only when it has one, and logs the reason and its detail at info', () => {
    const { b, logs } = bare();
    expect(ignored(b, { eventId: EVENT, instanceId: I1, asgName: 'web-asg' }, { kind: 'ignore', reason: 'already-released', detail: { lifecycleState: 'Terminated' } }))
      .toEqual({ action: 'ignored', reason: 'already-released', instanceId: I1 });
    expect(ignored(b, { eventId: EVENT, instances: 3 }, { kind: 'ignore', reason: 'already-counted' })).toEqual({ action: 'ignored', reason: 'already-counted' });
    expect(logs()).toEqual([
      { level: 'info', msg: 'event ignored', eventId: EVENT, instanceId: I1, asgName: 'web-asg', reason: 'already-released', lifecycleState: 'Terminated' },
      { level: 'info', msg: 'event ignored', eventId: EVENT, instances: 3, reason: 'already-counted' },
    ]);
  });

  test('rejected: the reason as the result, a warn line with the labels', () => {
    const { b, logs, metrics } = bare();
    expect(rejected(b, 'detail.EC2InstanceId: not an instance id', { eventId: EVENT, messageId: 'm-1' }))
      .toEqual({ action: 'rejected', reason: 'detail.EC2InstanceId: not an instance id' });
    expect(logs()).toEqual([{ level: 'warn', msg: 'event rejected', eventId: EVENT, messageId: 'm-1', reason: 'detail.EC2InstanceId: not an instance id' }]);
    expect(metrics()).toEqual([]);
  });

  test('ok: the event\'s index and its result', () => {
    expect(ok(4, { action: 'rejected', reason: 'x' })).toEqual({ index: 4, outcome: { ok: true, result: { action: 'rejected', reason: 'x' } } });
  });
});

describe('what the queue said about a message', () => {
  const options: BatchOptions = { messages: [{ messageId: 'm-0', receives: 1 }, { messageId: 'm-1', receives: 2, waitStartedAt: T - 5000 }] };

  test.each<[string, BatchOptions, number, object, number | undefined]>([
    ['a first look', options, 0, { messageId: 'm-0' }, undefined],
    ['a look again', options, 1, { messageId: 'm-1' }, T - 5000],
    ['an index past the messages', options, 2, {}, undefined],
    ['a batch handed over without messages', {}, 0, {}, undefined],
  ])('%s', (_case, opts, index, message, waitStartedAt) => {
    const { b } = bare(opts);
    expect(messageOf(b, index)).toEqual(message);
    expect(waitStartedOf(b, index)).toBe(waitStartedAt);
  });
});

describe('failed: an error outcome, one error line, and EventsFailing from the third receive', () => {
  const denied = () => Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', logRescueOperation: 'SendCommand' });

  test.each<[string, number | undefined, () => unknown, object[]]>([
    ['a batch without receive counts', undefined, denied, []],
    ['the first receive', 1, denied, []],
    ['the second receive', 2, denied, []],
    ['the third receive, an error', 3, denied, [{ EventsFailing: 1, Reason: 'error' }]],
    ['the fifth receive, throttled to the deadline', 5, throttling, [{ EventsFailing: 1, Reason: 'throttled' }]],
  ])('%s', (_case, receives, makeError, counted) => {
    const err = makeError();
    const { b, logs, metrics } = bare({ messages: [{ messageId: 'm-0' }, { messageId: 'm-1', ...(receives === undefined ? {} : { receives }) }] });
    const settled = failed(b, { index: 1, eventId: EVENT, instanceId: I1 }, err);
    expect(settled.index).toBe(1);
    expect(settled.outcome).toEqual({ ok: false, error: err });
    expect((settled.outcome as { error: unknown }).error).toBe(err);
    expect(logs()).toEqual([{
      level: 'error', msg: 'event failed; the queue retries it, then moves it to the dead-letter queue',
      eventId: EVENT, instanceId: I1, kind: 'command-invocation', messageId: 'm-1',
      ...(makeError === denied
        ? { operation: 'SendCommand', error: 'AccessDeniedException', detail: 'User is not authorized' }
        : { error: 'ThrottlingException', detail: 'Rate exceeded' }),
      ...(receives === undefined ? {} : { receive: receives }),
    }]);
    expect(metrics()).toEqual(counted.map((c) => expect.objectContaining(c)));
  });

  test('an error that is not an object still fails the event, named UnknownError', () => {
    const { b, logs } = bare();
    expect(failed(b, { index: 0, eventId: EVENT }, 'boom').outcome).toEqual({ ok: false, error: 'boom' });
    expect(logs()).toEqual([expect.objectContaining({ level: 'error', error: 'UnknownError', detail: '', kind: 'lifecycle' })]);
  });
});

test('retryLater: not an error, the detail as the outcome, one info line naming the message', () => {
  const { b, logs, metrics } = bare({ messages: [{ messageId: 'm-0', receives: 4 }] });
  expect(retryLater(b, { index: 0, eventId: EVENT, instanceId: I1 }, 'command status 10 s old; the backstop acts from 60 s')).toEqual({
    index: 0, outcome: { ok: false, retryLater: 'command status 10 s old; the backstop acts from 60 s' },
  });
  expect(logs()).toEqual([{
    level: 'info', msg: 'event deferred; the queue delivers it again after its visibility timeout', eventId: EVENT, instanceId: I1,
    detail: 'command status 10 s old; the backstop acts from 60 s', messageId: 'm-0',
  }]);
  // However late the receive, a deferral is not a failure.
  expect(metrics()).toEqual([]);
});

describe('attempt and all', () => {
  const refs = [{ index: 0, eventId: 'e-0', instanceId: I1 }, { index: 2, eventId: 'e-2', instanceId: I2 }];

  test('work that settles its events: its outcomes, untouched', async () => {
    const { b, logs } = bare();
    const settled: Settled[] = [ok(2, { action: 'rejected', reason: 'b' }), ok(0, { action: 'rejected', reason: 'a' })];
    await expect(attempt(b, refs, async () => settled)).resolves.toBe(settled);
    expect(logs()).toEqual([]);
  });

  test('work that throws: each of its events (and only those) fails with that error, in order', async () => {
    const { b, logs } = bare();
    const err = throttling();
    const out = await attempt(b, refs, async () => { throw err; });
    expect(out).toEqual([{ index: 0, outcome: { ok: false, error: err } }, { index: 2, outcome: { ok: false, error: err } }]);
    expect(logs().map((l) => [l.level, l.eventId, l.kind, l.error])).toEqual([
      ['error', 'e-0', 'lifecycle', 'ThrottlingException'], ['error', 'e-2', 'spot', 'ThrottlingException'],
    ]);
  });

  test('all: the parts\' outcomes, flattened in the order of the parts', async () => {
    const a = ok(1, { action: 'rejected', reason: 'a' });
    const c = ok(0, { action: 'rejected', reason: 'c' });
    const d = ok(2, { action: 'rejected', reason: 'd' });
    await expect(all([Promise.resolve([a]), Promise.resolve([]), Promise.resolve([c, d])])).resolves.toEqual([a, c, d]);
  });
});

describe('firstPerInstance: the first event of each key; the others settled as duplicate-in-batch', () => {
  const item = (index: number, instanceId: string, commandId = 'c-1') => ({ index, e: { id: `e-${index}`, instanceId, commandId } });

  test('by instance (the default)', () => {
    const { b, logs } = bare();
    const items = [item(0, I1), item(1, I2), item(2, I1), item(3, 'i-0123456789abcdef3'), item(4, I2)];
    const { first, repeats } = firstPerInstance(b, items);
    expect(first.map((i) => i.index)).toEqual([0, 1, 3]);
    expect(repeats).toEqual([
      { index: 2, outcome: { ok: true, result: { action: 'ignored', reason: 'duplicate-in-batch', instanceId: I1 } } },
      { index: 4, outcome: { ok: true, result: { action: 'ignored', reason: 'duplicate-in-batch', instanceId: I2 } } },
    ]);
    expect(logs()).toEqual([
      { level: 'info', msg: 'event ignored', eventId: 'e-2', instanceId: I1, reason: 'duplicate-in-batch' },
      { level: 'info', msg: 'event ignored', eventId: 'e-4', instanceId: I2, reason: 'duplicate-in-batch' },
    ]);
  });

  test('by another key: two commands on one instance are both first', () => {
    const { b } = bare();
    const items = [item(0, I1, 'c-1'), item(1, I1, 'c-2'), item(2, I1, 'c-1')];
    const { first, repeats } = firstPerInstance(b, items, (e) => `${e.commandId}/${e.instanceId}`);
    expect(first.map((i) => i.index)).toEqual([0, 1]);
    expect(repeats.map((r) => r.index)).toEqual([2]);
  });

  test('no repeats: every event is first, nothing logged', () => {
    const { b, logs } = bare();
    const { first, repeats } = firstPerInstance(b, [item(0, I1), item(1, I2)]);
    expect([first.length, repeats, logs()]).toEqual([2, [], []]);
  });
});
