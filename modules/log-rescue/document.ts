import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { SsmDocument } from '@cdktf/provider-aws/lib/ssm-document';
import {
  ASG_NAME_PATTERN, HOOK_NAME_PATTERN, LOG_GLOB_PATTERN, MAX_LOG_GLOBS, MAX_LOG_GLOBS_LENGTH, MAX_RESCUE_PREFIX_LENGTH, NO_LIFECYCLE_HOOK,
  NOTHING_COLLECTED_EXIT_CODE,
} from '../../config/patterns';
import { DEFAULT_MAX_TOTAL_MB, MAX_TOTAL_MB_RANGE } from '../../config/schema';
import { escapeTemplate, multilineText } from '../shared/terraform-text';
import { named } from '../shared/addresses';

/**
 * The SSM Command document that uploads an instance's logs to S3 (DESIGN.md, Flow 1 step 4).
 *
 * The shell script is `collect-logs.sh`, kept as a real file so it can be read, linted and run by
 * tests; this module wraps it in the document. Parameters reach the script only as environment
 * variables (`interpolationType: ENV_VAR`), and every one has an anchored `allowedPattern` whose
 * alphabet is inert inside the double quotes of the old-agent fallback, so no parameter value can
 * become shell code on any agent version.
 */

/**
 * The script that runs on the instance. Its header still names `modules/rescue-document.ts`, this
 * file's path before the flow folders: the script's text is the deployed document's content, so
 * correcting a comment alone would update every deployed document. Correct it with the next real
 * change of the script.
 */
export const COLLECT_LOGS_SCRIPT_PATH = path.join(__dirname, 'collect-logs.sh');

/** Document parameter names; the script reads each as `SSM_<name>`. */
export const RESCUE_DOCUMENT_PARAMETERS = ['asgName', 'hookName', 'trigger', 'eventTime', 'logGlobs', 'includeJournal'] as const;
export type RescueDocumentParameter = (typeof RESCUE_DOCUMENT_PARAMETERS)[number];

/** The hook name sent for a Spot interruption, which has no lifecycle action. */
export { NO_LIFECYCLE_HOOK };

/** At most this many globs in one `logGlobs` value, of at most this many characters joined (the config's own limits). */
export { MAX_LOG_GLOBS, MAX_LOG_GLOBS_LENGTH };

/** Anchored pattern without its anchors, to be combined into a bigger one. */
function unanchored(pattern: string): string {
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) throw new Error(`pattern is not anchored: ${pattern}`);
  return pattern.slice(1, -1);
}

/**
 * One glob of `logGlobs`: LOG_GLOB_PATTERN's alphabet, absolute, and no `.` or `..` path segment.
 * Written without look-arounds (the SSM service checks it, not JavaScript) and unambiguous, so
 * matching stays linear (no catastrophic backtracking): a segment is empty, or starts with a
 * non-dot, or with one dot and a non-dot, or with two dots and anything.
 */
function logGlobSubpattern(): string {
  const m = /^\^\/\[(.+)\]\{0,\d+\}\$$/.exec(LOG_GLOB_PATTERN);
  if (!m || !m[1].includes('.') || !m[1].includes('/')) {
    throw new Error(`LOG_GLOB_PATTERN changed shape (${LOG_GLOB_PATTERN}); update logGlobSubpattern`);
  }
  const withDot = m[1].replace('/', '');
  const noDot = withDot.replace('.', '');
  const segment = `(\\.?[${noDot}][${withDot}]*|\\.\\.[${withDot}]+)?`;
  return `/${segment}(/${segment})*`;
}

const GLOB = logGlobSubpattern();

/** The anchored `allowedPattern` of every parameter (Java and JavaScript read them alike). */
export const RESCUE_PARAMETER_PATTERNS: Readonly<Record<RescueDocumentParameter, string>> = {
  asgName: ASG_NAME_PATTERN,
  hookName: `^(${NO_LIFECYCLE_HOOK}|${unanchored(HOOK_NAME_PATTERN)})$`,
  trigger: '^(lifecycle|spot)$',
  eventTime: '^[0-9]{8}T[0-9]{6}Z$',
  logGlobs: `^${GLOB}(\\|${GLOB}){0,${MAX_LOG_GLOBS - 1}}$`,
  includeJournal: '^(true|false)$',
};

export interface RescueDocumentContentProps {
  /** Bucket the logs go to; a literal name or a Terraform reference (cdktf token). */
  readonly bucketName: string;
  /** Key prefix, no leading or trailing slash (config `logRescue.prefix`). */
  readonly prefix: string;
  /**
   * SSE-KMS key the objects are encrypted with; a literal ARN or a Terraform reference.
   * @default SSE-S3 (AES256)
   */
  readonly kmsKeyArn?: string;
  /** Default of the `logGlobs` parameter (config `logRescue.command.logGlobs`). */
  readonly logGlobs: string[];
  /** Default of the `includeJournal` parameter. */
  readonly includeJournal: boolean;
  /** `timeoutSeconds` of the shell step. */
  readonly executionTimeoutSeconds: number;
  /**
   * Most megabytes (MiB) of logs one run collects, newest files first (config
   * `logRescue.command.maxTotalMb`); a constant of the script, not a parameter.
   * @default DEFAULT_MAX_TOTAL_MB (2048)
   */
  readonly maxTotalMb?: number;
}

/** Where the document uploads to: the archive bucket, and its SSE-KMS key when it has one. */
export interface RescueDestination {
  /** A literal name or a Terraform reference. */
  readonly bucketName: string;
  /**
   * A literal ARN or a Terraform reference.
   * @default SSE-S3 (AES256)
   */
  readonly kmsKeyArn?: string;
}

export interface RescueDocumentProps extends Omit<RescueDocumentContentProps, 'bucketName' | 'kmsKeyArn'> {
  /** Name of the SSM document. */
  readonly name: string;
  /** The bucket the logs go to (a LogArchiveBucket is one). */
  readonly archive: RescueDestination;
}

/** The rescue SSM Command document (`aws_ssm_document.rescue_logs`), Linux instances only. */
export class RescueDocument extends Construct {
  readonly document: SsmDocument;
  /** The document's name: what SendCommand, the command rules and the handler's IAM policy name. */
  readonly name: string;

  constructor(scope: Construct, id: string, props: RescueDocumentProps) {
    super(scope, id);
    const { name, archive, ...content } = props;
    this.document = named(new SsmDocument(this, 'document', {
      name,
      documentType: 'Command',
      documentFormat: 'JSON',
      targetType: '/AWS::EC2::Instance',
      content: rescueDocumentContent({ ...content, bucketName: archive.bucketName, kmsKeyArn: archive.kmsKeyArn }),
    }), 'rescue_logs');
    this.name = this.document.name;
  }
}

/** cdktf's string form of an unresolved value; Terraform renders it before the script ever runs. */
const TOKEN = /\$\{TfToken\[[A-Za-z0-9_.]+\]\}/g;
const isToken = (value: string) => value.replace(TOKEN, '') !== value;

const LITERAL_RULES = {
  bucketName: { re: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, what: 'an S3 bucket name' },
  prefix: { re: /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/, what: 'path segments of letters, digits, _ and - joined by /' },
  kmsKeyArn: { re: /^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/, what: 'a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)' },
} as const;

/**
 * Throws unless the destination can be written into the script as single-quoted constants.
 * A literal must have the script's own alphabet (which has no `'`, `$`, `{` or newline); a
 * Terraform reference must be the whole value, so the rendered text is exactly the resource's
 * attribute (a bucket name or key ARN, which cannot hold a quote either).
 */
export function assertScriptSafeDestination(props: Pick<RescueDocumentContentProps, 'bucketName' | 'prefix' | 'kmsKeyArn'>): void {
  const check = (name: keyof typeof LITERAL_RULES, value: string | undefined, tokenAllowed: boolean) => {
    if (value === undefined) return;
    if (isToken(value)) {
      if (tokenAllowed && value.replace(TOKEN, '') === '' && value.match(TOKEN)?.length === 1) return;
      throw new Error(`rescue document: ${name} must be a literal or exactly one Terraform reference, got ${JSON.stringify(value)}`);
    }
    if (value.includes("'") || !LITERAL_RULES[name].re.test(value)) {
      throw new Error(`rescue document: ${name} ${JSON.stringify(value)} cannot be written into the script: it must be ${LITERAL_RULES[name].what}`);
    }
    // The document's size is proven for the longest prefix the config accepts, and S3 keys end there.
    if (name === 'prefix' && value.length > MAX_RESCUE_PREFIX_LENGTH) {
      throw new Error(`rescue document: prefix is ${value.length} characters; at most ${MAX_RESCUE_PREFIX_LENGTH} (S3 keys are at most 1,024 bytes)`);
    }
  };
  check('bucketName', props.bucketName, true);
  check('prefix', props.prefix, false);
  check('kmsKeyArn', props.kmsKeyArn, true);
}

/** The documented fallback for agents older than 3.3.2746.0, which ignore `interpolationType`. */
function oldAgentFallback(name: RescueDocumentParameter): string {
  return `if [ -z "\${SSM_${name}+x}" ]; then export SSM_${name}="{{${name}}}"; fi`;
}

function scriptLines(): string[] {
  const text = readFileSync(COLLECT_LOGS_SCRIPT_PATH, 'utf8');
  if (text.includes('\r')) throw new Error(`${COLLECT_LOGS_SCRIPT_PATH} has CR line endings`);
  // `{{ ... }}` is SSM's own parameter syntax; the script must only ever read the environment.
  if (text.includes('{{')) throw new Error(`${COLLECT_LOGS_SCRIPT_PATH} must not contain {{`);
  const lines = text.replace(/\n$/, '').split('\n');
  // The document's first line is the shebang; the fallback and the constants come before the script.
  return lines[0].startsWith('#!') ? lines.slice(1) : lines;
}

/** Stand-ins for the Terraform references, swapped in after escaping so they stay unescaped. */
const SLOTS = { bucketName: '@@LOG_RESCUE_BUCKET@@', kmsKeyArn: '@@LOG_RESCUE_KMS_KEY_ARN@@' } as const;

/**
 * The document's JSON text, ready for `aws_ssm_document.content`: every literal `${`/`%{` is
 * escaped for Terraform, while `bucketName`/`kmsKeyArn` tokens stay references Terraform renders.
 */
export function rescueDocumentContent(props: RescueDocumentContentProps): string {
  assertScriptSafeDestination(props);
  const globsProblem = logGlobsProblem(props.logGlobs);
  if (globsProblem) throw new Error(`rescue document: logGlobs ${globsProblem}`);
  const timeout = props.executionTimeoutSeconds;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 172800) {
    throw new Error(`rescue document: executionTimeoutSeconds must be an integer 1..172800, got ${timeout}`);
  }

  const maxTotalMb = props.maxTotalMb ?? DEFAULT_MAX_TOTAL_MB;
  if (!Number.isInteger(maxTotalMb) || maxTotalMb < MAX_TOTAL_MB_RANGE.min || maxTotalMb > MAX_TOTAL_MB_RANGE.max) {
    throw new Error(`rescue document: maxTotalMb must be an integer ${MAX_TOTAL_MB_RANGE.min}..${MAX_TOTAL_MB_RANGE.max}, got ${maxTotalMb}`);
  }

  const lines = [
    '#!/bin/bash',
    ...RESCUE_DOCUMENT_PARAMETERS.map(oldAgentFallback),
    `LOG_RESCUE_BUCKET='${SLOTS.bucketName}'`,
    `LOG_RESCUE_PREFIX='${props.prefix}'`,
    `LOG_RESCUE_KMS_KEY_ARN='${props.kmsKeyArn === undefined ? '' : SLOTS.kmsKeyArn}'`,
    'readonly LOG_RESCUE_BUCKET LOG_RESCUE_PREFIX LOG_RESCUE_KMS_KEY_ARN',
    // Rendered from the config and the shared contract, so neither is written twice.
    `readonly LOG_RESCUE_MAX_TOTAL_MB=${maxTotalMb} LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE=${NOTHING_COLLECTED_EXIT_CODE}`,
    ...scriptLines(),
  ];

  const parameter = (name: RescueDocumentParameter, description: string, defaultValue?: string) => ({
    type: 'String',
    description,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    interpolationType: 'ENV_VAR',
    allowedPattern: RESCUE_PARAMETER_PATTERNS[name],
  });

  const document = {
    schemaVersion: '2.2',
    description: `Streams this instance's logs (newest first, at most ${maxTotalMb} MiB) as one tar.gz plus manifest.json to <bucket>/${props.prefix}/<asgName>/<instance-id>/<eventTime>/, multipart when large, every part with a checksum S3 verifies (SHA-256, or Content-MD5 on old AWS CLIs). Exits ${NOTHING_COLLECTED_EXIT_CODE} when nothing was collected.`,
    parameters: {
      asgName: parameter('asgName', 'Auto Scaling group of the instance; part of the object key.'),
      hookName: parameter('hookName', `Lifecycle hook that holds the instance, or "${NO_LIFECYCLE_HOOK}" for a Spot interruption.`, NO_LIFECYCLE_HOOK),
      trigger: parameter('trigger', 'What ends the instance: lifecycle (scale-in) or spot (interruption warning).', 'lifecycle'),
      eventTime: parameter('eventTime', 'UTC time of the event, YYYYMMDDTHHMMSSZ; part of the object key, so a repeated event overwrites instead of duplicating.'),
      // Only the configured globs: whoever may send this document must not be able to archive
      // other files of the instance (say /etc/shadow) into the bucket. So the list is here twice,
      // as the default (the handler sends no logGlobs) and as the pin; the config bounds its length
      // (MAX_LOG_GLOBS_LENGTH) so that both copies fit SSM's 64 KB document limit.
      logGlobs: {
        ...parameter('logGlobs', 'Absolute paths or globs of the logs to collect, separated by |. Directories are collected recursively.', props.logGlobs.join('|')),
        allowedPattern: `^${escapeRegExp(props.logGlobs.join('|'))}$`,
      },
      includeJournal: parameter('includeJournal', 'Also export the systemd journal of the current boot: true or false.', String(props.includeJournal)),
    },
    mainSteps: [{
      action: 'aws:runShellScript',
      name: 'uploadLogs',
      precondition: { StringEquals: ['platformType', 'Linux'] },
      inputs: { timeoutSeconds: timeout, runCommand: lines },
    }],
  };

  let text = multilineText(escapeTemplate(JSON.stringify(document, null, 2)));
  if (text.split(SLOTS.bucketName).length !== 2 || text.split(SLOTS.kmsKeyArn).length > 2) {
    throw new Error('rescue document: the script text contains a reserved placeholder');
  }
  text = text.replace(SLOTS.bucketName, () => props.bucketName);
  const kmsKeyArn = props.kmsKeyArn;
  if (kmsKeyArn !== undefined) text = text.replace(SLOTS.kmsKeyArn, () => kmsKeyArn);
  return text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Why these globs cannot be the `logGlobs` parameter, or undefined when they can. */
export function logGlobsProblem(globs: readonly string[]): string | undefined {
  if (globs.length === 0 || globs.length > MAX_LOG_GLOBS) return `must have 1..${MAX_LOG_GLOBS} globs`;
  const length = globs.join('|').length;
  // The list is in the document twice (default and pinned pattern): this keeps it within SSM's 64 KB.
  if (length > MAX_LOG_GLOBS_LENGTH) return `are ${length} characters joined with |; at most ${MAX_LOG_GLOBS_LENGTH} keep the document within SSM's 64 KB`;
  const single = new RegExp(`^${GLOB}$`);
  const bad = globs.filter((g) => !new RegExp(LOG_GLOB_PATTERN).test(g) || !single.test(g));
  if (bad.length > 0) {
    return `${JSON.stringify(bad)} not allowed: absolute, of letters, digits, space and _ . * ? + @ % , / [ ] -, without . or .. segments`;
  }
  return undefined;
}
