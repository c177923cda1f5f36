import { Construct } from 'constructs';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';

export interface RescueAlarmsProps {
  readonly namePrefix: string;
  readonly metricNamespace: string;
  readonly metricStack: string;
  readonly functionName: string;
  readonly deadLetterQueueName: string;
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
      new CloudwatchMetricAlarm(this, 'not-rescued', {
        ...common,
        alarmName: `${props.namePrefix}-log-rescue-not-rescued`,
        alarmDescription: 'An instance terminated without its logs in S3. The handler log says why (reason).',
        namespace: props.metricNamespace,
        metricName: 'NotRescued',
        dimensions: { Stack: props.metricStack },
        statistic: 'Sum',
      }),
      new CloudwatchMetricAlarm(this, 'dead-letters', {
        ...common,
        alarmName: `${props.namePrefix}-log-rescue-dead-letters`,
        alarmDescription: 'Events the handler could not process are waiting in the dead-letter queue.',
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: props.deadLetterQueueName },
        statistic: 'Maximum',
      }),
      new CloudwatchMetricAlarm(this, 'handler-errors', {
        ...common,
        alarmName: `${props.namePrefix}-log-rescue-handler-errors`,
        alarmDescription: 'The log rescue handler failed; Lambda retries, then the event goes to the dead-letter queue.',
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensions: { FunctionName: props.functionName },
        statistic: 'Sum',
      }),
    ];
  }
}
