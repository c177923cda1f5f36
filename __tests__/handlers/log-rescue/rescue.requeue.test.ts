/**
 * Proves the online wait through the event queue (handlers/log-rescue/rescue.ts with aws.ts's requeue): an instance whose agent is
 * not Online goes back to the queue with a delay and the wait's clock as a message attribute, and
 * no invocation sleeps. Driven through the queue handler with SQS records as Lambda builds them;
 * each message the handler sends back is handed to it again, as the event source mapping would,
 * after its DelaySeconds.
 *
 * @lane unit
 */
import { DescribeInstanceInformationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AutoScalingClient, CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { createQueueHandler } from '../../../handlers/log-rescue/queue';
import { WAIT_STARTED_ATTRIBUTE } from '../../../handlers/log-rescue/aws';
import { createRescueHandler } from '../../../handlers/log-rescue/rescue';
import {
  ASG, COMMAND_ID, HELD, INSTANCE, QUEUE_URL, SETTINGS, answerAgents, asgInstances, emf, eventId, harness, instanceId, lifecycleEvent, sqsRecord,
  COMPLETE_INPUT, LIFECYCLE_EVENT_ID, inputs,
} from './fixtures';

const messageId = (n: number) => `7c1e8a52-0b6d-4f3e-9a21-${n.toString(16).padStart(12, '0')}`;

function queueHarness(onlineWaitSeconds = 20) {
  const h = harness({ random: () => 1, settings: { onlineWaitSeconds } });
  h.sqs.on(SendMessageCommand).callsFake(() => ({ MessageId: messageId(900 + h.sqs.commandCalls(SendMessageCommand).length) }));
  h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  let received = 0;
  const queue = createQueueHandler(h.handler, () => h.clock.ms);
  /** Hand the handler one batch of records; the SendMessage calls it made, in order. */
  const deliver = async (records: object[]) => {
    const before = h.sqs.commandCalls(SendMessageCommand).length;
    const response = await queue({ Records: records });
    return { response, sent: inputs(h.sqs.commandCalls(SendMessageCommand).slice(before)) as any[] };
  };
  /** The message the handler sent, as Lambda hands it over once its delay is over. */
  const comesBack = (sent: any) => {
    h.clock.ms += sent.DelaySeconds * 1000;
    const attributes = Object.fromEntries(Object.entries(sent.MessageAttributes ?? {}).map(([name, v]: [string, any]) => [
      name, { stringValue: v.StringValue, stringListValues: [], binaryListValues: [], dataType: v.DataType },
    ]));
    return sqsRecord(sent.MessageBody, messageId(++received), attributes);
  };
  return { ...h, deliver, comesBack };
}

const body = (event: unknown) => JSON.stringify(event);
/** The wait clock as the handler sends it (SendMessage input)... */
const waitAttribute = (at: number) => ({ [WAIT_STARTED_ATTRIBUTE]: { DataType: 'String', StringValue: String(at) } });
/** ...and a wait clock value as Lambda hands it over in a record. */
const receivedClock = (value: string) => ({ [WAIT_STARTED_ATTRIBUTE]: { stringValue: value, stringListValues: [], binaryListValues: [], dataType: 'String' } });

/** The instance's agent answers, but not Online; its lifecycle action still holds it. */
function agentNotOnline(h: ReturnType<typeof queueHarness>, pingStatus: 'ConnectionLost' | 'Inactive' = 'ConnectionLost') {
  h.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: pingStatus }] });
  h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);
}

// SQS takes a per-message delay of 0..900 s ("Valid values: 0 to 900. Maximum: 15 minutes.": SQS
// API reference, SendMessage, DelaySeconds,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html); a
// larger one is refused and the look again would be lost.
test('every DelaySeconds it sends is one SQS accepts (an integer 0..900), through the longest online wait the config allows', async () => {
  const h = queueHarness(60);
  agentNotOnline(h);
  let { sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))]);
  const delays: number[] = [];
  while (sent.length > 0 && delays.length < 100) {
    delays.push(sent[0].DelaySeconds);
    ({ sent } = await h.deliver([h.comesBack(sent[0])]));
  }
  expect(delays.length).toBeGreaterThanOrEqual(12);
  expect(delays.filter((d) => !(Number.isInteger(d) && d >= 0 && d <= 900))).toEqual([]);
});

test('agent not Online: the event goes back to the queue in 5 s with the wait clock; nothing sleeps, nothing is released', async () => {
  const h = queueHarness();
  agentNotOnline(h);
  const start = h.clock.ms;

  const { response, sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))]);

  // Handled (deleted from the queue): the copy carries on, and the original spends no receive.
  expect(response).toEqual({ batchItemFailures: [] });
  expect(sent).toEqual([{ QueueUrl: QUEUE_URL, MessageBody: body(lifecycleEvent()), DelaySeconds: 5, MessageAttributes: waitAttribute(start) }]);
  expect(h.sleeps).toEqual([]);
  expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  expect(h.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  expect(h.metrics()).toEqual([]);
  expect(h.logs()).toContainEqual({
    level: 'info', msg: 'agent not Online yet; the event goes back to the queue to look again',
    eventId: LIFECYCLE_EVENT_ID, instanceId: INSTANCE, asgName: ASG,
    pingStatus: 'ConnectionLost', recheckSeconds: 5, waitedSeconds: 0, onlineWaitSeconds: 20, messageId: messageId(0),
  });
});

test('offline for the whole wait: back at 5, 10 and 15 s with the same clock, released CONTINUE at 20 s, counted once', async () => {
  const h = queueHarness();
  agentNotOnline(h);
  const start = h.clock.ms;

  let { sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))]);
  const delays: number[] = [];
  while (sent.length > 0) {
    expect(sent).toHaveLength(1);
    expect(sent[0].MessageAttributes).toEqual(waitAttribute(start));
    expect(sent[0].MessageBody).toBe(body(lifecycleEvent()));
    delays.push(sent[0].DelaySeconds);
    ({ sent } = await h.deliver([h.comesBack(sent[0])]));
  }

  expect(delays).toEqual([5, 5, 5, 5]);
  expect(h.clock.ms - start).toBe(20_000);
  expect(h.sleeps).toEqual([]);
  expect(h.ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(5);
  // Only the first look asks Auto Scaling whether the action is still there (its rate is the completions').
  expect(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(1);
  expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT]);
  expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'offline')]);
  expect(h.logs()).toContainEqual(expect.objectContaining({
    level: 'warn', msg: 'logs not rescued; releasing the instance', reason: 'offline', pingStatus: 'ConnectionLost', instanceId: INSTANCE,
  }));
  expect(h.logs().filter((l) => l.msg === 'agent not Online yet; the event goes back to the queue to look again').map((l) => l.waitedSeconds))
    .toEqual([0, 5, 10, 15]);
});

test('agent Online on its third look: the rescue is sent then, and nothing is released', async () => {
  const h = queueHarness();
  answerAgents(h, (_id, poll) => (poll >= 3 ? 'Online' : undefined));
  h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);
  h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });

  let { sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))]);
  ({ sent } = await h.deliver([h.comesBack(sent[0])]));
  const last = await h.deliver([h.comesBack(sent[0])]);

  expect(last).toEqual({ response: { batchItemFailures: [] }, sent: [] });
  expect(inputs(h.ssm.commandCalls(SendCommandCommand))).toEqual([expect.objectContaining({ InstanceIds: [INSTANCE] })]);
  expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  // Not listed by SSM (not registered yet) counts as not Online, without a ping status in the line.
  expect(h.logs().filter((l) => l.msg === 'agent not Online yet; the event goes back to the queue to look again'))
    .toEqual([expect.not.objectContaining({ pingStatus: expect.anything() }), expect.not.objectContaining({ pingStatus: expect.anything() })]);
  expect(h.sleeps).toEqual([]);
});

test('a wait that is not a multiple of 5 s: the last look comes when it ends (7 s: back in 5 s, then 2 s)', async () => {
  const h = queueHarness(7);
  agentNotOnline(h, 'Inactive');

  const first = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))]);
  const second = await h.deliver([h.comesBack(first.sent[0])]);
  const third = await h.deliver([h.comesBack(second.sent[0])]);

  expect([first.sent[0].DelaySeconds, second.sent[0].DelaySeconds, third.sent]).toEqual([5, 2, []]);
  expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
});

test('ONLINE_WAIT_SECONDS=0: released on the first look, nothing sent back', async () => {
  const h = queueHarness(0);
  h.ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
  h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(HELD);

  const { sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))]);

  expect(sent).toEqual([]);
  expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'not-managed')]);
});

test('one batch, agents Online and not: one command for the Online ones, the others sent back, the invocation ends at once', async () => {
  const h = queueHarness();
  const ids = [0, 1, 2, 3].map(instanceId);
  answerAgents(h, (id) => (id === ids[0] || id === ids[2] ? 'Online' : 'ConnectionLost'));
  h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves(asgInstances({ [ids[1]]: 'Terminating:Wait', [ids[3]]: 'Terminating:Wait' }));
  h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
  const start = h.clock.ms;

  const { response, sent } = await h.deliver(ids.map((id, k) => sqsRecord(body(lifecycleEvent({ EC2InstanceId: id }, { id: eventId(k) })), messageId(k))));

  expect(response).toEqual({ batchItemFailures: [] });
  expect(inputs(h.ssm.commandCalls(SendCommandCommand))).toEqual([expect.objectContaining({ InstanceIds: [ids[0], ids[2]] })]);
  expect(sent.map((m) => JSON.parse(m.MessageBody).detail.EC2InstanceId)).toEqual([ids[1], ids[3]]);
  expect(sent.every((m) => m.DelaySeconds === 5 && m.MessageAttributes[WAIT_STARTED_ATTRIBUTE].StringValue === String(start))).toBe(true);
  expect(h.clock.ms).toBe(start);
});

test.each([
  ['in the future (a skewed or forged clock): it starts now', (now: number) => String(now + 3_600_000), 'started-now'],
  ['not a number', () => 'soon', 'first-look'],
  ['negative', () => '-5', 'first-look'],
  ['exponent form', () => '1e12', 'first-look'],
])('a wait clock %s', async (_case, value, expected) => {
  const h = queueHarness();
  agentNotOnline(h);
  const attributes = receivedClock(value(h.clock.ms));

  const { sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0), attributes)]);

  // Never a wait longer than configured, nor one already over: a full wait from this look.
  expect(sent).toEqual([expect.objectContaining({ DelaySeconds: 5, MessageAttributes: waitAttribute(h.clock.ms) })]);
  expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  // A garbled attribute is no clock at all: the message is a first look, checked against Auto Scaling.
  expect(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(expected === 'first-look' ? 1 : 0);
});

test('a wait clock already past the wait (the queue held the message): released at once', async () => {
  const h = queueHarness();
  agentNotOnline(h);
  const attributes = receivedClock(String(h.clock.ms - 600_000));

  const { sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0), attributes)]);

  expect(sent).toEqual([]);
  expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT]);
  expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'offline')]);
});

test('a first look more than a visibility timeout (130 s) after the instance began terminating: released at once, no wait', async () => {
  const h = queueHarness();
  agentNotOnline(h);
  const entered = Date.parse(lifecycleEvent().time);

  // 129 s: an event that was merely slow still gets its wait.
  h.clock.ms = entered + 129_000;
  expect((await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))])).sent).toHaveLength(1);
  expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);

  // 131 s (its earlier receives failed): the agent is not flapping at scale-in; each look more
  // would risk another 130 s of hold.
  h.clock.ms = entered + 131_000;
  const { sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(1))]);
  expect(sent).toEqual([]);
  expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT]);
  expect(h.metrics()).toEqual([emf('NotRescued', 'Count', 1, 'offline')]);
});

test('a fresh EventBridge duplicate before a look-again copy in one batch: the copy\'s clock counts, the duplicate is dropped', async () => {
  const h = queueHarness();
  agentNotOnline(h);
  const started = h.clock.ms;
  const first = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))]);
  const copy = h.comesBack(first.sent[0]);

  const { sent, response } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(1)), copy]);

  expect(response).toEqual({ batchItemFailures: [] });
  expect(sent).toEqual([expect.objectContaining({ MessageAttributes: waitAttribute(started) })]);
  // The duplicate was no first look: Auto Scaling was asked once, at the real first look.
  expect(h.autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(1);
  expect(h.logs()).toContainEqual(expect.objectContaining({ msg: 'event ignored', reason: 'duplicate-in-batch' }));
});

test('a chain of looks ends by the event\'s age too: a copy claiming a fresh wait 10 minutes after the instance began terminating is released', async () => {
  const h = queueHarness();
  agentNotOnline(h);
  h.clock.ms = Date.parse(lifecycleEvent().time) + 600_000;
  const attributes = receivedClock(String(h.clock.ms - 1000));

  const { sent } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0), attributes)]);

  expect(sent).toEqual([]);
  expect(inputs(h.autoScaling.commandCalls(CompleteLifecycleActionCommand))).toEqual([COMPLETE_INPUT]);
});

test('SendMessage refused: the event fails, so the queue delivers the original again; nothing is released', async () => {
  const h = queueHarness();
  agentNotOnline(h);
  h.sqs.on(SendMessageCommand).rejects(new SQSServiceException({
    name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'not authorized to perform: sqs:SendMessage',
  }));

  const { response } = await h.deliver([sqsRecord(body(lifecycleEvent()), messageId(0))]);

  expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: messageId(0) }] });
  expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  expect(h.logs()).toContainEqual(expect.objectContaining({
    level: 'error', msg: 'event failed; the queue retries it, then moves it to the dead-letter queue',
    operation: 'SendMessage', error: 'AccessDenied', instanceId: INSTANCE, messageId: messageId(0),
  }));
});

test('a handler without its event queue (no SQS client, or no queue URL) is refused when it is built, not at the first offline agent', () => {
  expect(() => createRescueHandler({
    sqs: new SQSClient({}), ssm: new SSMClient({}), autoScaling: new AutoScalingClient({}), settings: { ...SETTINGS, queueUrl: '' },
    log: () => undefined, now: Date.now, sleep: async () => undefined,
  })).toThrow('createRescueHandler: needs settings.queueUrl and deps.sqs (the event queue)');
  // @ts-expect-error: the type requires the client; a caller in plain JavaScript meets the check.
  expect(() => createRescueHandler({
    ssm: new SSMClient({}), autoScaling: new AutoScalingClient({}), settings: { ...SETTINGS, queueUrl: QUEUE_URL },
    log: () => undefined, now: Date.now, sleep: async () => undefined,
  })).toThrow('createRescueHandler: needs settings.queueUrl and deps.sqs (the event queue)');
});
