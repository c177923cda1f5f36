/** The handler's settings, from the Lambda environment the log-rescue stack writes. */
import { ASG_NAME_PATTERN, HOOK_NAME_PATTERN } from '../../config/patterns';
import { ENV, METRIC_NAMESPACE } from './contract';
import { EXECUTION_TIMEOUT_SECONDS, HEARTBEAT_TIMEOUT_SECONDS, ONLINE_WAIT_SECONDS } from './timing';

export interface HandlerSettings {
  /** The rescue SSM Command document. */
  readonly documentName: string;
  /** Groups this deployment protects; events for any other group are ignored. */
  readonly asgNames: readonly string[];
  /** The termination lifecycle hook this deployment created. */
  readonly hookName: string;
  /** How long to wait for the instance's SSM agent to be Online. */
  readonly onlineWaitSeconds: number;
  /**
   * The document's own execution timeout (baked into the document, not a command parameter): when the
   * status event that releases the instance is due at the latest. Logged with each command sent.
   */
  readonly executionTimeoutSeconds: number;
  /**
   * The lifecycle hook's heartbeat timeout. A command sent so late that its status could come after
   * the action expires first records a heartbeat, which restarts this timeout.
   */
  readonly heartbeatTimeoutSeconds: number;
  readonly metricNamespace: string;
  /** The event queue's URL: an event whose agent is not Online yet goes back to it, delayed, to be looked at again. */
  readonly queueUrl: string;
  /** Value of the `Stack` metric dimension. */
  readonly stackId: string;
}


/** Read and validate the settings; throws one error naming every missing or invalid variable. */
export function settingsFromEnv(env: Record<string, string | undefined>): HandlerSettings {
  const problems: string[] = [];
  const text = (name: string, pattern: RegExp, what: string, fallback?: string): string => {
    const v = env[name] ?? fallback;
    if (v === undefined || v === '') problems.push(`${name} is missing (${what})`);
    else if (!pattern.test(v)) problems.push(`${name} is not ${what}`);
    return v ?? '';
  };
  const int = (name: string, min: number, max: number): number => {
    const v = text(name, /^\d{1,6}$/, `an integer ${min}..${max}`);
    const n = Number(v);
    if (/^\d{1,6}$/.test(v) && (n < min || n > max)) problems.push(`${name} is not an integer ${min}..${max}`);
    return n;
  };

  const documentName = text(ENV.documentName, /^[A-Za-z0-9_.:/-]{3,256}$/, 'an SSM document name');
  const asgNamesRaw = text(ENV.asgNames, /^[^\n]{1,65536}$/, 'Auto Scaling group names joined by "," with no spaces around them');
  const asgPattern = new RegExp(ASG_NAME_PATTERN);
  const asgNames = asgNamesRaw === '' ? [] : asgNamesRaw.split(',');
  for (const n of asgNames) {
    if (!asgPattern.test(n)) problems.push(`${ENV.asgNames} has an entry that is not an Auto Scaling group name: "${n.slice(0, 255)}"`);
  }
  const hookName = text(ENV.hookName, new RegExp(HOOK_NAME_PATTERN), 'a lifecycle hook name');
  const onlineWaitSeconds = int(ENV.onlineWaitSeconds, ONLINE_WAIT_SECONDS.min, ONLINE_WAIT_SECONDS.max);
  const executionTimeoutSeconds = int(ENV.executionTimeoutSeconds, EXECUTION_TIMEOUT_SECONDS.min, EXECUTION_TIMEOUT_SECONDS.max);
  const heartbeatTimeoutSeconds = int(ENV.heartbeatTimeoutSeconds, HEARTBEAT_TIMEOUT_SECONDS.min, HEARTBEAT_TIMEOUT_SECONDS.max);
  const metricNamespace = text(ENV.metricNamespace, /^[A-Za-z0-9._/#:-]{1,255}$/, 'a CloudWatch namespace', METRIC_NAMESPACE);
  // The URL SQS gives a queue: https://sqs.<region>.amazonaws.com[.cn]/<account>/<name>.
  const queueUrl = text(ENV.queueUrl, /^https:\/\/sqs\.[a-z0-9-]{1,32}\.amazonaws\.com(\.cn)?\/[0-9]{12}\/[A-Za-z0-9_-]{1,80}$/, 'an SQS queue URL');
  const stackId = text(ENV.stackId, /^[^\n]{1,255}$/, 'a metric dimension value (1..255 characters)');

  if (problems.length > 0) throw new Error(`log-rescue handler settings: ${problems.join('; ')}`);
  return {
    documentName, asgNames, hookName, onlineWaitSeconds, executionTimeoutSeconds, heartbeatTimeoutSeconds, metricNamespace, queueUrl, stackId,
  };
}
