/** @lane synth */
import { onlyResource, resourceAt, resourcesOf } from '../../support/synth';
import { contextRefs, parseJsonencode, ref, sessionStack } from '../../stacks/session-logs.helpers';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:oncall';
const alarm = (s: any, id: string) => resourceAt(s, 'aws_cloudwatch_metric_alarm', `alarms/${id}`);

describe('session delivery alarms', () => {
  // The topic itself is the shared AlarmTopic module; these tests check this stack wires it.
  const s = sessionStack();

  it('Firehose data freshness above 2 × the buffering interval', () => {
    expect(alarm(s, 'firehose-freshness')).toEqual(expect.objectContaining({
      namespace: 'AWS/Firehose', metric_name: 'DeliveryToS3.DataFreshness',
      dimensions: { DeliveryStreamName: 'logrescue-dev-session-logs' },
      statistic: 'Maximum', comparison_operator: 'GreaterThanThreshold', threshold: 1800,
      period: 300, evaluation_periods: 1, treat_missing_data: 'notBreaching',
    }));
    const short = sessionStack({ firehose: { bufferingIntervalSeconds: 60 } });
    expect(alarm(short, 'firehose-freshness').threshold).toBe(300);
    expect(alarm(sessionStack({ firehose: { freshnessAlarmSeconds: 7200 } }), 'firehose-freshness').threshold).toBe(7200);
  });

  it('Firehose S3 delivery success below 1 for three periods', () => {
    expect(alarm(s, 'firehose-delivery-failures')).toEqual(expect.objectContaining({
      namespace: 'AWS/Firehose', metric_name: 'DeliveryToS3.Success',
      dimensions: { DeliveryStreamName: 'logrescue-dev-session-logs' },
      statistic: 'Average', comparison_operator: 'LessThanThreshold', threshold: 1,
      evaluation_periods: 3, datapoints_to_alarm: 3, treat_missing_data: 'notBreaching',
    }));
  });

  it('CloudWatch Logs subscription delivery errors for this group, filter and Firehose', () => {
    expect(alarm(s, 'subscription-delivery-errors')).toEqual(expect.objectContaining({
      namespace: 'AWS/Logs', metric_name: 'DeliveryErrors',
      dimensions: { LogGroupName: '/aws/ssm/session-logs', DestinationType: 'Firehose', FilterName: 'logrescue-dev-sessions-to-firehose' },
      statistic: 'Sum', comparison_operator: 'GreaterThanThreshold', threshold: 0, treat_missing_data: 'notBreaching',
    }));
  });

  it('without a topic: alarms without actions', () => {
    for (const a of Object.values(resourcesOf(s, 'aws_cloudwatch_metric_alarm')) as any[]) expect(a.alarm_actions ?? []).toEqual([]);
    expect(resourcesOf(s, 'aws_sns_topic')).toEqual({});
  });

  it('an existing topic receives alarm and OK notifications', () => {
    const t = sessionStack({ alarms: { snsTopicArn: TOPIC } });
    for (const a of Object.values(resourcesOf(t, 'aws_cloudwatch_metric_alarm')) as any[]) {
      expect(a).toMatchObject({ alarm_actions: [TOPIC], ok_actions: [TOPIC] });
    }
    expect(resourcesOf(t, 'aws_sns_topic')).toEqual({});
  });

  it('createTopic: a topic only CloudWatch alarms of this account may publish to, with the e-mail subscribed', () => {
    const t = sessionStack({ alarms: { createTopic: true, email: 'oncall@example.com' } });
    const topicArn = ref(t, 'aws_sns_topic', 'alarm-topic/topic', 'arn');
    expect(onlyResource(t, 'aws_sns_topic').name).toBe('logrescue-dev-session-logs-alarms');
    const { account, partition } = contextRefs(t);
    const policy = onlyResource(t, 'aws_sns_topic_policy');
    expect(policy.arn).toBe(topicArn);
    expect(parseJsonencode(policy.policy).Statement).toEqual([{
      Sid: 'CloudWatchAlarmsOfThisAccount', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish', Resource: topicArn,
      Condition: {
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:us-east-1:${account}:alarm:*` },
      },
    }]);
    expect(onlyResource(t, 'aws_sns_topic_subscription')).toMatchObject({ topic_arn: topicArn, protocol: 'email', endpoint: 'oncall@example.com' });
    for (const a of Object.values(resourcesOf(t, 'aws_cloudwatch_metric_alarm')) as any[]) expect(a).toMatchObject({ alarm_actions: [topicArn], ok_actions: [topicArn] });
    expect(t.output!.alarm_topic_arn.value).toBe(topicArn);
  });
});
