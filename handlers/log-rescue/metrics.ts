/**
 * CloudWatch Embedded Metric Format records, one metric per record, written through the handler's
 * `log`. CloudWatch Logs turns them into metrics; no PutMetricData call and no extra permission.
 */
import { DIMENSION, EVENT_FAILING_REASON, METRIC } from './contract';

export interface Metrics {
  rescued(): void;
  notRescued(reason: string): void;
  commandSent(): void;
  duration(seconds: number): void;
  /** An event failed again on its EVENTS_FAILING_FROM_RECEIVE-th or later receive: throttled to the deadline, or an error. */
  eventFailing(reason: keyof typeof EVENT_FAILING_REASON): void;
}

export function createMetrics(deps: { log: (record: object) => void; now: () => number; namespace: string; stack: string }): Metrics {
  const emit = (name: string, unit: 'Count' | 'Seconds', value: number, dimensions: string[][], values: Record<string, string>) =>
    deps.log({
      _aws: {
        Timestamp: deps.now(),
        CloudWatchMetrics: [{ Namespace: deps.namespace, Dimensions: dimensions, Metrics: [{ Name: name, Unit: unit }] }],
      },
      ...values,
      [name]: value,
    });
  const stack = { [DIMENSION.stack]: deps.stack };
  return {
    rescued: () => emit(METRIC.rescued, 'Count', 1, [[DIMENSION.stack]], stack),
    // Per stack for the alarm, per stack and reason for the dashboard.
    notRescued: (reason) => emit(METRIC.notRescued, 'Count', 1, [[DIMENSION.stack], [DIMENSION.stack, DIMENSION.reason]], { ...stack, [DIMENSION.reason]: reason }),
    commandSent: () => emit(METRIC.commandSent, 'Count', 1, [[DIMENSION.stack]], stack),
    duration: (seconds) => emit(METRIC.duration, 'Seconds', seconds, [[DIMENSION.stack]], stack),
    // Per stack and reason only: the alarm watches errors, a storm over the rate shows as `throttled`.
    eventFailing: (reason) => emit(METRIC.eventFailing, 'Count', 1, [[DIMENSION.stack, DIMENSION.reason]], { ...stack, [DIMENSION.reason]: reason }),
  };
}
