/**
 * Proves the Lambda entry's queue side (handlers/log-rescue/queue.ts): an SQS batch (as the event
 * source mapping builds it) in, the messageIds to retry out, the deadline taken from Lambda's
 * remaining time, and the wait clock read back from a message the handler sent back.
 * @lane unit
 */
import { DescribeInstanceInformationCommand, ListCommandsCommand, SendCommandCommand, SSMServiceException } from '@aws-sdk/client-ssm';
import { CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { createQueueHandler } from '../../../handlers/log-rescue/queue';
import { DEADLINE_MARGIN_MS } from '../../../handlers/log-rescue/timing';
import {
  ASG, COMMAND_ID, INSTANCE, LIFECYCLE_PARAMETERS,
  SETTINGS, answerAgents, eventId, harness, instanceId, invocationEvent, lifecycleEvent, listedCommand, sqsRecord, throttling, throttlingAsg,
} from './fixtures';

const messageId = (n: number) => `059f36b4-87a3-44ab-83d2-${n.toString(16).padStart(12, '0')}`;
const sqsEvent = (bodies: string[]) => ({ Records: bodies.map((body, k) => sqsRecord(body, messageId(k))) });
const json = (event: unknown) => JSON.stringify(event);

function queueHarness() {
  const h = harness({ random: () => 1 });
  // The deadline on the harness's virtual clock, which its sleeps advance (Date.now would only be
  // reached by sleeping through the gap between the virtual and the real date).
  return { ...h, queue: createQueueHandler(h.handler, () => h.clock.ms) };
}

describe('an SQS batch', () => {
  test('good, hostile, non-JSON and failing events: batchItemFailures lists exactly the failing messages', async () => {
    const h = queueHarness();
    answerAgents(h, () => 'Online');
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    // The second group's command is throttled to the end; the first group's goes.
    h.ssm.on(SendCommandCommand, { Parameters: { ...LIFECYCLE_PARAMETERS, asgName: ['api asg'] } }).rejects(throttling());
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ instances: [instanceId(5), instanceId(6)] }));
    h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
    h.autoScaling.on(CompleteLifecycleActionCommand, { InstanceId: instanceId(6) }).rejects(throttlingAsg());

    const response = await h.queue(sqsEvent([
      json(lifecycleEvent({ EC2InstanceId: instanceId(0) }, { id: eventId(0) })),
      json(lifecycleEvent({ EC2InstanceId: 'i-$(curl evil)' }, { id: eventId(1) })),
      '{"version":"0","id":"truncated',
      json(lifecycleEvent({ EC2InstanceId: instanceId(3), AutoScalingGroupName: 'api asg' }, { id: eventId(3) })),
      json(invocationEvent({ instance: instanceId(5) }, { id: eventId(5) })),
      json(invocationEvent({ instance: instanceId(6) }, { id: eventId(6) })),
    ]));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: messageId(3) }, { itemIdentifier: messageId(5) }] });
    expect(h.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([
      [instanceId(0)], ...new Array(6).fill([instanceId(3)]),
    ]);
    // The rejected bodies reached no AWS call.
    expect(JSON.stringify(h.trail.map((c) => c.input))).not.toMatch(/curl|truncated/);
    // Each line names the SQS message, which keeps its messageId in the dead-letter queue.
    expect(h.logs().filter((l) => l.msg === 'event rejected')).toEqual([
      { level: 'warn', msg: 'event rejected', reason: 'detail.EC2InstanceId: not an instance id', eventId: eventId(1), source: 'aws.autoscaling', detailType: 'EC2 Instance-terminate Lifecycle Action', messageId: messageId(1) },
      { level: 'warn', msg: 'event rejected', reason: 'event: not an object', messageId: messageId(2) },
    ]);
    expect(h.logs().filter((l) => l.level === 'error').map((l) => [l.eventId, l.operation, l.messageId, l.receive]).sort()).toEqual([
      [eventId(3), 'SendCommand', messageId(3), 1], [eventId(6), 'CompleteLifecycleAction', messageId(5), 1],
    ]);
  });

  test('only hostile and non-JSON bodies: nothing to retry, no AWS call', async () => {
    const h = queueHarness();
    const response = await h.queue(sqsEvent([
      json(lifecycleEvent({ AutoScalingGroupName: `${ASG}\nINFO fake log line` })),
      '',
      'null',
      json([lifecycleEvent()]),
      'a'.repeat(256 * 1024),
    ]));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(h.awsCalls()).toBe(0);
    expect(h.logs()).toHaveLength(5);
    expect(h.logs().every((l) => l.level === 'warn' && l.msg === 'event rejected')).toBe(true);
    expect(JSON.stringify(h.logs())).not.toContain('fake log line');
  });

  test('an empty batch: nothing to retry', async () => {
    const h = queueHarness();
    expect(await h.queue({ Records: [] })).toEqual({ batchItemFailures: [] });
    expect(h.awsCalls()).toBe(0);
  });

  test('every event of the batch fails: every message is listed, in order', async () => {
    const h = queueHarness();
    h.ssm.on(DescribeInstanceInformationCommand).rejects(throttling());
    const response = await h.queue(sqsEvent([0, 1, 2].map((k) => json(lifecycleEvent({ EC2InstanceId: instanceId(k) }, { id: eventId(k) })))));
    expect(response).toEqual({ batchItemFailures: [0, 1, 2].map((k) => ({ itemIdentifier: messageId(k) })) });
  });

  test.each<[string, (records: any[]) => unknown[]]>([
    ['a null record', (r) => [r[0], null]],
    ['a record without body', (r) => [r[0], { ...r[1], body: undefined }]],
    ['a body that is not a string', (r) => [r[0], { ...r[1], body: { detail: {} } }]],
    ['a record without messageId', (r) => [r[0], { ...r[1], messageId: undefined }]],
    ['a messageId with a newline', (r) => [r[0], { ...r[1], messageId: 'abc\nERROR fake' }]],
    ['a 129-character messageId', (r) => [r[0], { ...r[1], messageId: 'a'.repeat(129) }]],
  ])('%s: throws (no partial failure can name it), before any AWS call', async (_name, edit) => {
    const h = queueHarness();
    answerAgents(h, () => 'Online');
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    const records = sqsEvent([json(lifecycleEvent()), json(lifecycleEvent({ EC2InstanceId: instanceId(1) }))]).Records;

    await expect(h.queue({ Records: edit(records) })).rejects.toThrow('Records[1]: not an SQS message (messageId and body)');
    expect(h.awsCalls()).toBe(0);
  });
});

describe('the invocation\'s deadline', () => {
  /** A rescue handler that records the options each batch got. */
  function recording() {
    const seen: unknown[] = [];
    const rescue = Object.assign(async () => ({ action: 'ignored' as const, reason: 'not-ours' as const }), {
      batch: async (events: readonly unknown[], options?: unknown) => {
        seen.push(options);
        return events.map(() => ({ ok: true as const, result: { action: 'ignored' as const, reason: 'not-ours' as const } }));
      },
    });
    return { seen, rescue: rescue as unknown as Parameters<typeof createQueueHandler>[0] };
  }

  test('the batch must be done DEADLINE_MARGIN_MS before Lambda\'s remaining time runs out', async () => {
    const { seen, rescue } = recording();
    const queue = createQueueHandler(rescue, () => 1_000_000);
    await queue(sqsEvent([json(lifecycleEvent())]), { getRemainingTimeInMillis: () => 119_500 });
    expect(DEADLINE_MARGIN_MS).toBe(10_000);
    expect(seen).toEqual([{ deadline: 1_000_000 + 119_500 - 10_000, messages: [{ messageId: messageId(0), body: json(lifecycleEvent()), receives: 1 }] }]);
  });

  test('no context (a local run): no deadline, so throttling gets the policy\'s bounded attempts', async () => {
    const { seen, rescue } = recording();
    await createQueueHandler(rescue)(sqsEvent([json(lifecycleEvent())]));
    expect(seen).toEqual([{ deadline: undefined, messages: [{ messageId: messageId(0), body: json(lifecycleEvent()), receives: 1 }] }]);
  });

  test('end to end: a completion throttled 12 times inside a 120 s invocation is done, nothing to retry', async () => {
    const h = harness({ random: () => 1 });
    h.ssm.on(ListCommandsCommand).resolves(listedCommand({ instances: [INSTANCE] }));
    let calls = 0;
    h.autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => {
      if (++calls <= 12) throw throttlingAsg();
      return {};
    });
    const queue = createQueueHandler(h.handler, () => h.clock.ms);
    const start = h.clock.ms;

    const response = await queue(sqsEvent([json(invocationEvent())]), { getRemainingTimeInMillis: () => 120_000 - (h.clock.ms - start) });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls).toBe(13);
    expect(h.clock.ms - start).toBeLessThanOrEqual(110_000);
  });
});

/** The EventsFailing record: per stack and reason only. */
const eventsFailing = (reason: string) => ({
  _aws: { Timestamp: expect.any(Number), CloudWatchMetrics: [{ Namespace: 'LogRescue', Dimensions: [['Stack', 'Reason']], Metrics: [{ Name: 'EventsFailing', Unit: 'Count' }] }] },
  Stack: SETTINGS.stackId, Reason: reason, EventsFailing: 1,
});

describe('an event that keeps failing', () => {
  test('its receive count goes into the error line; from the third receive on it is counted in EventsFailing, Reason error', async () => {
    const h = queueHarness();
    h.ssm.on(DescribeInstanceInformationCommand).rejects(new SSMServiceException({
      name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'internal error',
    }));
    const records = [2, 3, 7].map((n, k) => {
      const r = sqsRecord(json(lifecycleEvent({ EC2InstanceId: instanceId(k) }, { id: eventId(k) })), messageId(k));
      return { ...r, attributes: { ...r.attributes, ApproximateReceiveCount: String(n) } };
    });
    // A count Lambda would never send is not trusted: no receive, no metric.
    records.push({ ...records[0], messageId: messageId(3), body: json(lifecycleEvent({ EC2InstanceId: instanceId(3) }, { id: eventId(3) })), attributes: { ...records[0].attributes, ApproximateReceiveCount: '3; rm -rf' } });

    const response = await h.queue({ Records: records });

    expect(response).toEqual({ batchItemFailures: [0, 1, 2, 3].map((k) => ({ itemIdentifier: messageId(k) })) });
    expect(h.logs().filter((l) => l.level === 'error').map((l) => [l.eventId, l.receive])).toEqual([
      [eventId(0), 2], [eventId(1), 3], [eventId(2), 7], [eventId(3), undefined],
    ]);
    expect(h.metrics().filter((m) => 'EventsFailing' in m)).toEqual(new Array(2).fill(eventsFailing('error')));
  });

  test('throttled to the deadline on a late receive: counted apart (Reason throttled), which the alarm does not watch', async () => {
    const h = queueHarness();
    h.ssm.on(DescribeInstanceInformationCommand).rejects(throttling());
    const r = sqsRecord(json(lifecycleEvent()), messageId(0));
    const response = await h.queue({ Records: [{ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: '4' } }] }, { getRemainingTimeInMillis: () => 60_000 });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: messageId(0) }] });
    expect(h.metrics().filter((m) => 'EventsFailing' in m)).toEqual([eventsFailing('throttled')]);
  });
});

describe('one EventBridge event (a test event sent by hand)', () => {
  test('handled as one event: its result is returned', async () => {
    const h = queueHarness();
    answerAgents(h, () => 'Online');
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    expect(await h.queue(lifecycleEvent())).toMatchObject({ action: 'command-sent', instanceId: INSTANCE, commandId: COMMAND_ID, commandInstances: 1 });
  });

  test('rejected: returned, not thrown, no AWS call', async () => {
    const h = queueHarness();
    expect(await h.queue({ source: 'nobody' })).toEqual({ action: 'rejected', reason: 'detail-type: missing' });
    expect(h.awsCalls()).toBe(0);
    expect(h.logs()).toEqual([expect.objectContaining({ level: 'warn', msg: 'event rejected', reason: 'detail-type: missing' })]);
  });

  test('failing: throws, so the invocation fails and is retried', async () => {
    const h = queueHarness();
    h.ssm.on(DescribeInstanceInformationCommand).rejects(throttling());
    await expect(h.queue(lifecycleEvent())).rejects.toThrow('Rate exceeded');
  });
});
