/**
 * logRescueWidgets, the log rescue dashboard's widgets, from flat props: the handler's own metrics
 * of the given stack (every NotRescued reason the handler gives on a line of its own), the given
 * queues' and function's AWS metrics; and those widgets rendered into a dashboard on a bare stack.
 * (That every metric is one the handler or AWS really publishes: __tests__/modules/shared/dashboard.test.ts.)
 * @lane unit
 */
import { decodeJsonExpression } from '../../../scripts/hcl-expr';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { MetricDashboard } from '../../../modules/shared/dashboard';
import { LogRescueDashboardProps, logRescueWidgets, NOT_RESCUED_REASONS } from '../../../modules/log-rescue/dashboard';
import { notRescuedReasonOf } from '../../../handlers/log-rescue/decisions';
import { NOTHING_COLLECTED_EXIT_CODE, TERMINAL_COMMAND_STATUSES } from '../../../config/patterns';

const PROPS: LogRescueDashboardProps = {
  metricStack: 'acme-prod',
  eventQueueName: 'acme-prod-log-rescue-events',
  deadLetterQueueName: 'acme-prod-log-rescue-dlq',
  functionName: 'acme-prod-log-rescue',
};

/** Each widget's metrics as `namespace/name dimension=value,... stat label[ (right)]`, by title. */
function lines(p: LogRescueDashboardProps): Record<string, string[]> {
  return Object.fromEntries(logRescueWidgets(p).map((w) => [w.title, w.metrics.map((m) =>
    `${m.namespace}/${m.name} ${Object.entries(m.dimensions).map(([k, v]) => `${k}=${v}`).join(',')} ${m.stat} ${m.label}${m.rightAxis ? ' (right)' : ''}`)]));
}

describe('NOT_RESCUED_REASONS', () => {
  it('are the fixed reasons and command-<status> of every final status but Success', () => {
    expect(NOT_RESCUED_REASONS).toEqual([
      'not-managed', 'offline', 'unsupported-platform', 'send-failed', 'nothing-collected',
      'command-failed', 'command-timedout', 'command-cancelled', 'command-undeliverable', 'command-deliverytimedout',
      'command-executiontimedout', 'command-accessdenied', 'command-terminated',
    ]);
  });

  it('include every reason the handler gives for a finished command', () => {
    const given = TERMINAL_COMMAND_STATUSES.flatMap((status) => [notRescuedReasonOf(status), notRescuedReasonOf(status, [NOTHING_COLLECTED_EXIT_CODE])])
      .filter((r) => r !== undefined);
    expect(given.length).toBeGreaterThan(TERMINAL_COMMAND_STATUSES.length);
    for (const reason of given) expect(NOT_RESCUED_REASONS).toContain(reason);
  });
});

describe('logRescueWidgets', () => {
  it('shows the handler\'s metrics of its stack, the event and dead-letter queues\' and the function\'s, each widget saying what it answers', () => {
    const widgets = logRescueWidgets(PROPS);
    for (const w of widgets) expect(w.answers.length).toBeGreaterThan(20);
    expect(lines(PROPS)).toEqual({
      'Rescued vs not rescued, by reason': [
        'LogRescue/Rescued Stack=acme-prod Sum rescued',
        'LogRescue/NotRescued Stack=acme-prod Sum not rescued',
        ...NOT_RESCUED_REASONS.map((r) => `LogRescue/NotRescued Stack=acme-prod,Reason=${r} Sum not rescued: ${r}`),
      ],
      'Hold time (s): lifecycle event to release': [
        'LogRescue/HoldSeconds Stack=acme-prod p50 hold p50',
        'LogRescue/HoldSeconds Stack=acme-prod p99 hold p99',
        'LogRescue/RescueDurationSeconds Stack=acme-prod p50 command run p50',
      ],
      'Commands sent': ['LogRescue/CommandSent Stack=acme-prod Sum commands sent'],
      'Event queue: depth and age of the oldest event': [
        'AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=acme-prod-log-rescue-events Maximum events waiting',
        'AWS/SQS/ApproximateAgeOfOldestMessage QueueName=acme-prod-log-rescue-events Maximum oldest (s) (right)',
      ],
      'Dead letters': ['AWS/SQS/ApproximateNumberOfMessagesVisible QueueName=acme-prod-log-rescue-dlq Maximum dead letters'],
      'Handler errors and throttling': [
        'AWS/Lambda/Errors FunctionName=acme-prod-log-rescue Sum errors',
        'AWS/Lambda/Throttles FunctionName=acme-prod-log-rescue Sum Lambda throttles',
        'LogRescue/EventsFailing Stack=acme-prod,Reason=error Sum events failing: error',
        'LogRescue/EventsFailing Stack=acme-prod,Reason=throttled Sum events failing: throttled',
      ],
    });
  });

  it('takes the stack, queues and function from its props', () => {
    const all = Object.values(lines({ metricStack: 'other-stack', eventQueueName: 'other-events', deadLetterQueueName: 'other-dlq', functionName: 'other-fn' })).flat();
    expect(all.filter((l) => l.startsWith('LogRescue/')).every((l) => l.includes(' Stack=other-stack'))).toBe(true);
    expect(all.filter((l) => l.includes('QueueName=other-events'))).toHaveLength(2);
    expect(all.filter((l) => l.includes('QueueName=other-dlq'))).toHaveLength(1);
    expect(all.filter((l) => l.includes('FunctionName=other-fn'))).toHaveLength(2);
    expect(all.join('\n')).not.toMatch(/acme-prod/);
  });

  it('renders into a dashboard on a bare stack, two widgets a row, in its region', () => {
    const b = bareStack('eu-west-1');
    new MetricDashboard(b.stack, 'dashboard', { name: 'acme-prod-log-rescue', region: 'eu-west-1', addressName: 'overview', widgets: logRescueWidgets(PROPS) });
    const board = at(synthBare(b.stack), 'aws_cloudwatch_dashboard', 'overview');
    expect(board.dashboard_name).toBe('acme-prod-log-rescue');
    const widgets = (decodeJsonExpression(board.dashboard_body) as any).widgets;
    expect(widgets.map((w: any) => [w.x, w.y, w.properties.title, w.properties.region])).toEqual([
      [0, 0, 'Rescued vs not rescued, by reason', 'eu-west-1'], [12, 0, 'Hold time (s): lifecycle event to release', 'eu-west-1'],
      [0, 6, 'Commands sent', 'eu-west-1'], [12, 6, 'Event queue: depth and age of the oldest event', 'eu-west-1'],
      [0, 12, 'Dead letters', 'eu-west-1'], [12, 12, 'Handler errors and throttling', 'eu-west-1'],
    ]);
    expect(widgets[3].properties.metrics).toEqual([
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', 'acme-prod-log-rescue-events', { stat: 'Maximum', label: 'events waiting' }],
      ['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', 'acme-prod-log-rescue-events', { stat: 'Maximum', label: 'oldest (s)', yAxis: 'right' }],
    ]);
  });
});
