/**
 * Lambda entry of the log rescue handler: builds the real clients, settings and output once per
 * container and hands every batch from the event queue to `createQueueHandler`. No logic lives here.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { createOutput } from './output';
import { createQueueHandler } from './queue';
import { createRescueHandler } from './rescue';
import { settingsFromEnv } from './settings';

const settings = settingsFromEnv(process.env);

// The handler retries throttling itself, with a bounded total delay; the SDK must not retry underneath it.
const rescue = createRescueHandler({
  ssm: new SSMClient({ maxAttempts: 1 }),
  autoScaling: new AutoScalingClient({ maxAttempts: 1 }),
  sqs: new SQSClient({ maxAttempts: 1 }),
  settings,
  log: createOutput({
    logger: new Logger({ serviceName: 'log-rescue', persistentKeys: { stack: settings.stackId } }),
    write: (line) => { process.stdout.write(line); },
  }),
  now: Date.now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});

export const handler = createQueueHandler(rescue);
