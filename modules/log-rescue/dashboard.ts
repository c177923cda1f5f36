import { DIMENSION, EVENT_FAILING_REASON, METRIC, METRIC_NAMESPACE } from '../../handlers/log-rescue/contract';
import { TERMINAL_COMMAND_STATUSES } from '../../config/patterns';
import { DashboardWidget } from '../shared/dashboard';

/**
 * Every `Reason` of NotRescued the handler gives (handlers/log-rescue/decisions.ts: the fixed ones,
 * and `command-<status>` for a command that ended other than Success). Listed rather than found by
 * a SEARCH expression: cdktf 0.21 writes a string's double quotes unescaped into jsonencode, and a
 * SEARCH needs them.
 */
export const NOT_RESCUED_REASONS: readonly string[] = [
  'not-managed', 'offline', 'unsupported-platform', 'send-failed', 'nothing-collected',
  ...TERMINAL_COMMAND_STATUSES.filter((s) => s !== 'Success').map((s) => `command-${s.toLowerCase()}`),
];

export interface LogRescueDashboardProps {
  /** Value of the handler's `Stack` dimension. */
  readonly metricStack: string;
  readonly eventQueueName: string;
  readonly deadLetterQueueName: string;
  readonly functionName: string;
}

/**
 * What an operator of log rescue watches: the handler's own metrics (handlers/log-rescue/contract.ts,
 * the names and dimension sets it emits) and the AWS metrics of this stack's queues and function
 * (AWS/SQS: QueueName, "Available CloudWatch metrics for Amazon SQS"; AWS/Lambda: FunctionName,
 * "Types of metrics for Lambda functions").
 */
export function logRescueWidgets(p: LogRescueDashboardProps): DashboardWidget[] {
  const stack = { [DIMENSION.stack]: p.metricStack };
  const own = (name: string, stat: string, label: string, extra: Record<string, string> = {}) =>
    ({ namespace: METRIC_NAMESPACE, name, dimensions: { ...stack, ...extra }, stat, label });
  const queue = (queueName: string, name: string, stat: string, label: string, rightAxis = false) =>
    ({ namespace: 'AWS/SQS', name, dimensions: { QueueName: queueName }, stat, label, ...(rightAxis ? { rightAxis } : {}) });
  const fn = (name: string, label: string) => ({ namespace: 'AWS/Lambda', name, dimensions: { FunctionName: p.functionName }, stat: 'Sum', label });
  return [
    {
      title: 'Rescued vs not rescued, by reason',
      answers: 'Are instances leaving with their logs? Each not-rescued line is a reason (offline, not-managed, nothing-collected, command-failed, ...).',
      metrics: [
        own(METRIC.rescued, 'Sum', 'rescued'),
        own(METRIC.notRescued, 'Sum', 'not rescued'),
        ...NOT_RESCUED_REASONS.map((r) => own(METRIC.notRescued, 'Sum', `not rescued: ${r}`, { [DIMENSION.reason]: r })),
      ],
    },
    {
      title: 'Hold time (s): lifecycle event to release',
      answers: 'How long the lifecycle hook holds an instance for its rescue, median and slowest 1 %, and how much of it the rescue command itself runs.',
      metrics: [own(METRIC.hold, 'p50', 'hold p50'), own(METRIC.hold, 'p99', 'hold p99'), own(METRIC.duration, 'p50', 'command run p50')],
    },
    {
      title: 'Commands sent',
      answers: 'How many SendCommand calls the handler made (one covers up to 50 instances of a group).',
      metrics: [own(METRIC.commandSent, 'Sum', 'commands sent')],
    },
    {
      title: 'Event queue: depth and age of the oldest event',
      answers: 'Is the handler keeping up? A growing age means instances wait on their hook for the handler.',
      metrics: [
        queue(p.eventQueueName, 'ApproximateNumberOfMessagesVisible', 'Maximum', 'events waiting'),
        queue(p.eventQueueName, 'ApproximateAgeOfOldestMessage', 'Maximum', 'oldest (s)', true),
      ],
    },
    {
      title: 'Dead letters',
      answers: 'Events the handler gave up on: anything above 0 needs a look (see Failure modes).',
      metrics: [queue(p.deadLetterQueueName, 'ApproximateNumberOfMessagesVisible', 'Maximum', 'dead letters')],
    },
    {
      title: 'Handler errors and throttling',
      answers: 'Is the handler failing (errors, events failing again and again) or held back (Lambda throttles, throttled to the deadline)?',
      metrics: [
        fn('Errors', 'errors'),
        fn('Throttles', 'Lambda throttles'),
        own(METRIC.eventFailing, 'Sum', 'events failing: error', { [DIMENSION.reason]: EVENT_FAILING_REASON.error }),
        own(METRIC.eventFailing, 'Sum', 'events failing: throttled', { [DIMENSION.reason]: EVENT_FAILING_REASON.throttled }),
      ],
    },
  ];
}
