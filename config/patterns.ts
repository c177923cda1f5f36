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

/** The stacks of this app; each has its own state (and Terraform Cloud workspace). */
export const STACK_NAMES = ['log-rescue', 'session-logs', 'demo-fleet'] as const;

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
  spotWarning: { source: 'aws.ec2', detailType: 'EC2 Spot Instance Interruption Warning' },
} as const;
