/**
 * The one typed, validated configuration of the app. Every field has a default except where a
 * value cannot be guessed (an existing bucket, a Terraform Cloud organization), so `{}` plus the
 * committed default file synthesizes both stacks with no AWS account.
 *
 * Rules live here, next to the field they guard, with an error message that says what is allowed;
 * `load.ts` turns zod issues into one message listing every problem.
 */
import { z } from 'zod';
import {
  ASG_NAME_PATTERN, HOOK_NAME_PATTERN, LOG_GLOB_PATTERN, MAX_LOG_GLOBS, MAX_LOG_GLOBS_LENGTH, MAX_NAME_PREFIX, MAX_RESCUE_PREFIX_LENGTH, regionCode, STACK_NAMES,
} from './patterns';
import {
  EXECUTION_TIMEOUT_SECONDS, EXECUTION_TO_HEARTBEAT_MARGIN_SECONDS, HEARTBEAT_TIMEOUT_SECONDS, ONLINE_WAIT_SECONDS,
} from '../handlers/log-rescue/timing';

export { ASG_NAME_PATTERN, HOOK_NAME_PATTERN, LOG_GLOB_PATTERN };

/** Regions the pinned AWS provider (5.100.0) knows. A new region needs a line here. */
export const AWS_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
  'af-south-1',
  'ap-east-1', 'ap-east-2', 'ap-south-1', 'ap-south-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3',
  'ca-central-1', 'ca-west-1',
  'eu-central-1', 'eu-central-2', 'eu-west-1', 'eu-west-2', 'eu-west-3',
  'eu-south-1', 'eu-south-2', 'eu-north-1',
  'il-central-1', 'me-south-1', 'me-central-1', 'mx-central-1', 'sa-east-1',
  'us-gov-east-1', 'us-gov-west-1', 'cn-north-1', 'cn-northwest-1',
] as const;

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const region = z.string().refine((v) => (AWS_REGIONS as readonly string[]).includes(v), {
  message: `an AWS region such as us-east-1 or eu-west-1 (known: ${AWS_REGIONS.join(', ')})`,
});

const retentionDays = z.number().refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), {
  message: `one of the retention values CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
});

const intIn = (min: number, max: number, what = 'integer') =>
  z.number({ invalid_type_error: `${what} ${min}..${max}` }).int(`${what} ${min}..${max}`)
    .min(min, `${what} ${min}..${max}`).max(max, `${what} ${min}..${max}`);

/**
 * S3 bucket naming rules (general purpose buckets): S3 User Guide, "General purpose bucket naming
 * rules" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html), which also
 * reserves the suffix `.mrap` for Multi-Region Access Point names.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'length 3..63';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return 'lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit';
  }
  if (name.includes('..')) return 'no two adjacent dots';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'not formatted as an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return 'no reserved prefix (xn--, sthree-, amzn-s3-demo-)';
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) return 'no reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)';
  return undefined;
}
const bucketName = z.string().superRefine((v, ctx) => {
  const problem = bucketNameProblem(v);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `a valid S3 bucket name: ${problem}` });
});

const arn = (service: string, resource = '') =>
  z.string().regex(
    new RegExp(`^arn:aws(-cn|-us-gov)?:${service}:[a-z0-9-]*:(\\d{12})?:${resource}.+$`),
    `an ARN of the form arn:aws:${service}:<region>:<account>:${resource}...`,
  );
/**
 * A KMS key ARN: `arn:<partition>:kms:<region>:<account>:key/<key id>`, the key id a UUID or, for a
 * multi-Region key, `mrk-` and 32 hex digits ("Key ID: 1234abcd-12ab-34cd-56ef-1234567890ab", "Key
 * ID: mrk-1234abcd12ab34cd56ef1234567890ab": KMS API reference, KeyId of DescribeKey and
 * ReplicateKey, https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html). Exact, so
 * the ARN can be written into the rescue document's script and the document's size is bounded.
 */
export const kmsKeyArn = z.string().regex(
  /^arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]{1,32}:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
  'an ARN of the form arn:aws:kms:<region>:<account>:key/<key id> (a key id such as 1234abcd-12ab-34cd-56ef-1234567890ab or mrk-1234abcd12ab34cd56ef1234567890ab)',
);

/** Lowercase DNS-ish identifier, safe inside resource names and S3 keys. */
const slug = (max: number) =>
  z.string().regex(new RegExp(`^[a-z][a-z0-9-]{0,${max - 1}}$`), `lowercase letters, digits and hyphens, starting with a letter, at most ${max} characters`);

/**
 * An S3 key prefix: path segments of safe characters, no leading or trailing slash, no `..`.
 * These end up in IAM resource ARNs and in a shell on the instance, so the alphabet is small.
 */
const keyPrefix = z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'path segments of letters, digits, _ and - separated by single slashes, no leading or trailing slash');

const asgName = z.string().regex(new RegExp(ASG_NAME_PATTERN), 'an Auto Scaling group name: 1..255 of letters, digits, space, . _ -');


const logGlob = z.string()
  .regex(new RegExp(LOG_GLOB_PATTERN), 'an absolute path or glob of letters, digits, space and _ . * ? + @ % , / [ ] - (no shell metacharacters)')
  .refine((v) => !v.split('/').some((seg) => seg === '..' || seg === '.'), 'no . or .. path segments')
  // Pseudo-filesystems never end and are not logs; "/" would archive the whole disk.
  .refine((v) => v !== '/' && !/^\/(proc|sys|dev)(\/|$)/.test(v), 'not /, /proc, /sys or /dev');

/** Arrays whose entries name things (groups, roles) must not repeat one. */
const unique = <T extends z.ZodTypeAny>(item: T) => z.array(item).superRefine((list, ctx) => {
  list.forEach((v, i) => {
    if (typeof v === 'string' && list.indexOf(v) !== i) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i], params: { value: v }, message: `no duplicates (${JSON.stringify(v)} is listed before)` });
    }
  });
});

// ---------------------------------------------------------------- backends and remote states

const localBackend = z.object({
  type: z.literal('local'),
  /** Directory for `<stack>.tfstate`, relative to the project root. @default "." */
  directory: z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9_./-]+$/, 'a relative path inside the project (no leading /, no ..)').default('.'),
}).strict();

const s3Backend = z.object({
  type: z.literal('s3'),
  bucket: bucketName,
  /** Keys are `<keyPrefix>/<stack>.tfstate`. @default "<project>/<environment>" */
  keyPrefix: keyPrefix.optional(),
  region,
  /** @default true */
  encrypt: z.boolean().default(true),
  kmsKeyId: kmsKeyArn.optional(),
  /** Only for Terraform older than 1.10; S3-native locking (use_lockfile) is always on. */
  dynamodbTable: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name (3..255 of letters, digits, _ . -)').optional(),
  roleArn: arn('iam', 'role/').optional(),
}).strict();

const cloudBackend = z.object({
  type: z.literal('cloud'),
  organization: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'a Terraform Cloud organization name'),
  /** @default "app.terraform.io" */
  hostname: z.string().regex(/^[a-z0-9.-]+$/, 'a host name').default('app.terraform.io'),
  /** Terraform Cloud project the workspaces belong to. */
  project: z.string().min(1).max(90).optional(),
  /** Workspace name per stack. @default "<project>-<environment>-<stack>" */
  workspaces: z.record(z.enum(STACK_NAMES, { errorMap: () => ({ message: `a stack name: ${STACK_NAMES.join(', ')}` }) }), z.string().regex(/^[A-Za-z0-9_-]{1,90}$/, 'a workspace name (letters, digits, _ -)')).default({}),
}).strict();

export const backendSchema = z.discriminatedUnion('type', [localBackend, s3Backend, cloudBackend], {
  errorMap: (issue, ctx) => issue.code === z.ZodIssueCode.invalid_union_discriminator
    ? { message: 'one of local, s3, cloud' }
    : { message: ctx.defaultError },
});

const remoteStateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('s3'), bucket: bucketName, key: z.string().min(1), region, roleArn: arn('iam', 'role/').optional() }).strict(),
  z.object({
    type: z.literal('cloud'),
    organization: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'a Terraform Cloud organization name'),
    hostname: z.string().default('app.terraform.io'),
    workspace: z.string().regex(/^[A-Za-z0-9_-]{1,90}$/, 'a workspace name'),
  }).strict(),
  /** For tests and local experiments: a state file on disk. */
  z.object({ type: z.literal('local'), path: z.string().min(1) }).strict(),
], {
  errorMap: (issue, ctx) => issue.code === z.ZodIssueCode.invalid_union_discriminator
    ? { message: 'one of s3, cloud, local' }
    : { message: ctx.defaultError },
});

/** A value read from another team's state: `remoteStates.<state>` output `<output>`. */
const fromRemoteState = z.object({
  state: z.string().min(1),
  output: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'a Terraform output name'),
}).strict();

// ---------------------------------------------------------------- archive bucket

export const STORAGE_CLASSES = ['STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'] as const;

/** Write-once retention: a mode and days. */
const objectLockSchema = z.object({
  mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
  days: intIn(1, 36500),
}).strict();

/** The problem when objects would expire before their lock (config field `lockField`) lets them, else undefined. */
function lockOutlivesExpiry(expirationDays: number, lock: z.output<typeof objectLockSchema> | undefined, lockField = 'objectLock.days'): string | undefined {
  if (!lock || expirationDays === 0 || expirationDays >= lock.days) return undefined;
  return `0 or at least ${lockField} (${lock.days}); locked objects cannot expire earlier`;
}

export const archiveBucketSchema = z.object({
  /** Use this existing bucket instead of creating one; the other fields then do not apply. */
  existingBucketName: bucketName.optional(),
  /** KMS key of the existing bucket, so IAM policies can allow it. */
  existingKmsKeyArn: kmsKeyArn.optional(),
  /** Fixed name; when absent Terraform picks a unique name from a prefix. */
  bucketName: bucketName.optional(),
  /** @default "SSE-S3" */
  encryption: z.enum(['SSE-S3', 'SSE-KMS']).default('SSE-S3'),
  /** With SSE-KMS: use this key; when absent a key is created (rotation on). */
  kmsKeyArn: kmsKeyArn.optional(),
  lifecycle: z.object({
    /** Days before objects move to `storageClass`. @default 30 */
    transitionDays: intIn(0, 36500).default(30),
    /** @default "GLACIER_IR" */
    storageClass: z.enum(STORAGE_CLASSES).default('GLACIER_IR'),
    /** Days before current objects expire; 0 keeps them forever. @default 365 */
    expirationDays: intIn(0, 36500).default(365),
    /** Days before replaced/deleted versions are removed. @default 30 */
    noncurrentVersionExpirationDays: intIn(1, 36500).default(30),
  }).strict().default({}),
  /** Write-once retention, enabled in place (S3 allows it on a versioned bucket); it cannot be turned off again. */
  objectLock: objectLockSchema.optional(),
  /** Terraform `prevent_destroy`. @default true */
  preventDestroy: z.boolean().default(true),
}).strict().superRefine((b, ctx) => {
  const fail = (path: string[], message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
  if (b.existingBucketName && b.bucketName) fail(['bucketName'], 'not together with existingBucketName');
  if (b.encryption === 'SSE-S3' && b.kmsKeyArn) fail(['kmsKeyArn'], 'only with encryption SSE-KMS');
  const l = b.lifecycle;
  if ((l.storageClass === 'STANDARD_IA' || l.storageClass === 'ONEZONE_IA') && l.transitionDays < 30) {
    fail(['lifecycle', 'transitionDays'], `at least 30 for ${l.storageClass} (an S3 rule)`);
  }
  if (l.expirationDays !== 0 && l.expirationDays <= l.transitionDays) {
    fail(['lifecycle', 'expirationDays'], `0 (never) or more than transitionDays (${l.transitionDays})`);
  }
  const locked = lockOutlivesExpiry(l.expirationDays, b.objectLock);
  if (locked) fail(['lifecycle', 'expirationDays'], locked);
});

// ---------------------------------------------------------------- alarms

const alarmsSchema = z.object({
  /** Send alarm notifications to this existing SNS topic. */
  snsTopicArn: arn('sns').optional(),
  /** Create a topic (with this e-mail subscribed, if given) when no snsTopicArn is set. @default false */
  createTopic: z.boolean().default(false),
  email: z.string().email().optional(),
}).strict().superRefine((a, ctx) => {
  if (a.snsTopicArn && a.createTopic) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['createTopic'], message: 'not together with snsTopicArn' });
  if (a.email && !a.createTopic) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['email'], message: 'only with createTopic: true' });
});

// ---------------------------------------------------------------- flow 1: log rescue

const asgRef = z.union([asgName, z.object({ fromRemoteState }).strict()], {
  errorMap: () => ({ message: 'an Auto Scaling group name, or { "fromRemoteState": { "state", "output" } }' }),
});

export const DEFAULT_LOG_GLOBS = ['/var/log/messages', '/var/log/cloud-init*.log', '/var/log/amazon/ssm/*'];

/**
 * `logRescue.command.maxTotalMb`: most MiB of logs one rescue collects (newest files first; the
 * rest is listed in the manifest as left out). 2 GiB gzip and upload well within the default 600 s
 * on small instances. At most 100 GiB: the script streams 64 MiB parts and S3 takes at most 10,000
 * of them (625 GiB), so even an incompressible archive of the largest cap fits one upload
 * ("Amazon S3 multipart upload limits", https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
 */
export const DEFAULT_MAX_TOTAL_MB = 2048;
export const MAX_TOTAL_MB_RANGE = { min: 1, max: 102400 } as const;

const logRescueSchema = z.object({
  /** @default true */
  enabled: z.boolean().default(true),
  archiveBucket: archiveBucketSchema.default({}),
  /**
   * Archive keys are `<prefix>/<asg>/<instance-id>/<UTC time>/`. At most 717 characters, so the
   * longest key stays within S3's 1,024 bytes (config/patterns.ts). @default "instance-logs"
   */
  prefix: keyPrefix.max(MAX_RESCUE_PREFIX_LENGTH, `at most ${MAX_RESCUE_PREFIX_LENGTH} characters: with the group name (up to 255), instance id and time, archive keys must stay within S3's 1,024-byte key limit`).default('instance-logs'),
  /** The groups to protect: names, or outputs of another state. */
  autoScalingGroups: unique(asgRef).default([]),
  lifecycleHook: z.object({
    /** @default "log-rescue" */
    name: z.string().regex(new RegExp(HOOK_NAME_PATTERN), 'letters, digits, / _ -, 1..255').default('log-rescue'),
    /** How long an instance may wait for its upload. @default 900 */
    heartbeatTimeoutSeconds: intIn(HEARTBEAT_TIMEOUT_SECONDS.min, HEARTBEAT_TIMEOUT_SECONDS.max).default(HEARTBEAT_TIMEOUT_SECONDS.default),
    /** @default "CONTINUE" */
    defaultResult: z.enum(['CONTINUE', 'ABANDON']).default('CONTINUE'),
  }).strict().default({}),
  command: z.object({
    /** Upper bound on the collection + upload; must be shorter than the heartbeat. @default 600 */
    executionTimeoutSeconds: intIn(EXECUTION_TIMEOUT_SECONDS.min, EXECUTION_TIMEOUT_SECONDS.max).default(EXECUTION_TIMEOUT_SECONDS.default),
    /** @default ["/var/log/messages", "/var/log/cloud-init*.log", "/var/log/amazon/ssm/*"] */
    logGlobs: z.array(logGlob).min(1, 'at least one glob').max(MAX_LOG_GLOBS, `at most ${MAX_LOG_GLOBS} globs`)
      .superRefine((globs, ctx) => {
        const length = globs.join('|').length;
        if (length > MAX_LOG_GLOBS_LENGTH) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: `at most ${MAX_LOG_GLOBS_LENGTH} characters in all, counting one | between globs (these are ${length}): `
              + `the SSM document holds the list twice (default and pinned allowedPattern) and SSM refuses a document over 64 KB`,
          });
        }
      })
      .default(DEFAULT_LOG_GLOBS),
    /** Export the systemd journal too. @default true */
    includeJournal: z.boolean().default(true),
    /** Most MiB of logs one rescue collects, newest first (journal included). @default 2048 */
    maxTotalMb: intIn(MAX_TOTAL_MB_RANGE.min, MAX_TOTAL_MB_RANGE.max, 'whole MiB').default(DEFAULT_MAX_TOTAL_MB),
  }).strict().default({}),
  /** Also rescue logs on a Spot interruption warning. @default true */
  spotInterruption: z.boolean().default(true),
  /** EventBridge target retries before the dead-letter queue. */
  retry: z.object({
    /** @default 8 */
    maximumRetryAttempts: intIn(0, 185).default(8),
    /** @default 3600 */
    maximumEventAgeSeconds: intIn(60, 86400).default(3600),
  }).strict().default({}),
  handler: z.object({
    /** @default 256 */
    memoryMb: intIn(128, 10240).default(256),
    /**
     * Lambda reserved concurrency of the handler: capacity kept for it alone, and a cap. None by
     * default, because Lambda refuses a reservation that leaves fewer than 100 unreserved concurrent
     * executions in the account ("you can reserve concurrency for as many functions as you like, as
     * long as you leave at least 100 simultaneous executions unreserved": Lambda API reference,
     * PutFunctionConcurrency, https://docs.aws.amazon.com/goto/WebAPI/lambda/PutFunctionConcurrency),
     * so `terraform apply` would fail in a new account ("New AWS accounts have reduced concurrency
     * and memory quotas": Lambda quotas, https://docs.aws.amazon.com/lambda/latest/dg/limits.html)
     * or in one whose other functions already reserve most of it. Set it where the
     * handler must not compete with other functions for concurrency; it must then be at least
     * `maximumConcurrency`. @default none (no reservation)
     */
    reservedConcurrency: intIn(2, 1000).optional(),
    /**
     * The event source mapping's maximum concurrency: the most handler invocations the event queue
     * starts at once, so the cap on the consumer (and on its share of the SendCommand and Auto
     * Scaling API rates). Lambda accepts 2..1000 (ScalingConfig.MaximumConcurrency, "Valid Range:
     * Minimum value of 2. Maximum value of 1000.": Lambda API reference, ScalingConfig,
     * https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html). @default 30
     */
    maximumConcurrency: intIn(2, 1000).default(30),
    /**
     * Most events one invocation takes from the event queue. Up to 50 lifecycle events become one
     * SendCommand, which is what keeps a scale-in storm under SendCommand's rate limit. @default 50
     */
    batchSize: intIn(1, 50).default(50),
    /**
     * Longest the event queue gathers a batch before invoking the handler (it invokes sooner when
     * the batch is full). Lambda requires at least 1 when batchSize is over 10. @default 1
     */
    batchWindowSeconds: intIn(0, 20).default(1),
    /** How long to wait for the instance's SSM agent to be online before giving up. @default 20 */
    onlineWaitSeconds: intIn(ONLINE_WAIT_SECONDS.min, ONLINE_WAIT_SECONDS.max).default(ONLINE_WAIT_SECONDS.default),
    /** @default 30 */
    logRetentionDays: retentionDays.default(30),
  }).strict().default({}),
  alarms: alarmsSchema.default({}),
  /** A CloudWatch dashboard of the rescue (output `dashboard_name`). @default true */
  dashboard: z.boolean().default(true),
  /**
   * Attach the instance upload policy to these roles (names), for instance roles this app manages
   * too, such as the session-logs instance role the demo fleet uses. @default []
   */
  attachInstancePolicyToRoles: unique(z.string().regex(/^[A-Za-z0-9+=,.@_-]{1,64}$/, 'an IAM role name (1..64 of letters, digits and + = , . @ _ -)')).default([]),
}).strict().superRefine((c, ctx) => {
  if (c.enabled && c.autoScalingGroups.length === 0) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['autoScalingGroups'], message: 'at least one group when logRescue is enabled' });
  }
  const h = c.handler;
  if (h.batchSize > 10 && h.batchSize <= 50 && h.batchWindowSeconds === 0) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom, path: ['handler', 'batchWindowSeconds'], params: { value: 0 },
      message: `at least 1 when handler.batchSize is over 10 (it is ${h.batchSize}): Lambda requires a batching window for batches over 10`,
    });
  }
  // A reservation below the mapping's maximum concurrency throttles the batches the mapping has
  // already polled (each goes back to the queue, a receive spent): "Lambda throttles your function
  // when the function reaches the reserved value. Event source mappings don't account for reserved
  // concurrency and can process more messages off your queue than can be sent to your function",
  // and the same article advises against a maximum concurrency above the reserved concurrency
  // (AWS Knowledge Center, "lambda-sqs-scaling", https://repost.aws/knowledge-center/lambda-sqs-scaling).
  if (h.reservedConcurrency !== undefined && h.maximumConcurrency > h.reservedConcurrency) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom, path: ['handler', 'maximumConcurrency'], params: { value: h.maximumConcurrency },
      message: `at most handler.reservedConcurrency (${h.reservedConcurrency}) when that is set (maximumConcurrency defaults to 30): `
        + `Lambda throttles the batches the event queue's mapping polls beyond the function's reserved concurrency; `
        + `lower maximumConcurrency or raise reservedConcurrency`,
    });
  }
  // The instance must be released by the command's own outcome, not by the heartbeat expiring.
  // Only meaningful when both numbers are themselves valid; otherwise their own issue says enough.
  const margin = EXECUTION_TO_HEARTBEAT_MARGIN_SECONDS;
  const heartbeat = c.lifecycleHook.heartbeatTimeoutSeconds;
  if (heartbeat >= HEARTBEAT_TIMEOUT_SECONDS.min && heartbeat <= HEARTBEAT_TIMEOUT_SECONDS.max && c.command.executionTimeoutSeconds + margin > heartbeat) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom, path: ['command', 'executionTimeoutSeconds'], params: { value: c.command.executionTimeoutSeconds },
      message: `at most lifecycleHook.heartbeatTimeoutSeconds - ${margin} (${c.lifecycleHook.heartbeatTimeoutSeconds - margin}) so the command ends before the hook times out`,
    });
  }
});

// ---------------------------------------------------------------- flow 2: session logs

const ipv4Cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/([0-9]|[12][0-9]|3[0-2])$/, 'an IPv4 CIDR such as 10.0.0.0/16');

const sessionLogsSchema = z.object({
  /** @default true */
  enabled: z.boolean().default(true),
  archiveBucket: archiveBucketSchema.default({}),
  logGroup: z.object({
    /** @default "/aws/ssm/session-logs" */
    name: z.string().regex(/^[A-Za-z0-9_\-/.#]{1,512}$/, 'a log group name (letters, digits, _ - / . #)').default('/aws/ssm/session-logs'),
    /** Short: S3 is the long-term store. @default 3 */
    retentionDays: retentionDays.default(3),
    /** @default "STANDARD" */
    class: z.string().default('STANDARD').superRefine((v, ctx) => {
      if (v !== 'STANDARD') {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'STANDARD only: subscription filters (which feed Firehose) need the STANDARD log class' });
      }
    }),
    /** "none", "create" (a key whose policy lets CloudWatch Logs use it for this group only), or a key ARN. @default "none" */
    kms: z.string()
      .refine((v) => v === 'none' || v === 'create' || kmsKeyArn.safeParse(v).success, '"none", "create" or a KMS key ARN (arn:aws:kms:<region>:<account>:key/...)')
      .default('none'),
  }).strict().default({}),
  sessionDocument: z.object({
    /**
     * "adopt" imports the regional SSM-SessionManagerRunShell (the preferences every session uses by
     * default; it must already exist, which it does once anyone has saved Session Manager preferences
     * in the console) and takes it over. "custom" writes a document of its own, used with
     * `aws ssm start-session --document-name <name>`. @default "custom"
     */
    mode: z.enum(['adopt', 'custom']).default('custom'),
    /** Name when mode is custom. @default "<project>-<environment>-session-preferences" */
    customName: z.string().regex(/^[A-Za-z0-9_.-]{3,128}$/, 'a document name (3..128 of letters, digits, _ . -)').refine((v) => !/^(aws|amazon|amzn)/i.test(v), 'not starting with aws, amazon or amzn (reserved)').optional(),
    /** @default 20 */
    idleSessionTimeoutMinutes: intIn(1, 60).default(20),
    /** 0 means no limit. @default 0 */
    maxSessionDurationMinutes: intIn(0, 1440).default(0),
    /** @default false */
    runAsEnabled: z.boolean().default(false),
    runAsDefaultUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a Linux user name').optional(),
    /** Commands run at session start. */
    shellProfile: z.object({ linux: z.string().max(2048).default(''), windows: z.string().max(2048).default('') }).strict().default({}),
    /**
     * KMS key for session data encryption between client and instance, or "none". Required in adopt
     * mode (the account's document may already have one: keep it, or say "none" on purpose).
     * @default none in custom mode
     */
    sessionKmsKeyArn: z.union([z.literal('none'), kmsKeyArn]).optional(),
    /**
     * Session Manager's own upload of session transcripts to S3 (`s3BucketName`, `s3KeyPrefix`,
     * `s3EncryptionEnabled` of the document), or "none". Required in adopt mode, because the
     * account's document may already upload to S3: keep that, or say "none" on purpose.
     * @default "none" in custom mode (Firehose archives sessions to S3)
     */
    s3Logging: z.union([
      z.literal('none'),
      z.object({
        bucketName,
        keyPrefix: z.string().regex(/^[A-Za-z0-9!_.*'()/-]{0,512}$/, 'an S3 key prefix (letters, digits and ! _ . * \' ( ) / -, at most 512)').default(''),
        encryptionEnabled: z.boolean().default(true),
      }).strict(),
    ]).optional(),
  }).strict().default({}).superRefine((d, ctx) => {
    if (d.runAsEnabled && !d.runAsDefaultUser) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['runAsDefaultUser'], message: 'required when runAsEnabled is true' });
    if (d.mode === 'adopt' && d.customName) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['customName'], message: 'only with mode "custom"' });
    // Adopting rewrites every input of the account's document: what is not stated would be switched
    // off. Read the current values first: aws ssm get-document --name SSM-SessionManagerRunShell.
    const readFirst = 'required with mode "adopt": the account\'s SSM-SessionManagerRunShell may already set it (see `aws ssm get-document --name SSM-SessionManagerRunShell`)';
    if (d.mode === 'adopt' && d.s3Logging === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['s3Logging'], message: `${readFirst}; copy its s3BucketName/s3KeyPrefix/s3EncryptionEnabled as {"bucketName","keyPrefix","encryptionEnabled"}, or "none" to turn S3 upload off on purpose` });
    }
    if (d.mode === 'adopt' && d.sessionKmsKeyArn === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sessionKmsKeyArn'], message: `${readFirst}; copy its kmsKeyId as a key ARN, or "none" to turn session encryption off on purpose` });
    }
  }),
  /**
   * Buffering decides cost, not correctness: Firehose bills per GB ingested whatever the buffer, but
   * every flush is one S3 object (a PUT now, a GET per Athena scan later, a lifecycle transition
   * each). Session logs are small, so the interval is what flushes; the maximum 900 s gives at most
   * 96 objects a day. The price is latency to S3 only: CloudWatch Logs shows sessions live for
   * `logGroup.retentionDays`, so nobody waits on S3 during an incident.
   */
  firehose: z.object({
    /** MiB; bigger means fewer, larger objects (cheaper S3 requests and Athena scans). @default 128 */
    bufferingSizeMb: intIn(1, 128).default(128),
    /** Seconds; latency until a session shows up in S3, and one object per flush. @default 900 */
    bufferingIntervalSeconds: intIn(0, 900).default(900),
    /** Retention of Firehose's own delivery-error log group. @default 14 */
    errorLogRetentionDays: retentionDays.default(14),
    /** Alarm when the oldest record waits longer than this. @default 2 × bufferingIntervalSeconds, at least 300 */
    freshnessAlarmSeconds: intIn(60, 86400).optional(),
  }).strict().default({}),
  analysis: z.object({
    /** Glue table, Athena workgroup and named queries over the delivered prefix. @default true */
    enabled: z.boolean().default(true),
    /**
     * Partition projection range of `year`. A query without a date filter lists every projected
     * day, so keep the range to the years that can hold data. @default 2025
     */
    firstYear: intIn(2000, 2200).default(2025),
    /** @default 2040 */
    lastYear: intIn(2000, 2200).default(2040),
    /** Athena cancels a query of this workgroup that would scan more (cost guard). @default 10240 */
    bytesScannedCutoffPerQueryMb: intIn(10, 1048576).default(10240),
    /**
     * Days before query results expire. Results are whole session transcripts; they live in a
     * bucket of their own, outside the archive's retention and Object Lock. @default 7
     */
    resultsExpirationDays: intIn(1, 365).default(7),
  }).strict().default({}).superRefine((a, ctx) => {
    if (a.lastYear < a.firstYear) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['lastYear'], params: { value: a.lastYear }, message: `at least firstYear (${a.firstYear})` });
    }
  }),
  /** Create an instance role + profile for fleets that have none. @default false */
  createInstanceRole: z.boolean().default(false),
  vpcEndpoints: z.object({
    /** @default false */
    enabled: z.boolean().default(false),
    vpcId: z.union([z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id (vpc-...)'), z.object({ fromRemoteState }).strict()]).optional(),
    /**
     * Subnets the interface endpoints get a network interface in: at most one per Availability Zone
     * (an endpoint takes one subnet per zone: Amazon VPC User Guide, "Access an AWS service using an
     * interface VPC endpoint"), so one private subnet of each zone the fleet runs in.
     */
    subnetIds: z.union([
      z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id (subnet-...)')).min(1, 'at least one subnet').refine((a) => new Set(a).size === a.length, 'each subnet once (at most one subnet per Availability Zone)'),
      z.object({ fromRemoteState }).strict(),
    ]).optional(),
    routeTableIds: z.union([z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, 'a route table id (rtb-...)')), z.object({ fromRemoteState }).strict()]).optional(),
    /**
     * The VPC's IPv4 CIDR, or all of them (primary and secondary): the endpoints' security group
     * admits HTTPS from these only, so instances in a secondary CIDR need it listed. A config value
     * (or another state's string or list output), not a lookup, so planning needs no AWS read.
     */
    vpcCidr: z.union([ipv4Cidr, z.array(ipv4Cidr).min(1, 'at least one CIDR'), z.object({ fromRemoteState }).strict()]).optional(),
  }).strict().default({}).superRefine((v, ctx) => {
    if (!v.enabled) return;
    for (const k of ['vpcId', 'subnetIds', 'vpcCidr'] as const) {
      if (!v[k]) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: 'required when vpcEndpoints.enabled is true' });
    }
  }),
  alarms: alarmsSchema.default({}),
  /** A CloudWatch dashboard of the session log pipeline (output `dashboard_name`). @default true */
  dashboard: z.boolean().default(true),
}).strict();

// ---------------------------------------------------------------- demo fleet

/** Why an IPv4 CIDR is not a usable network address (octets, host bits), or undefined. */
export function ipv4NetworkProblem(cidr: string): string | undefined {
  const [address, bits] = cidr.split('/');
  const octets = address.split('.').map(Number);
  if (octets.some((o) => o > 255)) return 'octets 0..255';
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  if (ip % 2 ** (32 - Number(bits)) !== 0) return 'host bits zero (a network address such as 10.42.0.0/16)';
  return undefined;
}

/**
 * A self-contained fleet to try both flows on: private subnets, Session Manager through VPC
 * endpoints, the session-logs instance profile. Needs sessionLogs.createInstanceRole (checked below).
 */
const demoFleetSchema = z.object({
  /** @default false */
  enabled: z.boolean().default(false),
  /** @default "t4g.micro" (arm64, like the AMI) */
  instanceType: z.string().regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'an EC2 instance type such as t4g.micro').default('t4g.micro'),
  /** @default 2 */
  desiredCapacity: intIn(0, 10).default(2),
  /** @default "10.42.0.0/16" */
  vpcCidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, 'an IPv4 CIDR /16../24')
    .superRefine((v, ctx) => {
      const problem = /^\d{1,3}(\.\d{1,3}){3}\/\d+$/.test(v) ? ipv4NetworkProblem(v) : undefined;
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `an IPv4 network CIDR: ${problem}` });
    })
    .default('10.42.0.0/16'),
  /**
   * One private subnet per zone `<region><suffix>`. Names, not a data source, so planning needs no
   * AWS read; not every region has every letter (ap-northeast-1 has no b), so pick ones that exist.
   * @default ["a", "b"]
   */
  availabilityZoneSuffixes: z.array(z.string().regex(/^[a-z]$/, 'one lowercase letter (the zone suffix, as in us-east-1a)'))
    .min(2, 'at least 2 zones').max(6, 'at most 6 zones')
    .refine((v) => new Set(v).size === v.length, 'no zone twice')
    .default(['a', 'b']),
}).strict();

// ---------------------------------------------------------------- organisation

const accountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');

/**
 * Many accounts, one log archive (README "Rolling out to an organisation"): an `archive` stack for
 * the log-archive account, and the flows' stacks once per member account and region, writing there.
 */
export const organisationSchema = z.object({
  /** The AWS Organizations id every writer must belong to (`aws:PrincipalOrgID`). */
  id: z.string().regex(/^o-[a-z0-9]{10,32}$/, 'an organization id such as o-a1b2c3d4e5 (o- and 10..32 lowercase letters or digits)'),
  archive: z.object({
    accountId,
    /** Where the central bucket and its key live. */
    region,
    /** Fixed, so every member stack can name it before the archive stack is applied. */
    bucketName,
    /** The role Terraform assumes in the log-archive account. @default the credentials Terraform runs with */
    deployRoleArn: arn('iam', 'role/').optional(),
    /** Write-once retention on the central bucket. @default none */
    objectLock: objectLockSchema.optional(),
    /**
     * Where member stacks read the archive stack's outputs (its key ARN).
     * @default the archive stack's own state in this config's backend
     */
    state: remoteStateSchema.optional(),
    /**
     * The archive key's ARN, literally (its output `kms_key_arn` after the first apply): member
     * stacks then read no state of the log-archive account at all.
     * @default read from the archive stack's state
     */
    kmsKeyArn: kmsKeyArn.optional(),
  }).strict(),
  members: z.array(z.object({
    /** Part of the member's stack names: `<flow>-<name>-<region>`. */
    name: z.string().regex(/^[a-z][a-z0-9]{0,15}$/, 'a short name: a lowercase letter, then up to 15 lowercase letters or digits'),
    accountId,
    /** The role Terraform assumes in the member account. @default the credentials Terraform runs with */
    deployRoleArn: arn('iam', 'role/').optional(),
  }).strict()).min(1, 'at least one member account').superRefine((list, ctx) => {
    list.forEach((m, i) => {
      if (list.findIndex((o) => o.name === m.name) !== i) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'name'], message: `no duplicates (${JSON.stringify(m.name)} is listed before)` });
      if (list.findIndex((o) => o.accountId === m.accountId) !== i) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'accountId'], message: `no duplicates (${m.accountId} is listed before)` });
    });
  }),
}).strict();

// ---------------------------------------------------------------- the whole config

const tagValue = z.string().regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u, 'a tag value (letters, digits, spaces and _ . : / = + - @)');

export const configSchema = z.object({
  /** Name prefix of every resource. @default "logrescue" */
  project: slug(20).default('logrescue'),
  /** @default "dev" */
  environment: slug(12).default('dev'),
  /** Owner tag. @default "platform-team" */
  owner: tagValue.default('platform-team'),
  /** @default "us-east-1" */
  region: region.default('us-east-1'),
  /**
   * Deploy the flows in each of these regions: with two or more, one stack per (flow, region),
   * named `<flow>-<region>`, each with its own state. One region is `region` by another name.
   * @default [region]
   */
  regions: z.array(region).min(1, 'at least one region')
    .refine((v) => new Set(v).size === v.length, 'no region twice').optional(),
  /** Many accounts writing to a central log archive. @default one account */
  organisation: organisationSchema.optional(),
  /** Extra default tags on every resource. */
  tags: z.record(z.string().regex(/^[\p{L}\p{N}_.:/=+\-@ ]{1,128}$/u, 'a tag key').refine((k) => !k.startsWith('aws:'), 'not starting with aws:'), tagValue).default({}),
  /** Where each stack keeps its state. @default { "type": "local" } */
  backend: backendSchema.default({ type: 'local' }),
  /** Other teams' states this app reads outputs from, by a name of your choice. */
  remoteStates: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'lowercase letters, digits and _'), remoteStateSchema).default({}),
  logRescue: logRescueSchema.default({}),
  sessionLogs: sessionLogsSchema.default({}),
  demoFleet: demoFleetSchema.default({}),
}).strict().superRefine((c, ctx) => {
  // A reference to a remote state that is not declared would only fail at plan time; catch it now.
  const refs: Array<{ path: (string | number)[]; ref: { state: string } }> = [];
  c.logRescue.autoScalingGroups.forEach((g, i) => {
    if (typeof g !== 'string') refs.push({ path: ['logRescue', 'autoScalingGroups', i, 'fromRemoteState', 'state'], ref: g.fromRemoteState });
  });
  for (const k of ['vpcId', 'subnetIds', 'routeTableIds', 'vpcCidr'] as const) {
    const v = c.sessionLogs.vpcEndpoints[k];
    if (v && !Array.isArray(v) && typeof v === 'object') refs.push({ path: ['sessionLogs', 'vpcEndpoints', k, 'fromRemoteState', 'state'], ref: v.fromRemoteState });
  }
  // The demo fleet launches with the session-logs instance profile, referenced by name.
  if (c.demoFleet.enabled && !(c.sessionLogs.enabled && c.sessionLogs.createInstanceRole)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['demoFleet', 'enabled'], message: 'true only with sessionLogs.enabled and sessionLogs.createInstanceRole true (the fleet uses that instance profile)' });
  }
  if (c.regions) {
    if (!c.regions.includes(c.region)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['regions'], message: `a list that includes region (${c.region}): the home region, whose stacks keep their names` });
    }
    const others = c.regions.filter((r) => r !== c.region);
    if (others.length && c.demoFleet.enabled) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['demoFleet', 'enabled'], message: 'false with more than one region (the demo fleet is a single-region example)' });
    }
    // IAM names are global, so other regions' stacks add the region's code to every name; names
    // are sized for a prefix of at most MAX_NAME_PREFIX characters.
    for (const r of others) {
      const prefix = `${c.project}-${c.environment}-${regionCode(r)}`;
      if (prefix.length > MAX_NAME_PREFIX) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['regions'], message: `project and environment short enough for the region code: "${prefix}" (the name prefix in ${r}) has ${prefix.length} characters, at most ${MAX_NAME_PREFIX}` });
      }
    }
  }
  if (c.organisation) {
    // The central bucket takes its lifecycle from logRescue.archiveBucket and its lock from here.
    const locked = lockOutlivesExpiry(c.logRescue.archiveBucket.lifecycle.expirationDays, c.organisation.archive.objectLock, 'organisation.archive.objectLock.days');
    if (locked) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['logRescue', 'archiveBucket', 'lifecycle', 'expirationDays'], params: { value: c.logRescue.archiveBucket.lifecycle.expirationDays }, message: locked });
    // Member stacks write under <account>/<region>/<prefix>: the whole of it must fit the key budget.
    for (const r of c.regions ?? [c.region]) {
      const longest = `${'0'.repeat(12)}/${r}/${c.logRescue.prefix}`;
      if (longest.length > MAX_RESCUE_PREFIX_LENGTH) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['logRescue', 'prefix'], params: { value: c.logRescue.prefix }, message: `at most ${MAX_RESCUE_PREFIX_LENGTH - longest.length + c.logRescue.prefix.length} characters with organisation: member stacks write under <account>/${r}/, and archive keys must stay within S3's 1,024-byte key limit` });
        break;
      }
    }
  }
  if (c.organisation && c.remoteStates.archive) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['remoteStates', 'archive'], message: 'another name: with organisation, "archive" is the archive stack\'s state (organisation.archive.state)' });
  }
  if (c.organisation && c.demoFleet.enabled) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['demoFleet', 'enabled'], message: 'false with organisation (the demo fleet is a single-account example)' });
  }
  const declared = Object.keys(c.remoteStates);
  for (const { path, ref } of refs) {
    if (!declared.includes(ref.state)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `a name declared under remoteStates (declared: ${declared.join(', ') || 'none'})` });
    }
  }
});

export type AppConfig = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ArchiveBucketConfig = z.output<typeof archiveBucketSchema>;

/** The session KMS key the config states, if any ("none" and unset mean none). */
export function sessionKmsKeyOf(d: { sessionKmsKeyArn?: string }): string | undefined {
  return d.sessionKmsKeyArn === undefined || d.sessionKmsKeyArn === 'none' ? undefined : d.sessionKmsKeyArn;
}
export type BackendConfig = z.output<typeof backendSchema>;
export type RemoteStateConfig = AppConfig['remoteStates'][string];
export type FromRemoteState = z.output<typeof fromRemoteState>;
export type LogRescueConfig = AppConfig['logRescue'];
export type SessionLogsConfig = AppConfig['sessionLogs'];
export type DemoFleetConfig = AppConfig['demoFleet'];
export type AlarmsConfig = z.output<typeof alarmsSchema>;
export type OrganisationConfig = z.output<typeof organisationSchema>;
