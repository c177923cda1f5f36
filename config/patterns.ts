/**
 * Name patterns shared by the config schema, the SSM document's allowedPatterns and the Lambda
 * handler's event checks. Kept free of zod so the handler bundle stays small.
 */

/** Auto Scaling group names we accept: 1..255 characters that are inert in a shell, no colon or comma. */
export const ASG_NAME_PATTERN = '^[A-Za-z0-9._ -]{1,255}$';

/** Lifecycle hook names per the Auto Scaling API: [A-Za-z0-9\-_\/]+, 1..255. */
export const HOOK_NAME_PATTERN = '^[A-Za-z0-9/_-]{1,255}$';

/**
 * Log globs the SSM document collects. Absolute, and only characters that are inert in a shell
 * even before quoting; spaces are allowed because real log paths have them. (`..` is refused separately.)
 */
export const LOG_GLOB_PATTERN = '^/[A-Za-z0-9_.*?+@%, /\\[\\]-]{0,1023}$';

/** At most this many globs in `logRescue.command.logGlobs` (the document's `logGlobs` parameter). */
export const MAX_LOG_GLOBS = 50;

/**
 * Most characters of `logRescue.command.logGlobs` joined with `|` (the value of the document's
 * `logGlobs` parameter). SSM refuses a document over 64 KB ("The content of the document must not
 * exceed 64KB. This quota also includes the content specified for input parameters at runtime":
 * SSM API reference, CreateDocument, Content,
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html), and the document carries the list twice: as the
 * parameter's default, and as the allowedPattern that pins the parameter to exactly that value, where
 * each of . * ? + [ ] | costs 3 bytes (escaped for the regex, then for JSON). A sender that passes the
 * value at runtime adds it a third time. So each character may cost 5 bytes; 4,096 of them (50 globs
 * of 80 characters) leave the largest document the schema accepts well inside the limit, with room
 * for the script to grow: __tests__/modules/log-rescue/document.size.test.ts renders it and measures.
 */
export const MAX_LOG_GLOBS_LENGTH = 4096;

/**
 * Longest `logRescue.prefix`. An S3 object key is at most 1,024 bytes, prefix and delimiters included
 * ("maximum length of 1,024 bytes": S3 User Guide, Naming Amazon S3 objects,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html), and the rescue's longest key
 * is `<prefix>/<group name, ≤255>/<instance id, ≤19>/<eventTime, 16>/manifest.json`: 717.
 */
export const MAX_RESCUE_PREFIX_LENGTH = 1024 - ['', 'x'.repeat(255), 'i-0123456789abcdef0', '20261120T223000Z', 'manifest.json'].join('/').length;

/**
 * Exit code of the rescue document's script when no configured glob matched a file and the journal
 * gave nothing: it still uploads the manifest (which says what it looked for), but an empty archive
 * is not a rescue. The invocation ends Failed with this response code, which the handler reads and
 * counts as NotRescued, reason `nothing-collected`. 66 is sysexits' EX_NOINPUT ("an input file did
 * not exist or was not readable"), distinct from the script's 1 (any other failure) and from the
 * shell's and the agent's own codes (126, 127, 128+n, 168/169 for reboot).
 */
export const NOTHING_COLLECTED_EXIT_CODE = 66;

/** The stacks of this app; each has its own state (and Terraform Cloud workspace). */
export const STACK_NAMES = ['log-rescue', 'session-logs', 'demo-fleet', 'archive'] as const;

/**
 * Command statuses after which nothing more happens. Command-level events use the first four; the
 * rest are invocation-level names, which mean the same for a one-instance command. Shared by the
 * EventBridge rule and the handler so they cannot disagree.
 */
export const TERMINAL_COMMAND_STATUSES = [
  'Success', 'Failed', 'TimedOut', 'Cancelled',
  'Undeliverable', 'DeliveryTimedOut', 'ExecutionTimedOut', 'AccessDenied', 'Terminated',
] as const;

/** The `hookName` parameter of a Spot rescue, which has no lifecycle action. Matches HOOK_NAME_PATTERN. */
export const NO_LIFECYCLE_HOOK = 'none';

/** The EventBridge events the rescue flow runs on: the rules match them and the handler parses them. */
export const EVENTS = {
  lifecycle: { source: 'aws.autoscaling', detailType: 'EC2 Instance-terminate Lifecycle Action' },
  commandStatus: { source: 'aws.ssm', detailType: 'EC2 Command Status-change Notification' },
  commandInvocation: { source: 'aws.ssm', detailType: 'EC2 Command Invocation Status-change Notification' },
  spotWarning: { source: 'aws.ec2', detailType: 'EC2 Spot Instance Interruption Warning' },
} as const;

/** SendCommand takes at most 50 instance ids; the handler sends one command per group of up to 50. */
export const MAX_INSTANCES_PER_COMMAND = 50;

/**
 * A short code per region for names: `us-east-1` -> `use1`, `ap-southeast-4` -> `apse4`,
 * `us-gov-west-1` -> `usgw1`. At most 5 characters for every region the schema knows (a test
 * checks all of them and that no two share a code).
 */
export function regionCode(region: string): string {
  const WORDS: Record<string, string> = {
    north: 'n', south: 's', east: 'e', west: 'w', central: 'c', northeast: 'ne', southeast: 'se', northwest: 'nw', southwest: 'sw', gov: 'g',
  };
  const parts = region.split('-');
  return parts[0] + parts.slice(1, -1).map((w) => WORDS[w] ?? w).join('') + parts[parts.length - 1];
}

/** What every stack's name prefix may be at most: project (20) + "-" + environment (12). */
export const MAX_NAME_PREFIX = 33;

