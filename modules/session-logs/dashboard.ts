import { DashboardWidget } from '../shared/dashboard';

export interface SessionLogsDashboardProps {
  readonly logGroupName: string;
  readonly streamName: string;
  readonly subscriptionFilterName: string;
}

/**
 * What an operator of session logs watches, all AWS metrics of this stack's resources: the log
 * group's (AWS/Logs: IncomingLogEvents and IncomingBytes by LogGroupName; DeliveryErrors and
 * DeliveryThrottling by LogGroupName, DestinationType and FilterName, "Monitoring with CloudWatch
 * metrics", CloudWatch Logs User Guide) and the Firehose stream's (AWS/Firehose by
 * DeliveryStreamName, "Monitoring Amazon Data Firehose with CloudWatch metrics").
 */
export function sessionLogsWidgets(p: SessionLogsDashboardProps): DashboardWidget[] {
  const logs = (name: string, label: string) => ({ namespace: 'AWS/Logs', name, dimensions: { LogGroupName: p.logGroupName }, stat: 'Sum', label });
  const subscription = (name: string, label: string) => ({
    namespace: 'AWS/Logs', name, dimensions: { LogGroupName: p.logGroupName, DestinationType: 'Firehose', FilterName: p.subscriptionFilterName }, stat: 'Sum', label,
  });
  const firehose = (name: string, stat: string, label: string, rightAxis = false) =>
    ({ namespace: 'AWS/Firehose', name, dimensions: { DeliveryStreamName: p.streamName }, stat, label, ...(rightAxis ? { rightAxis } : {}) });
  return [
    {
      title: 'Session log events in',
      answers: 'Are sessions streaming to CloudWatch Logs at all?',
      metrics: [logs('IncomingLogEvents', 'log events'), { ...logs('IncomingBytes', 'bytes'), rightAxis: true }],
    },
    {
      title: 'Firehose records: in and delivered to S3',
      answers: 'Does every record that reaches Firehose reach S3?',
      metrics: [firehose('IncomingRecords', 'Sum', 'records in'), firehose('DeliveryToS3.Records', 'Sum', 'records delivered')],
    },
    {
      title: 'Firehose bytes: in and delivered to S3',
      answers: 'The same in bytes: delivered bytes are compressed, so smaller than incoming.',
      metrics: [firehose('IncomingBytes', 'Sum', 'bytes in'), firehose('DeliveryToS3.Bytes', 'Sum', 'bytes delivered')],
    },
    {
      title: 'Delivery to S3: success and data freshness',
      answers: 'Is Firehose writing to S3 (success ratio 1) and how old is the oldest record not yet delivered (s)?',
      metrics: [firehose('DeliveryToS3.Success', 'Average', 'success ratio'), firehose('DeliveryToS3.DataFreshness', 'Maximum', 'freshness (s)', true)],
    },
    {
      title: 'Subscription filter: delivery errors and throttling',
      answers: 'Can CloudWatch Logs hand the session records to Firehose?',
      metrics: [subscription('DeliveryErrors', 'delivery errors'), subscription('DeliveryThrottling', 'delivery throttling')],
    },
  ];
}
