/**
 * The event queue's side of the handler: an SQS batch in, the events to retry out.
 *
 * Every rule delivers its events to one SQS queue, and Lambda hands the handler up to 50 of them
 * at once (the event source mapping reports partial batch failures): that batch is what lets one
 * SendCommand cover up to 50 instances of a scale-in storm. A message body that is not JSON is
 * rejected like any other bad event (logged, not retried); an event that failed for a reason a
 * retry may fix is returned in `batchItemFailures`, so the queue retries only it and moves it to
 * the dead-letter queue after its last receive. An instance whose agent is not Online yet is not
 * waited for inside the invocation: the handler sends its event back to the queue with a delay and a
 * `LogRescueWaitStartedAt` message attribute (the wait's clock), read here on its return.
 */
import { WAIT_STARTED_ATTRIBUTE } from './aws';
import type { RescueResult } from './outcomes';
import type { RescueHandler } from './rescue';
import { DEADLINE_MARGIN_MS } from './timing';

export interface QueueRecord {
  messageId: string;
  body: string;
  /** SQS's ApproximateReceiveCount: this delivery included. */
  receives?: number;
  /** When the handler first found the instance's agent not Online (epoch ms): on a message it re-queued to look again. */
  waitStartedAt?: number;
}

export interface QueueBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

const MESSAGE_ID = /^[A-Za-z0-9-]{1,128}$/;
const RECEIVE_COUNT = /^[1-9][0-9]{0,5}$/;
const EPOCH_MS = /^[1-9][0-9]{0,14}$/;
const NOT_JSON = Symbol('not JSON');

/** The part of Lambda's context the queue handler reads. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

function isQueueBatch(event: unknown): event is { Records: unknown[] } {
  return typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records);
}

/**
 * The Lambda entry: an SQS batch from the event source mapping, or (for a test event sent by hand
 * with `aws lambda invoke`) one EventBridge event, which then fails the invocation if it must be retried.
 */
export function createQueueHandler(
  rescue: RescueHandler,
  now: () => number = Date.now,
): (event: unknown, context?: InvocationContext) => Promise<QueueBatchResponse | RescueResult> {
  return async (event, context) => {
    if (!isQueueBatch(event)) return rescue(event);
    const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
    const deadline = remaining === undefined ? undefined : now() + remaining - DEADLINE_MARGIN_MS;
    const records = event.Records.map((r, i): QueueRecord => {
      const rec = r as Partial<QueueRecord> | null;
      // Lambda builds these; anything else is not a batch partial failures can be reported for.
      if (typeof rec?.messageId !== 'string' || !MESSAGE_ID.test(rec.messageId) || typeof rec.body !== 'string') {
        throw new Error(`Records[${i}]: not an SQS message (messageId and body)`);
      }
      const count = (rec as { attributes?: { ApproximateReceiveCount?: unknown } }).attributes?.ApproximateReceiveCount;
      const waitStarted = (rec as { messageAttributes?: Record<string, { stringValue?: unknown } | undefined> })
        .messageAttributes?.[WAIT_STARTED_ATTRIBUTE]?.stringValue;
      return {
        messageId: rec.messageId, body: rec.body,
        ...(typeof count === 'string' && RECEIVE_COUNT.test(count) ? { receives: Number(count) } : {}),
        // Anything else is not ours (only the handler sets it): the message counts as a first look.
        ...(typeof waitStarted === 'string' && EPOCH_MS.test(waitStarted) ? { waitStartedAt: Number(waitStarted) } : {}),
      };
    });
    const outcomes = await rescue.batch(records.map((r) => {
      try {
        return JSON.parse(r.body) as unknown;
      } catch {
        return NOT_JSON;
      }
    }), { deadline, messages: records });
    return {
      batchItemFailures: outcomes.flatMap((o, i) => (o.ok ? [] : [{ itemIdentifier: records[i].messageId }])),
    };
  };
}
