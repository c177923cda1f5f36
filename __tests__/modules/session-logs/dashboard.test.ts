/**
 * sessionLogsWidgets: what an operator of session logs watches, every metric an AWS metric of the
 * log group, its subscription filter or the Firehose stream it is given, with the dimensions AWS
 * publishes it with; each widget says what it answers. That the stack gives it its own resources is
 * in __tests__/modules/shared/dashboard.test.ts.
 * @lane unit
 */
import { DashboardMetric } from '../../../modules/shared/dashboard';
import { sessionLogsWidgets, SessionLogsDashboardProps } from '../../../modules/session-logs/dashboard';

const PROPS: SessionLogsDashboardProps = {
  logGroupName: '/acme/sessions',
  streamName: 'acme-prod-session-logs',
  subscriptionFilterName: 'acme-prod-sessions-to-firehose',
};

/** Each widget as `title: [namespace metric stat dimension=value ...]`, right-axis metrics marked. */
function layout(props: SessionLogsDashboardProps): Record<string, string[]> {
  const line = (m: DashboardMetric) => [m.namespace, m.name, m.stat, ...Object.entries(m.dimensions).map(([k, v]) => `${k}=${v}`), ...(m.rightAxis ? ['(right)'] : [])].join(' ');
  return Object.fromEntries(sessionLogsWidgets(props).map((w) => [w.title, w.metrics.map(line)]));
}

describe('sessionLogsWidgets', () => {
  it('five widgets: log events in, Firehose records and bytes in and delivered, delivery success and freshness, subscription errors', () => {
    const group = 'LogGroupName=/acme/sessions';
    const stream = 'DeliveryStreamName=acme-prod-session-logs';
    const filter = `${group} DestinationType=Firehose FilterName=acme-prod-sessions-to-firehose`;
    expect(layout(PROPS)).toEqual({
      'Session log events in': [`AWS/Logs IncomingLogEvents Sum ${group}`, `AWS/Logs IncomingBytes Sum ${group} (right)`],
      'Firehose records: in and delivered to S3': [`AWS/Firehose IncomingRecords Sum ${stream}`, `AWS/Firehose DeliveryToS3.Records Sum ${stream}`],
      'Firehose bytes: in and delivered to S3': [`AWS/Firehose IncomingBytes Sum ${stream}`, `AWS/Firehose DeliveryToS3.Bytes Sum ${stream}`],
      'Delivery to S3: success and data freshness': [`AWS/Firehose DeliveryToS3.Success Average ${stream}`, `AWS/Firehose DeliveryToS3.DataFreshness Maximum ${stream} (right)`],
      'Subscription filter: delivery errors and throttling': [`AWS/Logs DeliveryErrors Sum ${filter}`, `AWS/Logs DeliveryThrottling Sum ${filter}`],
    });
  });

  it('names the log group, stream and filter it is given, and nothing else', () => {
    const other = { logGroupName: '/beta/audit', streamName: 'beta-stream', subscriptionFilterName: 'beta-filter' };
    const dimensions = sessionLogsWidgets(other).flatMap((w) => w.metrics.map((m) => m.dimensions));
    expect(dimensions).toHaveLength(10);
    expect(new Set(dimensions.flatMap((d) => Object.values(d)))).toEqual(new Set(['/beta/audit', 'beta-stream', 'beta-filter', 'Firehose']));
    expect(dimensions.filter((d) => d.FilterName !== undefined)).toEqual([
      { LogGroupName: '/beta/audit', DestinationType: 'Firehose', FilterName: 'beta-filter' },
      { LogGroupName: '/beta/audit', DestinationType: 'Firehose', FilterName: 'beta-filter' },
    ]);
    expect(JSON.stringify(sessionLogsWidgets(other))).not.toMatch(/acme/);
  });

  it('labels every metric, and every widget says what it answers (the README lists them)', () => {
    const widgets = sessionLogsWidgets(PROPS);
    for (const w of widgets) {
      expect(w.answers.length).toBeGreaterThan(20);
      for (const m of w.metrics) expect(m.label).toMatch(/\w/);
    }
    expect(new Set(widgets.map((w) => w.answers)).size).toBe(widgets.length);
  });
});
