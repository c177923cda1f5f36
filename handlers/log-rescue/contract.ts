/**
 * The contract between the log-rescue infrastructure and its handler, written once and imported by
 * both sides: the function's environment (modules/log-rescue/function.ts builds it with
 * `handlerEnvironment`, settings.ts reads it), and the metrics the handler emits (metrics.ts) and
 * the alarms watch (modules/log-rescue/alarms.ts). Bundled into the handler, so it imports nothing.
 */

/** Environment variable per setting. */
export const ENV = {
  documentName: 'DOCUMENT_NAME',
  asgNames: 'ASG_NAMES',
  hookName: 'HOOK_NAME',
  onlineWaitSeconds: 'ONLINE_WAIT_SECONDS',
  executionTimeoutSeconds: 'EXECUTION_TIMEOUT_SECONDS',
  heartbeatTimeoutSeconds: 'HEARTBEAT_TIMEOUT_SECONDS',
  metricNamespace: 'METRIC_NAMESPACE',
  queueUrl: 'QUEUE_URL',
  stackId: 'STACK_ID',
} as const;

export type HandlerEnvironmentValues = { readonly [K in keyof typeof ENV]: string };

/** The function's `environment.variables`: every setting, by its variable name. */
export function handlerEnvironment(values: HandlerEnvironmentValues): Record<string, string> {
  return Object.fromEntries(Object.entries(ENV).map(([key, name]) => [name, values[key as keyof typeof ENV]]));
}

/** The CloudWatch namespace of the handler's metrics (EMF) and of the alarms on them. */
export const METRIC_NAMESPACE = 'LogRescue';

/** Metric names. */
export const METRIC = {
  rescued: 'Rescued',
  notRescued: 'NotRescued',
  commandSent: 'CommandSent',
  duration: 'RescueDurationSeconds',
  /** A lifecycle rescue's hold: from the lifecycle event to the status event that releases it. */
  hold: 'HoldSeconds',
  eventFailing: 'EventsFailing',
} as const;

/** Dimension names: every metric has `Stack`; `NotRescued` and `EventsFailing` also `Reason`. */
export const DIMENSION = { stack: 'Stack', reason: 'Reason' } as const;

/**
 * The dimension sets each metric is emitted with (metrics.ts; a test reads them back from the
 * records it writes), which the dashboards and alarms must use to find it: CloudWatch keeps a
 * metric per exact set of dimensions.
 */
export const EMITTED_DIMENSIONS: Readonly<Record<(typeof METRIC)[keyof typeof METRIC], readonly (readonly string[])[]>> = {
  [METRIC.rescued]: [[DIMENSION.stack]],
  [METRIC.notRescued]: [[DIMENSION.stack], [DIMENSION.stack, DIMENSION.reason]],
  [METRIC.commandSent]: [[DIMENSION.stack]],
  [METRIC.duration]: [[DIMENSION.stack]],
  [METRIC.hold]: [[DIMENSION.stack]],
  [METRIC.eventFailing]: [[DIMENSION.stack, DIMENSION.reason]],
};

/** `Reason` of `EventsFailing`: the alarm watches `error`; `throttled` is a storm over the rate. */
export const EVENT_FAILING_REASON = { error: 'error', throttled: 'throttled' } as const;
