import { Construct } from 'constructs';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { named } from '../shared/addresses';
import { DIMENSION, EVENT_FAILING_REASON, METRIC, METRIC_NAMESPACE } from '../../handlers/log-rescue/contract';

/**
 * Age of the oldest waiting event that means the handler is behind (or not polling at all). A
 * healthy batch is picked up within seconds, and each of those minutes holds instances on their
 * lifecycle hook.
 */
const EVENT_QUEUE_MAX_AGE_SECONDS = 300;

export interface RescueAlarmsProps {
  /** `<project>-<environment>`: alarms are `<namePrefix>-log-rescue-<what>`. */
  readonly namePrefix: string;
  /** Value of the `Stack` dimension of the handler's metrics. */
  readonly metricStack: string;
  /** The handler function, whose errors raise an alarm. */
  readonly handler: Pick<LambdaFunction, 'functionName'>;
  /** Any message in it raises an alarm. */
  readonly deadLetterQueue: Pick<SqsQueue, 'name'>;
  /** An event waiting in it too long raises an alarm. */
  readonly eventQueue: Pick<SqsQueue, 'name'>;
  /** `alarm_actions` / `ok_actions` (the stack's alarm topic), empty for none. */
  readonly actions: string[];
}

/** Anything other than "every instance rescued, nothing failed" raises an alarm. */
export class RescueAlarms extends Construct {
  readonly alarms: CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: RescueAlarmsProps) {
    super(scope, id);
    const common = {
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      evaluationPeriods: 1,
      period: 300,
      treatMissingData: 'notBreaching',
      alarmActions: props.actions,
      okActions: props.actions,
    };
    this.alarms = [
      named(new CloudwatchMetricAlarm(this, 'not-rescued', {
        ...common,
        alarmName: `${props.namePrefix}-log-rescue-not-rescued`,
        alarmDescription: 'An instance terminated without its logs in S3. The handler log says why (reason).',
        namespace: METRIC_NAMESPACE,
        metricName: METRIC.notRescued,
        dimensions: { [DIMENSION.stack]: props.metricStack },
        statistic: 'Sum',
      }), 'not_rescued'),
      named(new CloudwatchMetricAlarm(this, 'events-failing', {
        ...common,
        alarmName: `${props.namePrefix}-log-rescue-events-failing`,
        alarmDescription: 'An event has failed with an error (not throttling) on its third receive or later: the queue keeps retrying it while its lifecycle action may hold the instance, then dead-letters it. The handler log (event failed, receive) names the call.',
        namespace: METRIC_NAMESPACE,
        metricName: METRIC.eventFailing,
        dimensions: { [DIMENSION.stack]: props.metricStack, [DIMENSION.reason]: EVENT_FAILING_REASON.error },
        statistic: 'Sum',
      }), 'events_failing'),
      named(new CloudwatchMetricAlarm(this, 'dead-letters', {
        ...common,
        alarmName: `${props.namePrefix}-log-rescue-dead-letters`,
        alarmDescription: 'Events the handler could not process are waiting in the dead-letter queue.',
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: props.deadLetterQueue.name },
        statistic: 'Maximum',
      }), 'dead_letters'),
      named(new CloudwatchMetricAlarm(this, 'handler-errors', {
        ...common,
        alarmName: `${props.namePrefix}-log-rescue-handler-errors`,
        alarmDescription: 'The log rescue handler failed a whole batch; the event queue delivers it again, and after the last try moves it to the dead-letter queue.',
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensions: { FunctionName: props.handler.functionName },
        statistic: 'Sum',
      }), 'handler_errors'),
      named(new CloudwatchMetricAlarm(this, 'event-queue-age', {
        ...common,
        alarmName: `${props.namePrefix}-log-rescue-event-queue-age`,
        alarmDescription: `The handler is falling behind: instances are held waiting for it (events have waited in the event queue for over ${EVENT_QUEUE_MAX_AGE_SECONDS / 60} minutes).`,
        namespace: 'AWS/SQS',
        metricName: 'ApproximateAgeOfOldestMessage',
        dimensions: { QueueName: props.eventQueue.name },
        statistic: 'Maximum',
        period: 60,
        threshold: EVENT_QUEUE_MAX_AGE_SECONDS,
      }), 'event_queue_age'),
    ];
  }
}
