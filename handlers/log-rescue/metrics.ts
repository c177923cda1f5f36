/**
 * CloudWatch Embedded Metric Format records, one metric per record, built by Powertools for AWS
 * Lambda (`@aws-lambda-powertools/metrics`) and written through the handler's `log`. CloudWatch
 * Logs turns them into metrics; no PutMetricData call and no extra permission. Names, namespace
 * and dimensions are the contract's (contract.ts), which the alarms watch.
 *
 * Powertools serialises the record (`serializeMetrics`), and the handler writes it: `log` is
 * injected (a test or the simulation reads the records; Lambda's entry writes them to stdout as
 * bare JSON lines), and so is the clock, so the record's timestamp is the handler's `now`, set on
 * the serialised record (Powertools's `setTimestamp` would check it against the wall clock, which a
 * simulation on a virtual clock is not on). Powertools's own `service` dimension is cleared: every
 * metric has exactly the contract's dimensions.
 */
import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DIMENSION, EVENT_FAILING_REASON, METRIC } from './contract';

export interface Metrics {
  rescued(): void;
  notRescued(reason: string): void;
  commandSent(): void;
  duration(seconds: number): void;
  /** A lifecycle rescue's hold time, lifecycle event to release. */
  hold(seconds: number): void;
  /** An event failed again on its EVENTS_FAILING_FROM_RECEIVE-th or later receive: throttled to the deadline, or an error. */
  eventFailing(reason: keyof typeof EVENT_FAILING_REASON): void;
}

type Unit = typeof MetricUnit.Count | typeof MetricUnit.Seconds;

export function createMetrics(deps: { log: (record: object) => void; now: () => number; namespace: string; stack: string }): Metrics {
  const emf = new PowertoolsMetrics({ namespace: deps.namespace });
  emf.clearDefaultDimensions();
  emf.setDefaultDimensions({ [DIMENSION.stack]: deps.stack });
  /**
   * One record: the metric, with one dimension set per entry of `sets` (each on top of `Stack`;
   * `{}` is `Stack` alone). Nothing stays stored between records.
   */
  const emit = (name: string, unit: Unit, value: number, sets: Array<Record<string, string>> = []) => {
    try {
      emf.addMetric(name, unit, value);
      for (const set of sets) emf.addDimensions(set);
      const record = emf.serializeMetrics();
      record._aws.Timestamp = deps.now();
      deps.log(record);
    } finally {
      emf.clearMetrics();
      emf.clearDimensions();
    }
  };
  return {
    rescued: () => emit(METRIC.rescued, MetricUnit.Count, 1),
    // Per stack for the alarm, per stack and reason for the dashboard.
    notRescued: (reason) => emit(METRIC.notRescued, MetricUnit.Count, 1, [{}, { [DIMENSION.reason]: reason }]),
    commandSent: () => emit(METRIC.commandSent, MetricUnit.Count, 1),
    duration: (seconds) => emit(METRIC.duration, MetricUnit.Seconds, seconds),
    hold: (seconds) => emit(METRIC.hold, MetricUnit.Seconds, seconds),
    // Per stack and reason only: the alarm watches errors, a storm over the rate shows as `throttled`.
    eventFailing: (reason) => emit(METRIC.eventFailing, MetricUnit.Count, 1, [{ [DIMENSION.reason]: reason }]),
  };
}
