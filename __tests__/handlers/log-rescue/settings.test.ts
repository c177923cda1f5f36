/**
 * Proves how the handler reads its settings from the Lambda environment (handlers/log-rescue/settings.ts):
 * every variable the stack writes, the ranges timing.ts allows, and one error naming every problem.
 * @lane unit
 */
import { settingsFromEnv } from '../../../handlers/log-rescue/settings';

const ENV = {
  DOCUMENT_NAME: 'logrescue-dev-rescue-logs',
  ASG_NAMES: 'web-asg,api asg',
  HOOK_NAME: 'log-rescue',
  ONLINE_WAIT_SECONDS: '20',
  EXECUTION_TIMEOUT_SECONDS: '600',
  HEARTBEAT_TIMEOUT_SECONDS: '900',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/logrescue-dev-log-rescue-events',
  STACK_ID: 'logrescue-dev-log-rescue',
};

describe('settingsFromEnv', () => {
  test('reads every variable, METRIC_NAMESPACE defaulting to LogRescue', () => {
    expect(settingsFromEnv(ENV)).toEqual({
      documentName: 'logrescue-dev-rescue-logs',
      asgNames: ['web-asg', 'api asg'],
      hookName: 'log-rescue',
      onlineWaitSeconds: 20,
      executionTimeoutSeconds: 600,
      heartbeatTimeoutSeconds: 900,
      metricNamespace: 'LogRescue',
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/logrescue-dev-log-rescue-events',
      stackId: 'logrescue-dev-log-rescue',
    });
    expect(settingsFromEnv({ ...ENV, METRIC_NAMESPACE: 'Platform/LogRescue' }).metricNamespace).toBe('Platform/LogRescue');
  });

  test('one error naming every missing variable', () => {
    expect(() => settingsFromEnv({})).toThrow(
      'log-rescue handler settings: DOCUMENT_NAME is missing (an SSM document name); '
      + 'ASG_NAMES is missing (Auto Scaling group names joined by "," with no spaces around them); '
      + 'HOOK_NAME is missing (a lifecycle hook name); ONLINE_WAIT_SECONDS is missing (an integer 0..60); '
      + 'EXECUTION_TIMEOUT_SECONDS is missing (an integer 30..7200); HEARTBEAT_TIMEOUT_SECONDS is missing (an integer 30..7200); '
      + 'QUEUE_URL is missing (an SQS queue URL); STACK_ID is missing (a metric dimension value (1..255 characters))',
    );
  });

  test.each([
    [{ ASG_NAMES: 'web-asg,,api' }, 'ASG_NAMES has an entry that is not an Auto Scaling group name: ""'],
    [{ ASG_NAMES: 'web-asg,arn:aws:x' }, 'ASG_NAMES has an entry that is not an Auto Scaling group name: "arn:aws:x"'],
    [{ HOOK_NAME: 'hook name' }, 'HOOK_NAME is not a lifecycle hook name'],
    [{ ONLINE_WAIT_SECONDS: '61' }, 'ONLINE_WAIT_SECONDS is not an integer 0..60'],
    [{ ONLINE_WAIT_SECONDS: '-1' }, 'ONLINE_WAIT_SECONDS is not an integer 0..60'],
    [{ EXECUTION_TIMEOUT_SECONDS: '10' }, 'EXECUTION_TIMEOUT_SECONDS is not an integer 30..7200'],
    [{ EXECUTION_TIMEOUT_SECONDS: '1e3' }, 'EXECUTION_TIMEOUT_SECONDS is not an integer 30..7200'],
    [{ HEARTBEAT_TIMEOUT_SECONDS: '29' }, 'HEARTBEAT_TIMEOUT_SECONDS is not an integer 30..7200'],
    [{ HEARTBEAT_TIMEOUT_SECONDS: '7201' }, 'HEARTBEAT_TIMEOUT_SECONDS is not an integer 30..7200'],
    [{ HEARTBEAT_TIMEOUT_SECONDS: '' }, 'HEARTBEAT_TIMEOUT_SECONDS is missing (an integer 30..7200)'],
    [{ DOCUMENT_NAME: 'doc name' }, 'DOCUMENT_NAME is not an SSM document name'],
    [{ QUEUE_URL: 'arn:aws:sqs:us-east-1:123456789012:q' }, 'QUEUE_URL is not an SQS queue URL'],
    [{ QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/q?Action=DeleteQueue' }, 'QUEUE_URL is not an SQS queue URL'],
    [{ QUEUE_URL: 'http://sqs.us-east-1.amazonaws.com/123456789012/q' }, 'QUEUE_URL is not an SQS queue URL'],
  ])('invalid %j', (override, message) => {
    expect(() => settingsFromEnv({ ...ENV, ...override })).toThrow(message);
  });
});
