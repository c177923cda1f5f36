/**
 * SessionAlarms on a bare stack: the three delivery alarms its flat props make, with and without
 * actions; then what the session-logs stack gives them from config (the freshness threshold it
 * derives, the names it passes, which topic the alarms notify). The topic itself, created or
 * existing, is AlarmTopic's (__tests__/modules/shared/alarm-topic.test.ts).
 * @lane synth
 */
import { onlyResource, resourceAt, resourcesOf, StackJson } from '../../support/stack-json';
import { bareStack, synthBare } from '../../support/bare-stack';
import { ref, sessionStack } from '../../stacks/session-logs.helpers';
import { SessionAlarms, SessionAlarmsProps } from '../../../modules/session-logs/alarms';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:oncall';
const ALARMS = ['firehose_delivery_failures', 'firehose_freshness', 'subscription_delivery_errors'];

const PROPS: SessionAlarmsProps = {
  streamName: 'acme-prod-session-logs',
  logGroupName: '/acme/sessions',
  subscriptionFilterName: 'acme-prod-sessions-to-firehose',
  freshnessThresholdSeconds: 1200,
  actions: [],
  namePrefix: 'acme-prod',
};

/** The alarms (construct id `alarms`) on a bare stack. */
function synth(over: Partial<SessionAlarmsProps> = {}): { s: StackJson; alarms: SessionAlarms } {
  const b = bareStack();
  const alarms = new SessionAlarms(b.stack, 'alarms', { ...PROPS, ...over });
  return { s: synthBare(b.stack), alarms };
}

/** The alarm at `aws_cloudwatch_metric_alarm.<name>` (bare-stack JSON has no construct paths; the module names its alarms). */
function alarmNamed(s: StackJson, name: string): any {
  const a = resourcesOf(s, 'aws_cloudwatch_metric_alarm')[name];
  if (a === undefined) throw new Error(`no aws_cloudwatch_metric_alarm.${name}; there are: ${Object.keys(resourcesOf(s, 'aws_cloudwatch_metric_alarm')).join(', ')}`);
  return a;
}

const allAlarms = (s: StackJson) => Object.values(resourcesOf(s, 'aws_cloudwatch_metric_alarm')) as any[];

describe('SessionAlarms', () => {
  const { s, alarms } = synth();

  it('makes three alarms at readable addresses, every one over 5-minute periods and quiet while no data comes', () => {
    expect(Object.keys(resourcesOf(s, 'aws_cloudwatch_metric_alarm')).sort()).toEqual(ALARMS);
    expect(alarms.alarms).toHaveLength(3);
    for (const a of allAlarms(s)) expect(a).toMatchObject({ period: 300, treat_missing_data: 'notBreaching' });
  });

  it('alarms when Firehose data freshness exceeds the threshold it is given', () => {
    const a = alarmNamed(s, 'firehose_freshness');
    expect(a).toEqual(expect.objectContaining({
      alarm_name: 'acme-prod-session-logs-firehose-freshness',
      namespace: 'AWS/Firehose', metric_name: 'DeliveryToS3.DataFreshness',
      dimensions: { DeliveryStreamName: 'acme-prod-session-logs' },
      statistic: 'Maximum', comparison_operator: 'GreaterThanThreshold', threshold: 1200,
      period: 300, evaluation_periods: 1, treat_missing_data: 'notBreaching',
    }));
    expect(a.alarm_description).toContain('acme-prod-session-logs longer than 1200s');
    expect(alarmNamed(synth({ freshnessThresholdSeconds: 7200 }).s, 'firehose_freshness').threshold).toBe(7200);
  });

  it('alarms when Firehose S3 delivery success stays below 1 for three periods', () => {
    expect(alarmNamed(s, 'firehose_delivery_failures')).toEqual(expect.objectContaining({
      alarm_name: 'acme-prod-session-logs-firehose-s3-failures',
      namespace: 'AWS/Firehose', metric_name: 'DeliveryToS3.Success',
      dimensions: { DeliveryStreamName: 'acme-prod-session-logs' },
      statistic: 'Average', comparison_operator: 'LessThanThreshold', threshold: 1,
      evaluation_periods: 3, datapoints_to_alarm: 3, treat_missing_data: 'notBreaching',
    }));
  });

  it('alarms on CloudWatch Logs subscription delivery errors for the group, filter and Firehose it is given', () => {
    expect(alarmNamed(s, 'subscription_delivery_errors')).toEqual(expect.objectContaining({
      alarm_name: 'acme-prod-session-logs-subscription-errors',
      namespace: 'AWS/Logs', metric_name: 'DeliveryErrors',
      dimensions: { LogGroupName: '/acme/sessions', DestinationType: 'Firehose', FilterName: 'acme-prod-sessions-to-firehose' },
      statistic: 'Sum', comparison_operator: 'GreaterThanThreshold', threshold: 0, treat_missing_data: 'notBreaching',
    }));
  });

  it('without actions: alarms that notify nobody, and no topic of its own', () => {
    for (const a of allAlarms(s)) {
      expect(a.alarm_actions ?? []).toEqual([]);
      expect(a.ok_actions ?? []).toEqual([]);
    }
    expect(resourcesOf(s, 'aws_sns_topic')).toEqual({});
  });

  it('with actions: every alarm sends alarm and OK notifications to them', () => {
    const t = synth({ actions: [TOPIC] }).s;
    expect(allAlarms(t)).toHaveLength(3);
    for (const a of allAlarms(t)) expect(a).toMatchObject({ alarm_actions: [TOPIC], ok_actions: [TOPIC] });
    expect(resourcesOf(t, 'aws_sns_topic')).toEqual({});
  });
});

describe('in the session-logs stack', () => {
  const alarm = (s: StackJson, id: string) => resourceAt(s, 'aws_cloudwatch_metric_alarm', `alarms/${id}`);
  // One stack per alarm topic mode, each with one of the three ways the freshness threshold is set.
  const created = sessionStack({ alarms: { createTopic: true, email: 'oncall@example.com' } });
  const existing = sessionStack({ alarms: { snsTopicArn: TOPIC }, firehose: { bufferingIntervalSeconds: 60 } });
  const none = sessionStack({ firehose: { freshnessAlarmSeconds: 7200 } });

  it('sets the freshness threshold to 2 × the buffering interval, at least 300 s, unless freshnessAlarmSeconds says otherwise', () => {
    expect(alarm(created, 'firehose-freshness').threshold).toBe(1800); // default interval 900 s
    expect(alarm(existing, 'firehose-freshness').threshold).toBe(300); // 2 × 60 s is below the floor
    expect(alarm(none, 'firehose-freshness').threshold).toBe(7200);
  });

  it('passes its Firehose stream, log group, subscription filter and name prefix', () => {
    expect(alarm(created, 'firehose-freshness')).toMatchObject({
      alarm_name: 'logrescue-dev-session-logs-firehose-freshness', dimensions: { DeliveryStreamName: 'logrescue-dev-session-logs' },
    });
    expect(alarm(created, 'firehose-delivery-failures').dimensions).toEqual({ DeliveryStreamName: 'logrescue-dev-session-logs' });
    expect(alarm(created, 'subscription-delivery-errors').dimensions).toEqual({
      LogGroupName: '/aws/ssm/session-logs', DestinationType: 'Firehose', FilterName: 'logrescue-dev-sessions-to-firehose',
    });
  });

  it('by default: alarms without actions, no topic, no topic output', () => {
    expect(allAlarms(none)).toHaveLength(3);
    for (const a of allAlarms(none)) expect(a.alarm_actions ?? []).toEqual([]);
    expect(resourcesOf(none, 'aws_sns_topic')).toEqual({});
    expect(none.output!.alarm_topic_arn).toBeUndefined();
  });

  it('alarms.snsTopicArn: every alarm sends alarm and OK notifications to that topic, and none is created', () => {
    expect(allAlarms(existing)).toHaveLength(3);
    for (const a of allAlarms(existing)) expect(a).toMatchObject({ alarm_actions: [TOPIC], ok_actions: [TOPIC] });
    expect(resourcesOf(existing, 'aws_sns_topic')).toEqual({});
    expect(existing.output!.alarm_topic_arn.value).toBe(TOPIC);
  });

  it('alarms.createTopic: a topic <project>-<environment>-session-logs-alarms, the e-mail subscribed, notified by every alarm and exported', () => {
    const topicArn = ref(created, 'aws_sns_topic', 'alarm-topic/topic', 'arn');
    expect(onlyResource(created, 'aws_sns_topic').name).toBe('logrescue-dev-session-logs-alarms');
    expect(onlyResource(created, 'aws_sns_topic_subscription')).toMatchObject({ topic_arn: topicArn, protocol: 'email', endpoint: 'oncall@example.com' });
    expect(allAlarms(created)).toHaveLength(3);
    for (const a of allAlarms(created)) expect(a).toMatchObject({ alarm_actions: [topicArn], ok_actions: [topicArn] });
    expect(created.output!.alarm_topic_arn.value).toBe(topicArn);
  });
});
