/**
 * Proves the handler's metrics (handlers/log-rescue/metrics.ts): each method writes exactly one
 * CloudWatch Embedded Metric Format record through `log`, with the metric's name, unit and value,
 * the namespace and `Stack` it was made with, the `Reason` dimension where the alarms and
 * dashboards look for it, Powertools's own `service` dimension left out, and the handler's clock as
 * its timestamp; nothing of one record is carried into the next.
 * @lane unit
 */
import { createMetrics, type Metrics } from '../../../handlers/log-rescue/metrics';

const T = Date.parse('2026-11-20T22:31:12Z');

function capture(namespace = 'Platform/LogRescue', stack = 'web-stack') {
  const records: any[] = [];
  const clock = { ms: T };
  const metrics = createMetrics({ log: (r) => records.push(JSON.parse(JSON.stringify(r))), now: () => clock.ms, namespace, stack });
  return { metrics, records, clock };
}

/** The record CloudWatch needs for one metric, written out in full. */
function record(name: string, unit: 'Count' | 'Seconds', value: number, dimensions: string[][], reason?: string) {
  return {
    _aws: { Timestamp: T, CloudWatchMetrics: [{ Namespace: 'Platform/LogRescue', Dimensions: dimensions, Metrics: [{ Name: name, Unit: unit }] }] },
    Stack: 'web-stack',
    ...(reason === undefined ? {} : { Reason: reason }),
    [name]: value,
  };
}

test.each<[string, (m: Metrics) => void, object]>([
  ['rescued', (m) => m.rescued(), record('Rescued', 'Count', 1, [['Stack']])],
  // Per stack for the alarm, per stack and reason for the dashboard.
  ['notRescued', (m) => m.notRescued('offline'), record('NotRescued', 'Count', 1, [['Stack'], ['Stack', 'Reason']], 'offline')],
  ['commandSent', (m) => m.commandSent(), record('CommandSent', 'Count', 1, [['Stack']])],
  ['duration', (m) => m.duration(69.88), record('RescueDurationSeconds', 'Seconds', 69.88, [['Stack']])],
  ['hold', (m) => m.hold(72), record('HoldSeconds', 'Seconds', 72, [['Stack']])],
  // Per stack and reason only.
  ['eventFailing', (m) => m.eventFailing('throttled'), record('EventsFailing', 'Count', 1, [['Stack', 'Reason']], 'throttled')],
])('%s: one EMF record, exactly', (_method, emit, expected) => {
  const c = capture();
  emit(c.metrics);
  expect(c.records).toEqual([expected]);
});

test('nothing carries over: a reason, a value or a dimension set of one record is not in the next', () => {
  const c = capture();
  c.metrics.notRescued('send-failed');
  c.metrics.rescued();
  c.metrics.eventFailing('error');
  c.metrics.duration(12.5);
  c.metrics.duration(3);
  expect(c.records).toEqual([
    record('NotRescued', 'Count', 1, [['Stack'], ['Stack', 'Reason']], 'send-failed'),
    record('Rescued', 'Count', 1, [['Stack']]),
    record('EventsFailing', 'Count', 1, [['Stack', 'Reason']], 'error'),
    record('RescueDurationSeconds', 'Seconds', 12.5, [['Stack']]),
    record('RescueDurationSeconds', 'Seconds', 3, [['Stack']]),
  ]);
});

test('the timestamp is the handler\'s clock when the metric is emitted, not the wall clock', () => {
  const c = capture();
  c.metrics.commandSent();
  c.clock.ms = Date.parse('2030-01-01T00:00:00Z');
  c.metrics.commandSent();
  expect(c.records.map((r) => r._aws.Timestamp)).toEqual([T, Date.parse('2030-01-01T00:00:00Z')]);
});

test('the namespace and stack are the ones it was made with', () => {
  const c = capture('LogRescue', 'logrescue-prod-log-rescue');
  c.metrics.rescued();
  expect(c.records[0]._aws.CloudWatchMetrics[0].Namespace).toBe('LogRescue');
  expect(c.records[0].Stack).toBe('logrescue-prod-log-rescue');
});
