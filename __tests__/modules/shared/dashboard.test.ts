/**
 * The dashboards (modules/shared/dashboard.ts with the widgets of modules/log-rescue/dashboard.ts
 * and modules/session-logs/dashboard.ts): one per stack, on by default, named in the outputs; every
 * metric on them is one the handler really emits (read back from the records its metrics code
 * writes) or an AWS metric of a resource in the same stack, with the dimensions AWS gives it.
 * @lane synth
 */
import { createMetrics } from '../../../handlers/log-rescue/metrics';
import { EMITTED_DIMENSIONS, METRIC, METRIC_NAMESPACE } from '../../../handlers/log-rescue/contract';
import { logRescueWidgets } from '../../../modules/log-rescue/dashboard';
import { sessionLogsWidgets } from '../../../modules/session-logs/dashboard';
import { StackJson, synthStacks, testConfig } from '../../support/synth';
import { decodeJsonExpression, isExpr } from '../../../scripts/hcl-expr';

/**
 * AWS metrics the dashboards may use: the dimension set AWS publishes each with, and the resource
 * type and attribute its dimension value names. Sources: SQS Developer Guide, "Available CloudWatch
 * metrics for Amazon SQS" (QueueName); Lambda Developer Guide, "Types of metrics for Lambda
 * functions" (FunctionName); CloudWatch Logs User Guide, "Monitoring with CloudWatch metrics"
 * (LogGroupName; DestinationType and FilterName for subscription delivery); Amazon Data Firehose
 * Developer Guide, "Monitoring with CloudWatch metrics" (DeliveryStreamName).
 */
const AWS_METRICS: Record<string, { names: string[]; dimensions: Record<string, [string, string] | string> }> = {
  'AWS/SQS': { names: ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage'], dimensions: { QueueName: ['aws_sqs_queue', 'name'] } },
  'AWS/Lambda': { names: ['Errors', 'Throttles'], dimensions: { FunctionName: ['aws_lambda_function', 'function_name'] } },
  'AWS/Logs': {
    names: ['IncomingLogEvents', 'IncomingBytes', 'DeliveryErrors', 'DeliveryThrottling'],
    dimensions: { LogGroupName: ['aws_cloudwatch_log_group', 'name'], DestinationType: 'Firehose', FilterName: ['aws_cloudwatch_log_subscription_filter', 'name'] },
  },
  'AWS/Firehose': {
    names: ['IncomingRecords', 'IncomingBytes', 'DeliveryToS3.Records', 'DeliveryToS3.Bytes', 'DeliveryToS3.Success', 'DeliveryToS3.DataFreshness'],
    dimensions: { DeliveryStreamName: ['aws_kinesis_firehose_delivery_stream', 'name'] },
  },
};
const LOGS_BY_GROUP = ['IncomingLogEvents', 'IncomingBytes'];

/** What the handler's metrics code writes: metric name -> its dimension sets, each sorted. */
function emitted(): Record<string, string[][]> {
  const records: any[] = [];
  const m = createMetrics({ log: (r) => records.push(r), now: () => 0, namespace: METRIC_NAMESPACE, stack: 's' });
  m.rescued(); m.notRescued('offline'); m.commandSent(); m.duration(3); m.hold(20); m.eventFailing('error');
  const out: Record<string, string[][]> = {};
  for (const r of records) {
    for (const d of r._aws.CloudWatchMetrics) {
      expect(d.Namespace).toBe(METRIC_NAMESPACE);
      for (const metric of d.Metrics) out[metric.Name] = d.Dimensions.map((set: string[]) => [...set].sort());
    }
  }
  return out;
}

/** A resource of `type` in the stack whose `attr` is `value`, or whose reference `${type.name.attr}` it is. */
function resourceNamed(stack: StackJson, type: string, attr: string, v: unknown): boolean {
  const resources = Object.entries((stack.resource as any)?.[type] ?? {}) as [string, any][];
  const value = isExpr(v) ? `\${${v.$expr}}` : String(v);
  const ref = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/.exec(value);
  if (ref) return ref[1] === type && resources.some(([n]) => n === ref[2]) && (ref[3] === attr || ref[3] === 'name');
  return resources.some(([, r]) => r[attr] === value);
}

function widgetsOf(stack: StackJson): any[] {
  const boards = Object.values((stack.resource as any).aws_cloudwatch_dashboard ?? {}) as any[];
  expect(boards).toHaveLength(1);
  // As cdktf writes Fn.jsonencode: `${jsonencode({...})}`, references left as expressions.
  return (decodeJsonExpression(boards[0].dashboard_body) as any).widgets;
}

describe.each(['log-rescue', 'session-logs'])('the %s dashboard', (name) => {
  const stacks = synthStacks(testConfig());
  const stack = stacks[name];

  it('is on by default, named in the outputs, at its readable address', () => {
    const board = (stack.resource as any).aws_cloudwatch_dashboard.overview;
    expect(board.dashboard_name).toBe(`logrescue-dev-${name}`);
    expect((stack.output as any).dashboard_name.value).toBe('${aws_cloudwatch_dashboard.overview.dashboard_name}');
  });

  it('shows only metrics the handler emits or AWS publishes for a resource of this stack, with their dimensions', () => {
    const own = emitted();
    // The contract says what the metrics code emits, and the code emits that.
    expect(own).toEqual(Object.fromEntries(Object.entries(EMITTED_DIMENSIONS).map(([k, v]) => [k, v.map((s) => [...s].sort())])));
    const widgets = widgetsOf(stack);
    expect(widgets.length).toBeGreaterThanOrEqual(5);
    for (const w of widgets) {
      expect(w.properties.region).toBe('us-east-1');
      for (const entry of w.properties.metrics) {
        const where = `${w.properties.title}: ${JSON.stringify(entry)}`;
        const [namespace, metric, ...rest] = entry;
        const options = rest.pop();
        expect(typeof options.stat).toBe('string');
        const dims: Record<string, any> = {};
        for (let i = 0; i < rest.length; i += 2) dims[rest[i]] = rest[i + 1];
        if (namespace === METRIC_NAMESPACE) {
          expect({ where, known: Object.values(METRIC).includes(metric) }).toEqual({ where, known: true });
          expect({ where, set: own[metric].some((s) => JSON.stringify(s) === JSON.stringify(Object.keys(dims).sort())) }).toEqual({ where, set: true });
          expect(dims.Stack).toBe('logrescue-dev');
          continue;
        }
        const spec = AWS_METRICS[namespace];
        expect({ where, known: !!spec && spec.names.includes(metric) }).toEqual({ where, known: true });
        const expectedNames = namespace === 'AWS/Logs' && LOGS_BY_GROUP.includes(metric) ? ['LogGroupName'] : Object.keys(spec.dimensions);
        expect({ where, dims: Object.keys(dims).sort() }).toEqual({ where, dims: [...expectedNames].sort() });
        for (const [d, v] of Object.entries(dims)) {
          const target = spec.dimensions[d];
          if (typeof target === 'string') expect(v).toBe(target);
          else expect({ where, d, inStack: resourceNamed(stack, target[0], target[1], v) }).toEqual({ where, d, inStack: true });
        }
      }
    }
  });
});

it('is left out when turned off', () => {
  const stacks = synthStacks(testConfig({ logRescue: { dashboard: false }, sessionLogs: { dashboard: false } }));
  for (const s of Object.values(stacks)) {
    expect((s.resource as any).aws_cloudwatch_dashboard).toBeUndefined();
    expect((s.output as any)?.dashboard_name).toBeUndefined();
  }
});

it('every widget says what it answers (the README lists them)', () => {
  const widgets = [
    ...logRescueWidgets({ metricStack: 's', eventQueueName: 'q', deadLetterQueueName: 'd', functionName: 'f' }),
    ...sessionLogsWidgets({ logGroupName: 'g', streamName: 's', subscriptionFilterName: 'f' }),
  ];
  for (const w of widgets) expect(w.answers.length).toBeGreaterThan(20);
});
