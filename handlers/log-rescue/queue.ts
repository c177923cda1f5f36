/**
 * The event queue's side of the handler: an SQS batch in, the events to retry out.
 *
 * Every rule delivers its events to one SQS queue, and Lambda hands the handler up to 50 of them
 * at once (the event source mapping reports partial batch failures): that batch is what lets one
 * SendCommand cover up to 50 instances of a scale-in storm. A message body that is not JSON is
 * rejected like any other bad event (logged, not retried); an event that failed for a reason a
 * retry may fix is returned in `batchItemFailures`, so the queue retries only it and moves it to
 * the dead-letter queue after its last receive.
 */
import type { RescueHandler, RescueResult } from './rescue';

export interface QueueRecord {
  messageId: string;
  body: string;
}

export interface QueueBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

const MESSAGE_ID = /^[A-Za-z0-9-]{1,128}$/;
const NOT_JSON = Symbol('not JSON');

function isQueueBatch(event: unknown): event is { Records: unknown[] } {
  return typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records);
}

/**
 * The Lambda entry: an SQS batch from the event source mapping, or (for a test event sent by hand
 * with `aws lambda invoke`) one EventBridge event, which then fails the invocation if it must be retried.
 */
export function createQueueHandler(rescue: RescueHandler): (event: unknown) => Promise<QueueBatchResponse | RescueResult> {
  return async (event) => {
    if (!isQueueBatch(event)) return rescue(event);
    const records = event.Records.map((r, i): QueueRecord => {
      const rec = r as Partial<QueueRecord> | null;
      // Lambda builds these; anything else is not a batch partial failures can be reported for.
      if (typeof rec?.messageId !== 'string' || !MESSAGE_ID.test(rec.messageId) || typeof rec.body !== 'string') {
        throw new Error(`Records[${i}]: not an SQS message (messageId and body)`);
      }
      return { messageId: rec.messageId, body: rec.body };
    });
    const outcomes = await rescue.batch(records.map((r) => {
      try {
        return JSON.parse(r.body) as unknown;
      } catch {
        return NOT_JSON;
      }
    }));
    return {
      batchItemFailures: outcomes.flatMap((o, i) => (o.ok ? [] : [{ itemIdentifier: records[i].messageId }])),
    };
  };
}
