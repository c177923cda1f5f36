/**
 * The simulation's knobs: the deployment's own settings (taken from the project config, so the
 * simulation runs what `cdktf deploy` would deploy) and the behaviour of the AWS services around it.
 *
 * AWS does not publish the API rate limits of SendCommand, DescribeInstanceInformation or
 * CompleteLifecycleAction (they are per account and Region, and vary); the defaults below are
 * assumptions in the range reported by users who hit them, and every one is a flag.
 */
import { handlerTimeoutSeconds, rescueQueueMaxReceiveCount, rescueQueueVisibilitySeconds } from '../../handlers/log-rescue/timing';
import type { AppConfig } from '../../config/schema';

export interface SimulationOptions {
  /** Instances that enter Terminating:Wait in the storm. @default 100 */
  readonly instances: number;
  /** @default 1 */
  readonly seed: number;
  /** The instances enter Terminating:Wait spread uniformly over this many seconds. @default 5 */
  readonly spreadSeconds: number;
  /** Share whose SSM agent is offline (half ConnectionLost, half never registered). @default 0.05 */
  readonly offlineShare: number;

  /** Median time the document takes on the instance (collect + upload), lognormal. @default 4 */
  readonly uploadMedianSeconds: number;
  /** Shape (sigma of the underlying normal) of the upload time. @default 0.5 */
  readonly uploadSigma: number;
  /** Share of online instances whose command fails (exit non-zero). @default 0 */
  readonly commandFailureShare: number;
  /** Share of online instances whose command runs into the execution timeout. @default 0 */
  readonly commandTimeoutShare: number;
  /** Share of online instances whose script finds nothing to collect (exit 66, Failed). @default 0 */
  readonly nothingCollectedShare: number;
  /** Share of instances whose agent reports a platform other than Linux (Windows). @default 0 */
  readonly nonLinuxShare: number;

  /** SendCommand rate limit, requests per second (0: none). @default 20 */
  readonly sendCommandRate: number;
  /** @default 40 */
  readonly sendCommandBurst: number;
  /** DescribeInstanceInformation rate limit. @default 40 */
  readonly describeRate: number;
  /** @default 80 */
  readonly describeBurst: number;
  /** CompleteLifecycleAction rate limit, shared with RecordLifecycleActionHeartbeat. @default 20 */
  readonly completeRate: number;
  /** @default 40 */
  readonly completeBurst: number;
  /** Median round trip of one API call, lognormal (sigma 0.35). @default 50 */
  readonly apiLatencyMs: number;

  /** Median from SendCommand to the agent starting the document. @default 300 */
  readonly agentDeliveryMs: number;
  /** Median from the command ending on the instance to SSM's status event on the bus. @default 500 */
  readonly statusEventDelayMs: number;
  /** Median from entering Terminating:Wait to Auto Scaling's lifecycle event on the bus. @default 300 */
  readonly lifecycleEventDelayMs: number;
  /** From the lifecycle action's end (completed or expired) to the instance being terminated. @default 30 */
  readonly shutdownSeconds: number;

  /** EventBridge: fixed part of the rule-to-target latency. @default 100 */
  readonly eventBridgeLatencyMs: number;
  /** EventBridge: mean of the exponential jitter added to it (reorders close events). @default 150 */
  readonly eventBridgeJitterMs: number;
  /** Share of events delivered twice (at-least-once delivery). @default 0.01 */
  readonly duplicateShare: number;
  /** A duplicate arrives up to this much later than its first copy. @default 10000 */
  readonly duplicateDelayMaxMs: number;
  /** Share of EventBridge-to-queue delivery attempts that fail (retried per the target's retry policy). @default 0 */
  readonly deliveryFailureShare: number;
  /** Target retry policy. @default config logRescue.retry.maximumRetryAttempts (8) */
  readonly eventBridgeMaxRetries: number;
  /** @default config logRescue.retry.maximumEventAgeSeconds (3600) */
  readonly eventBridgeMaxEventAgeSeconds: number;

  /**
   * The event source mapping's maximum concurrency: the most invocations at once, the cap on the
   * consumer. @default config logRescue.handler.maximumConcurrency (30)
   */
  readonly maximumConcurrency: number;
  /**
   * The event source mapping's scaling (Lambda's documented behaviour for standard queues): it
   * starts with this many concurrent batches when messages become available. @default 5
   */
  readonly pollerStartBatches: number;
  /** ... and adds up to this many more per minute while messages are still waiting. @default 300 */
  readonly pollerScaleUpPerMinute: number;
  /** Time from a message becoming visible to the event source mapping's poller receiving it. @default 50 */
  readonly lambdaQueueDelayMs: number;
  /** Init duration of a new execution environment. @default 300 */
  readonly coldStartMs: number;
  /** Function timeout. @default config: handlerTimeoutSeconds(onlineWaitSeconds) (120) */
  readonly lambdaTimeoutSeconds: number;
  /** Most messages per invocation. @default config logRescue.handler.batchSize (50) */
  readonly batchSize: number;
  /** Longest the poller gathers a batch. @default config logRescue.handler.batchWindowSeconds (1) */
  readonly batchWindowSeconds: number;
  /** A received message not deleted is received again this long after. @default config: rescueQueueVisibilitySeconds (130) */
  readonly queueVisibilitySeconds: number;
  /** Receives before the queue moves a message to the dead-letter queue. @default config: rescueQueueMaxReceiveCount (8) */
  readonly maxReceiveCount: number;
  /**
   * Share of invocations that fail: every AWS call of the invocation times out at the connection
   * level (an endpoint brownout), so the handler's retries run out and it reports the batch's
   * events that needed AWS as failures. @default 0
   */
  readonly lambdaFailureShare: number;

  /** Handler settings, from config (the hook's heartbeat timeout is the handler's HEARTBEAT_TIMEOUT_SECONDS too). */
  readonly onlineWaitSeconds: number;
  readonly heartbeatTimeoutSeconds: number;
  readonly executionTimeoutSeconds: number;
  readonly asgName: string;
  readonly hookName: string;
  readonly documentName: string;
  readonly stackId: string;
  readonly prefix: string;
  readonly logGlobs: readonly string[];
  readonly includeJournal: boolean;
  /** Epoch ms the simulated clock starts at. @default 2026-11-20T22:30:00Z */
  readonly startMs: number;
}

/** The deployment's settings as the log-rescue stack derives them from config. */
export function deploymentOptions(config: AppConfig): Partial<SimulationOptions> {
  const c = config.logRescue;
  const prefix = `${config.project}-${config.environment}`;
  const firstGroup = c.autoScalingGroups.find((g): g is string => typeof g === 'string');
  return {
    ...(firstGroup ? { asgName: firstGroup } : {}),
    hookName: c.lifecycleHook.name,
    documentName: `${prefix}-rescue-logs`,
    stackId: prefix,
    prefix: c.prefix,
    logGlobs: c.command.logGlobs,
    includeJournal: c.command.includeJournal,
    heartbeatTimeoutSeconds: c.lifecycleHook.heartbeatTimeoutSeconds,
    executionTimeoutSeconds: c.command.executionTimeoutSeconds,
    onlineWaitSeconds: c.handler.onlineWaitSeconds,
    // The mapping's cap, not the reservation: the config keeps a reservation at least this high, and
    // the simulation does not model other functions taking the account's unreserved concurrency.
    maximumConcurrency: c.handler.maximumConcurrency,
    // As modules/log-rescue/function.ts and the event queue derive them.
    lambdaTimeoutSeconds: handlerTimeoutSeconds(c.handler.onlineWaitSeconds),
    batchSize: c.handler.batchSize,
    batchWindowSeconds: c.handler.batchWindowSeconds,
    queueVisibilitySeconds: rescueQueueVisibilitySeconds(c.handler.onlineWaitSeconds),
    maxReceiveCount: rescueQueueMaxReceiveCount(c.lifecycleHook.heartbeatTimeoutSeconds, c.handler.onlineWaitSeconds),
    eventBridgeMaxRetries: c.retry.maximumRetryAttempts,
    eventBridgeMaxEventAgeSeconds: c.retry.maximumEventAgeSeconds,
  };
}

/** Defaults equal to the schema defaults of config/schema.ts; a test pins them together. */
export const DEFAULT_OPTIONS: SimulationOptions = {
  instances: 100,
  seed: 1,
  spreadSeconds: 5,
  offlineShare: 0.05,
  uploadMedianSeconds: 4,
  uploadSigma: 0.5,
  commandFailureShare: 0,
  commandTimeoutShare: 0,
  nothingCollectedShare: 0,
  nonLinuxShare: 0,
  sendCommandRate: 20,
  sendCommandBurst: 40,
  describeRate: 40,
  describeBurst: 80,
  completeRate: 20,
  completeBurst: 40,
  apiLatencyMs: 50,
  agentDeliveryMs: 300,
  statusEventDelayMs: 500,
  lifecycleEventDelayMs: 300,
  shutdownSeconds: 30,
  eventBridgeLatencyMs: 100,
  eventBridgeJitterMs: 150,
  duplicateShare: 0.01,
  duplicateDelayMaxMs: 10_000,
  deliveryFailureShare: 0,
  eventBridgeMaxRetries: 8,
  eventBridgeMaxEventAgeSeconds: 3600,
  maximumConcurrency: 30,
  pollerStartBatches: 5,
  pollerScaleUpPerMinute: 300,
  lambdaQueueDelayMs: 50,
  coldStartMs: 300,
  lambdaTimeoutSeconds: 120,
  batchSize: 50,
  batchWindowSeconds: 1,
  queueVisibilitySeconds: 130,
  maxReceiveCount: 8,
  lambdaFailureShare: 0,
  onlineWaitSeconds: 20,
  heartbeatTimeoutSeconds: 900,
  executionTimeoutSeconds: 600,
  asgName: 'web-fleet',
  hookName: 'log-rescue',
  documentName: 'logrescue-dev-rescue-logs',
  stackId: 'logrescue-dev',
  prefix: 'instance-logs',
  logGlobs: ['/var/log/messages', '/var/log/cloud-init*.log', '/var/log/amazon/ssm/*'],
  includeJournal: true,
  startMs: Date.parse('2026-11-20T22:30:00Z'),
};

type Kind = 'int' | 'number' | 'share';
/** Command-line flags: `--kebab-name value`. */
export const FLAGS: Record<string, { key: keyof SimulationOptions; kind: Kind; min: number; max: number; help: string }> = {
  instances: { key: 'instances', kind: 'int', min: 1, max: 100_000, help: 'instances entering Terminating:Wait' },
  seed: { key: 'seed', kind: 'int', min: 0, max: 2 ** 32 - 1, help: 'PRNG seed' },
  spread: { key: 'spreadSeconds', kind: 'number', min: 0, max: 3600, help: 'seconds over which they enter' },
  offline: { key: 'offlineShare', kind: 'share', min: 0, max: 1, help: 'share with the SSM agent offline' },
  'upload-median': { key: 'uploadMedianSeconds', kind: 'number', min: 0.01, max: 7200, help: 'median upload seconds' },
  'upload-sigma': { key: 'uploadSigma', kind: 'number', min: 0, max: 5, help: 'lognormal shape of the upload time' },
  'command-failures': { key: 'commandFailureShare', kind: 'share', min: 0, max: 1, help: 'share of commands that fail' },
  'command-timeouts': { key: 'commandTimeoutShare', kind: 'share', min: 0, max: 1, help: 'share of commands that time out' },
  'nothing-collected': { key: 'nothingCollectedShare', kind: 'share', min: 0, max: 1, help: 'share of scripts that find nothing (exit 66)' },
  'non-linux': { key: 'nonLinuxShare', kind: 'share', min: 0, max: 1, help: 'share of instances on Windows' },
  'send-rate': { key: 'sendCommandRate', kind: 'number', min: 0, max: 100_000, help: 'SendCommand requests/s (0 = unthrottled)' },
  'send-burst': { key: 'sendCommandBurst', kind: 'int', min: 1, max: 100_000, help: 'SendCommand bucket size' },
  'describe-rate': { key: 'describeRate', kind: 'number', min: 0, max: 100_000, help: 'DescribeInstanceInformation requests/s' },
  'describe-burst': { key: 'describeBurst', kind: 'int', min: 1, max: 100_000, help: 'DescribeInstanceInformation bucket size' },
  'complete-rate': { key: 'completeRate', kind: 'number', min: 0, max: 100_000, help: 'CompleteLifecycleAction + RecordLifecycleActionHeartbeat requests/s' },
  'complete-burst': { key: 'completeBurst', kind: 'int', min: 1, max: 100_000, help: 'CompleteLifecycleAction bucket size' },
  'api-latency-ms': { key: 'apiLatencyMs', kind: 'number', min: 0, max: 60_000, help: 'median API round trip' },
  'agent-delivery-ms': { key: 'agentDeliveryMs', kind: 'number', min: 0, max: 60_000, help: 'median SendCommand-to-agent time' },
  'status-event-ms': { key: 'statusEventDelayMs', kind: 'number', min: 0, max: 600_000, help: 'median command end to status event' },
  'lifecycle-event-ms': { key: 'lifecycleEventDelayMs', kind: 'number', min: 0, max: 600_000, help: 'median Terminating:Wait to lifecycle event' },
  shutdown: { key: 'shutdownSeconds', kind: 'number', min: 0, max: 3600, help: 'seconds from release to termination' },
  'eb-latency-ms': { key: 'eventBridgeLatencyMs', kind: 'number', min: 0, max: 600_000, help: 'EventBridge fixed latency' },
  'eb-jitter-ms': { key: 'eventBridgeJitterMs', kind: 'number', min: 0, max: 600_000, help: 'EventBridge mean jitter (reordering)' },
  duplicates: { key: 'duplicateShare', kind: 'share', min: 0, max: 1, help: 'share of events delivered twice' },
  'duplicate-delay-ms': { key: 'duplicateDelayMaxMs', kind: 'number', min: 0, max: 3_600_000, help: 'max extra delay of a duplicate' },
  'delivery-failures': { key: 'deliveryFailureShare', kind: 'share', min: 0, max: 1, help: 'share of EventBridge delivery attempts that fail' },
  'eb-max-retries': { key: 'eventBridgeMaxRetries', kind: 'int', min: 0, max: 185, help: 'EventBridge target retries' },
  'eb-max-age': { key: 'eventBridgeMaxEventAgeSeconds', kind: 'int', min: 60, max: 86_400, help: 'EventBridge max event age' },
  concurrency: { key: 'maximumConcurrency', kind: 'int', min: 1, max: 10_000, help: 'event source mapping maximum concurrency' },
  'poller-start': { key: 'pollerStartBatches', kind: 'int', min: 1, max: 1000, help: 'concurrent batches the event source mapping starts with' },
  'poller-scale-per-min': { key: 'pollerScaleUpPerMinute', kind: 'number', min: 1, max: 100_000, help: 'batches it adds per minute while messages wait' },
  'cold-start-ms': { key: 'coldStartMs', kind: 'number', min: 0, max: 60_000, help: 'Lambda init duration' },
  'lambda-timeout': { key: 'lambdaTimeoutSeconds', kind: 'int', min: 1, max: 900, help: 'Lambda timeout seconds' },
  'batch-size': { key: 'batchSize', kind: 'int', min: 1, max: 50, help: 'messages per invocation' },
  'batch-window': { key: 'batchWindowSeconds', kind: 'number', min: 0, max: 300, help: 'seconds the poller gathers a batch' },
  visibility: { key: 'queueVisibilitySeconds', kind: 'int', min: 0, max: 43_200, help: 'queue visibility timeout seconds' },
  'max-receives': { key: 'maxReceiveCount', kind: 'int', min: 1, max: 1000, help: 'receives before the dead-letter queue' },
  'lambda-failures': { key: 'lambdaFailureShare', kind: 'share', min: 0, max: 1, help: 'share of invocations that fail' },
  'online-wait': { key: 'onlineWaitSeconds', kind: 'int', min: 0, max: 60, help: 'handler online wait seconds' },
  heartbeat: { key: 'heartbeatTimeoutSeconds', kind: 'int', min: 30, max: 7200, help: 'lifecycle hook heartbeat timeout' },
  'execution-timeout': { key: 'executionTimeoutSeconds', kind: 'int', min: 30, max: 7200, help: 'document execution timeout' },
};

export interface CliArgs {
  options: Partial<SimulationOptions>;
  verbose: boolean;
  check: boolean;
  help: boolean;
}

/** Parse `--name value` / `--name=value`; a share takes 0.05 or 5%. Throws with every problem at once. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { options: {}, verbose: false, check: true, help: false };
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--verbose' || arg === '-v') { out.verbose = true; continue; }
    if (arg === '--no-check') { out.check = false; continue; }
    if (arg === '--help' || arg === '-h') { out.help = true; continue; }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const flag = m ? FLAGS[m[1]] : undefined;
    if (!m || !flag) { problems.push(`unknown argument ${JSON.stringify(arg)}`); continue; }
    let text = m[2];
    if (text === undefined) {
      text = argv[i + 1];
      i++;
    }
    if (text === undefined) { problems.push(`--${m[1]} needs a value`); continue; }
    let value = Number(text.endsWith('%') && flag.kind === 'share' ? text.slice(0, -1) : text);
    if (text.endsWith('%') && flag.kind === 'share') value /= 100;
    if (text.trim() === '' || !Number.isFinite(value) || (flag.kind === 'int' && !Number.isInteger(value)) || value < flag.min || value > flag.max) {
      problems.push(`--${m[1]} ${JSON.stringify(text)}: expected ${flag.kind === 'int' ? 'an integer' : flag.kind === 'share' ? 'a share (0.05 or 5%)' : 'a number'} in ${flag.min}..${flag.max}`);
      continue;
    }
    (out.options as Record<string, number>)[flag.key] = value;
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return out;
}

export function usage(): string {
  const rows = Object.entries(FLAGS).map(([name, f]) => `  --${name.padEnd(24)} ${f.help} (default ${String(DEFAULT_OPTIONS[f.key])})`);
  return [
    'usage: npm run simulate -- --instances N [--seed S] [knobs] [--verbose] [--no-check]',
    '',
    'Drives the real log-rescue handler through a simulated scale-in storm on a virtual clock.',
    'Deployment settings (heartbeat, timeouts, online wait, concurrency, retries) come from the',
    'project config (LOG_RESCUE_CONFIG or config/default.json); flags override them.',
    '',
    ...rows,
    '  --verbose                  print every detail line',
    '  --no-check                 exit 0 even when a target is missed',
  ].join('\n');
}
