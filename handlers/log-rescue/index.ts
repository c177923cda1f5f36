/**
 * Lambda entry of the log rescue handler: builds the real clients and settings once per container
 * and hands every batch from the event queue to `createQueueHandler`. No logic lives here.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createQueueHandler } from './queue';
import { createRescueHandler } from './rescue';
import { settingsFromEnv } from './settings';

// The handler retries throttling itself, with a bounded total delay; the SDK must not retry underneath it.
const rescue = createRescueHandler({
  ssm: new SSMClient({ maxAttempts: 1 }),
  autoScaling: new AutoScalingClient({ maxAttempts: 1 }),
  sqs: new SQSClient({ maxAttempts: 1 }),
  settings: settingsFromEnv(process.env),
  // Straight to stdout rather than console.log: the runtime's console prefixes (text log format) or
  // wraps (JSON log format) each line, and CloudWatch only extracts EMF from a bare JSON line.
  log: (record) => { process.stdout.write(`${JSON.stringify(record)}\n`); },
  now: Date.now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});

export const handler = createQueueHandler(rescue);
