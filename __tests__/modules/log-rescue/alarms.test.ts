/**
 * RescueAlarms on a bare stack, given the names of a handler and two queues: five alarms, one per
 * way the rescue can go wrong (not rescued, events failing, dead letters, handler errors, an event
 * queue the handler falls behind on), named from the prefix, on the metrics and dimensions of what
 * it is given, notifying the actions it is given.
 * @lane unit
 */
import { resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { RescueAlarms, RescueAlarmsProps } from '../../../modules/log-rescue/alarms';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:oncall';

const PROPS: RescueAlarmsProps = {
  namePrefix: 'acme-prod',
  metricStack: 'acme-prod',
  handler: { functionName: 'acme-prod-log-rescue' },
  deadLetterQueue: { name: 'acme-prod-log-rescue-dlq' },
  eventQueue: { name: 'acme-prod-log-rescue-events' },
  actions: [],
};

/** The alarms (construct id `alarms`) on a bare stack. */
function synth(over: Partial<RescueAlarmsProps> = {}): { s: StackJson; alarms: RescueAlarms } {
  const b = bareStack('eu-west-1');
  const alarms = new RescueAlarms(b.stack, 'alarms', { ...PROPS, ...over });
  return { s: synthBare(b.stack), alarms };
}

const alarm = (s: StackJson, name: string) => at(s, 'aws_cloudwatch_metric_alarm', name);
const allAlarms = (s: StackJson) => Object.values(resourcesOf(s, 'aws_cloudwatch_metric_alarm')) as any[];

/** What every alarm shares: any datum above 0 in one 5-minute period, and quiet while no data comes. */
const COMMON = { comparison_operator: 'GreaterThanThreshold', threshold: 0, evaluation_periods: 1, period: 300, treat_missing_data: 'notBreaching' };

describe('RescueAlarms', () => {
  const { s, alarms } = synth();

  it('makes five alarms at readable addresses', () => {
    expect(Object.keys(resourcesOf(s, 'aws_cloudwatch_metric_alarm')).sort()).toEqual(['dead_letters', 'event_queue_age', 'events_failing', 'handler_errors', 'not_rescued']);
    expect(alarms.alarms).toHaveLength(5);
  });

  it('alarms on any instance not rescued, by the handler\'s metric of its stack', () => {
    expect(alarm(s, 'not_rescued')).toMatchObject({
      ...COMMON, alarm_name: 'acme-prod-log-rescue-not-rescued',
      namespace: 'LogRescue', metric_name: 'NotRescued', dimensions: { Stack: 'acme-prod' }, statistic: 'Sum',
    });
    expect(alarm(s, 'not_rescued').alarm_description).toMatch(/terminated without its logs in S3/);
  });

  it('alarms on an event failing with an error (not throttling) again and again', () => {
    expect(alarm(s, 'events_failing')).toMatchObject({
      ...COMMON, alarm_name: 'acme-prod-log-rescue-events-failing',
      namespace: 'LogRescue', metric_name: 'EventsFailing', dimensions: { Stack: 'acme-prod', Reason: 'error' }, statistic: 'Sum',
    });
  });

  it('alarms on any message in the dead-letter queue it is given', () => {
    expect(alarm(s, 'dead_letters')).toMatchObject({
      ...COMMON, alarm_name: 'acme-prod-log-rescue-dead-letters',
      namespace: 'AWS/SQS', metric_name: 'ApproximateNumberOfMessagesVisible', dimensions: { QueueName: 'acme-prod-log-rescue-dlq' }, statistic: 'Maximum',
    });
  });

  it('alarms on errors of the handler it is given', () => {
    expect(alarm(s, 'handler_errors')).toMatchObject({
      ...COMMON, alarm_name: 'acme-prod-log-rescue-handler-errors',
      namespace: 'AWS/Lambda', metric_name: 'Errors', dimensions: { FunctionName: 'acme-prod-log-rescue' }, statistic: 'Sum',
    });
  });

  it('alarms when an event has waited in the event queue over five minutes, checked every minute', () => {
    const behind = alarm(s, 'event_queue_age');
    expect(behind).toMatchObject({
      ...COMMON, alarm_name: 'acme-prod-log-rescue-event-queue-age',
      namespace: 'AWS/SQS', metric_name: 'ApproximateAgeOfOldestMessage', dimensions: { QueueName: 'acme-prod-log-rescue-events' }, statistic: 'Maximum',
      period: 60, threshold: 300,
    });
    expect(behind.alarm_description).toMatch(/falling behind: instances are held waiting .* for over 5 minutes/);
  });

  it('takes names, the metric stack, the handler and the queues from its props', () => {
    const o = synth({
      namePrefix: 'other-test', metricStack: 'other-stack', handler: { functionName: 'other-fn' },
      deadLetterQueue: { name: 'other-dlq' }, eventQueue: { name: 'other-events' },
    }).s;
    expect(allAlarms(o).map((a) => a.alarm_name).sort()).toEqual([
      'other-test-log-rescue-dead-letters', 'other-test-log-rescue-event-queue-age', 'other-test-log-rescue-events-failing',
      'other-test-log-rescue-handler-errors', 'other-test-log-rescue-not-rescued',
    ]);
    expect(alarm(o, 'not_rescued').dimensions).toEqual({ Stack: 'other-stack' });
    expect(alarm(o, 'events_failing').dimensions).toEqual({ Stack: 'other-stack', Reason: 'error' });
    expect(alarm(o, 'dead_letters').dimensions).toEqual({ QueueName: 'other-dlq' });
    expect(alarm(o, 'handler_errors').dimensions).toEqual({ FunctionName: 'other-fn' });
    expect(alarm(o, 'event_queue_age').dimensions).toEqual({ QueueName: 'other-events' });
  });

  it('notifies nobody without actions, and sends alarm and OK notifications to the actions it is given', () => {
    for (const a of allAlarms(s)) expect(a).toMatchObject({ alarm_actions: [], ok_actions: [] });
    const notified = synth({ actions: [TOPIC] }).s;
    expect(allAlarms(notified)).toHaveLength(5);
    for (const a of allAlarms(notified)) expect(a).toMatchObject({ alarm_actions: [TOPIC], ok_actions: [TOPIC] });
    expect(resourcesOf(notified, 'aws_sns_topic')).toEqual({});
  });
});
