import { Construct } from 'constructs';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { named } from '../shared/addresses';

export interface SessionAlarmsProps {
  readonly streamName: string;
  readonly logGroupName: string;
  readonly subscriptionFilterName: string;
  /** Alarm when the oldest record in Firehose is older than this. */
  readonly freshnessThresholdSeconds: number;
  /** `alarm_actions` / `ok_actions` (the stack's alarm topic), empty for none. */
  readonly actions: string[];
  readonly namePrefix: string;
}

const PERIOD = 300;

/**
 * Alarms that say session records are not reaching S3: Firehose is late or failing to write, or
 * CloudWatch Logs cannot hand events to Firehose. Quiet while nobody opens sessions (no data is
 * not a failure).
 */
export class SessionAlarms extends Construct {
  readonly alarms: CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: SessionAlarmsProps) {
    super(scope, id);
    const common = {
      period: PERIOD,
      treatMissingData: 'notBreaching',
      alarmActions: props.actions,
      okActions: props.actions,
    };
    this.alarms = [
      named(new CloudwatchMetricAlarm(this, 'firehose-freshness', {
        ...common,
        alarmName: `${props.namePrefix}-session-logs-firehose-freshness`,
        alarmDescription: `Session records wait in Firehose ${props.streamName} longer than ${props.freshnessThresholdSeconds}s: S3 delivery is stuck or failing`,
        namespace: 'AWS/Firehose',
        metricName: 'DeliveryToS3.DataFreshness',
        dimensions: { DeliveryStreamName: props.streamName },
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: props.freshnessThresholdSeconds,
        evaluationPeriods: 1,
      }), 'firehose_freshness'),
      named(new CloudwatchMetricAlarm(this, 'firehose-delivery-failures', {
        ...common,
        alarmName: `${props.namePrefix}-session-logs-firehose-s3-failures`,
        alarmDescription: `Firehose ${props.streamName} fails S3 puts for 15 minutes (records go to session-logs-errors/ after retries)`,
        namespace: 'AWS/Firehose',
        metricName: 'DeliveryToS3.Success',
        dimensions: { DeliveryStreamName: props.streamName },
        statistic: 'Average',
        comparisonOperator: 'LessThanThreshold',
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      }), 'firehose_delivery_failures'),
      named(new CloudwatchMetricAlarm(this, 'subscription-delivery-errors', {
        ...common,
        alarmName: `${props.namePrefix}-session-logs-subscription-errors`,
        alarmDescription: `CloudWatch Logs cannot deliver ${props.logGroupName} events to Firehose (permissions, throttling or a missing stream)`,
        namespace: 'AWS/Logs',
        metricName: 'DeliveryErrors',
        dimensions: { LogGroupName: props.logGroupName, DestinationType: 'Firehose', FilterName: props.subscriptionFilterName },
        statistic: 'Sum',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 0,
        evaluationPeriods: 1,
      }), 'subscription_delivery_errors'),
    ];
  }
}
