/**
 * The dashboards (modules/shared/dashboard.ts with the widgets of modules/log-rescue/dashboard.ts
 * and modules/session-logs/dashboard.ts): one per stack, on by default, named in the outputs; every
 * metric on them is one the handler really emits (read back from the records its metrics code
 * writes) or an AWS metric of a resource in the same stack, with the dimensions AWS gives it; and
 * MetricDashboard on a bare stack: the body it lays out from the widgets it is given.
 * @lane synth
 */
import { createMetrics } from '../../../handlers/log-rescue/metrics';
import { EMITTED_DIMENSIONS, METRIC, METRIC_NAMESPACE } from '../../../handlers/log-rescue/contract';
import { logRescueWidgets } from '../../../modules/log-rescue/dashboard';
import { DashboardMetric, DashboardWidget, MetricDashboard } from '../../../modules/shared/dashboard';
import { bareStack, synthBare } from '../../support/bare-stack';
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

it('every log-rescue widget says what it answers (the README lists them; session-logs: __tests__/modules/session-logs/dashboard.test.ts)', () => {
  const widgets = logRescueWidgets({ metricStack: 's', eventQueueName: 'q', deadLetterQueueName: 'd', functionName: 'f' });
  for (const w of widgets) expect(w.answers.length).toBeGreaterThan(20);
});

describe('MetricDashboard on a bare stack', () => {
  const metric = (name: string, over: Partial<DashboardMetric> = {}): DashboardMetric =>
    ({ namespace: 'AWS/SQS', name, dimensions: { QueueName: 'acme-events' }, stat: 'Maximum', label: name.toLowerCase(), ...over });
  const WIDGETS: DashboardWidget[] = ['one', 'two', 'three'].map((title, i) => ({
    title, answers: `widget ${title}`, metrics: [metric(`M${i}`), ...(i === 0 ? [metric('Age', { stat: 'Average', rightAxis: true, dimensions: { QueueName: 'acme-events', Extra: 'x' } })] : [])],
  }));

  function synth(name: string, region: string, addressName: string): StackJson {
    const b = bareStack(region);
    new MetricDashboard(b.stack, 'dashboard', { name, region, widgets: WIDGETS, addressName });
    return synthBare(b.stack);
  }

  it('one dashboard of the given name at aws_cloudwatch_dashboard.<addressName>', () => {
    expect(Object.keys(synth('acme-prod-events', 'eu-west-1', 'overview').resource!.aws_cloudwatch_dashboard)).toEqual(['overview']);
    const other = synth('beta-events', 'eu-west-1', 'events').resource!.aws_cloudwatch_dashboard;
    expect(Object.keys(other)).toEqual(['events']);
    expect(other.events.dashboard_name).toBe('beta-events');
  });

  it('lays metric widgets out two to a row, 12 x 6 each, 5-minute periods, in the region given', () => {
    const body = (region: string) => (decodeJsonExpression(synth('d', region, 'overview').resource!.aws_cloudwatch_dashboard.overview.dashboard_body) as any).widgets;
    const widgets = body('eu-west-1');
    expect(widgets.map((w: any) => [w.type, w.x, w.y, w.width, w.height, w.properties.title])).toEqual([
      ['metric', 0, 0, 12, 6, 'one'], ['metric', 12, 0, 12, 6, 'two'], ['metric', 0, 6, 12, 6, 'three'],
    ]);
    for (const w of widgets) expect(w.properties).toMatchObject({ region: 'eu-west-1', period: 300, view: 'timeSeries' });
    expect(body('ap-south-1').map((w: any) => w.properties.region)).toEqual(['ap-south-1', 'ap-south-1', 'ap-south-1']);
  });

  it('writes each metric as [namespace, name, dimension, value, ..., { stat, label }], the right axis only where asked', () => {
    const body = synth('d', 'eu-west-1', 'overview').resource!.aws_cloudwatch_dashboard.overview.dashboard_body;
    expect((decodeJsonExpression(body) as any).widgets[0].properties.metrics).toEqual([
      ['AWS/SQS', 'M0', 'QueueName', 'acme-events', { stat: 'Maximum', label: 'm0' }],
      ['AWS/SQS', 'Age', 'QueueName', 'acme-events', 'Extra', 'x', { stat: 'Average', label: 'age', yAxis: 'right' }],
    ]);
    expect((decodeJsonExpression(body) as any).widgets[2].properties.metrics).toEqual([['AWS/SQS', 'M2', 'QueueName', 'acme-events', { stat: 'Maximum', label: 'm2' }]]);
  });
});
