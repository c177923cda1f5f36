/**
 * Pull-request plan summary: read `terraform show -json <planfile>` of one or more stacks and print
 * Markdown for a PR comment (counts, changed resources, IAM statement diffs, a data-loss warning).
 *
 *   npm run --silent plan-summary -- <plan.json> [<plan.json> ...] [--allow-destroy]
 *
 * Exit codes: 0 summary printed; 2 a change would lose data (see DATA_LOSS_TYPES for deletes and
 * replaces, and `dataLossOf` for losses that hide in an update) and `--allow-destroy` was not
 * given (the summary is still printed); 1 unusable input or arguments.
 *
 * Plan JSON format: Terraform's "JSON Output Format" (developer.hashicorp.com/terraform/internals/
 * json-format, "Change Representation"), and for the action lists Terraform 1.11 writes,
 * `actionString` in hashicorp/terraform internal/command/jsonplan/plan.go, which also emits
 * ["forget"] (a `removed` block with `destroy = false`) and ["create","forget"] (plans.CreateThenForget:
 * "must be replaced, but the existing object will not be destroyed").
 *
 * Only attribute names are printed for changed resources, never their values, because a plan JSON
 * carries sensitive values in clear text; policy documents are printed unless marked sensitive.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeJsonExpression, isExpr, Value } from './hcl-expr';

/** The hidden marker a workflow searches for to update its own comment instead of adding one. */
export const COMMENT_MARKER = '<!-- log-rescue-plan-summary -->';

/**
 * Resource types whose delete or replace loses data, and why. A replace is a delete too: the new
 * resource starts empty. Deliberately absent: aws_s3_object (the bucket is the unit we protect),
 * aws_athena_workgroup (query results live in S3, the workgroup holds only settings).
 */
export const DATA_LOSS_TYPES: Readonly<Record<string, string>> = {
  // The archive itself: every rescued log and session record lives in it.
  aws_s3_bucket: 'S3 bucket: every object in it (rescued logs, session records) goes with it',
  // Session logs land here first; events not yet delivered to S3, and the retention window, are lost.
  aws_cloudwatch_log_group: 'CloudWatch log group: its log events are deleted',
  // Firehose buffers records before delivery; buffered and retried records are dropped.
  aws_kinesis_firehose_delivery_stream: 'Firehose stream: records buffered or awaiting retry are dropped',
  // Partitions and the schema Athena queries use; recreating loses partitions added since.
  aws_glue_catalog_table: 'Glue table: its schema and partitions are deleted; Athena queries break until rebuilt',
  // Deleting a database deletes every table in it.
  aws_glue_catalog_database: 'Glue database: every table in it is deleted with it',
  // After the deletion window nothing encrypted with the key (objects, log events) can be decrypted.
  aws_kms_key: 'KMS key: everything encrypted with it becomes unreadable once the key is deleted',
  // The dead-letter queue holds the events that failed; deleting it loses them.
  aws_sqs_queue: 'SQS queue: queued messages (failed events in a dead-letter queue) are lost',
  // Table items are deleted with the table.
  aws_dynamodb_table: 'DynamoDB table: every item in it is deleted',
};

/**
 * Attributes that hold a policy document, per resource type. `inline_policy[*].policy` means each
 * block of `inline_policy`, told apart by its `name`.
 */
export const POLICY_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  aws_iam_policy: ['policy'],
  aws_iam_role: ['assume_role_policy', 'inline_policy[*].policy'],
  aws_iam_role_policy: ['policy'],
  aws_iam_user_policy: ['policy'],
  aws_iam_group_policy: ['policy'],
  aws_iam_policy_document: ['json'],
  aws_s3_bucket_policy: ['policy'],
  aws_kms_key: ['policy'],
  aws_sqs_queue: ['policy'],
  aws_sqs_queue_policy: ['policy'],
  aws_sns_topic: ['policy'],
  aws_sns_topic_policy: ['policy'],
  aws_cloudwatch_log_resource_policy: ['policy_document'],
  aws_cloudwatch_event_bus_policy: ['policy'],
};

/**
 * Policies that are optional and computed, and usually managed by a separate resource
 * (aws_sqs_queue_policy, aws_iam_role_policy...): on a new resource they are unknown whether or not
 * anyone set them, so "known after apply" with nothing before says nothing and is left out.
 */
const COMPUTED_POLICY_ATTRIBUTES: ReadonlySet<string> = new Set([
  'aws_iam_role.inline_policy[*].policy',
  'aws_sqs_queue.policy',
  'aws_sns_topic.policy',
]);

export type Action = 'create' | 'update' | 'replace' | 'delete' | 'no-op' | 'read' | 'forget';
const COUNTED: readonly Action[] = ['create', 'update', 'replace', 'delete', 'no-op'];
const COUNTED_IF_ANY: readonly Action[] = ['read', 'forget'];

const REASONS: Readonly<Record<string, string>> = {
  replace_because_tainted: 'tainted',
  replace_because_cannot_update: 'an argument forces replacement',
  replace_by_request: 'replacement requested (-replace)',
  replace_by_triggers: 'replace_triggered_by',
  delete_because_no_resource_config: 'removed from configuration',
  delete_because_no_module: 'its module was removed',
  delete_because_wrong_repetition: 'count/for_each added or removed',
  delete_because_count_index: 'count index out of range',
  delete_because_each_key: 'for_each key no longer present',
  delete_because_no_move_target: 'moved target does not exist',
  read_because_config_unknown: 'configuration known only after apply',
  read_because_dependency_pending: 'depends on pending changes',
  read_because_check_nested: 'nested check block',
};

export interface ResourceSummary {
  readonly address: string;
  readonly type: string;
  readonly action: Action;
  /** Raw Terraform actions, e.g. ["create","delete"] for create-before-destroy. */
  readonly actions: readonly string[];
  readonly reason?: string;
  /** Changed attribute names, with notes like "forces replacement" or "known after apply". */
  readonly attributes: readonly string[];
  readonly previousAddress?: string;
  readonly importId?: string;
}

export interface Statement {
  readonly [key: string]: unknown;
}

export type PolicyState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'sensitive' }
  | { readonly kind: 'invalid'; readonly raw: string }
  | { readonly kind: 'document'; readonly statements: readonly Statement[] }
  /** Known only after apply, read from the stack's configuration: unknown parts are `<placeholders>`. */
  | { readonly kind: 'planned'; readonly statements: readonly Statement[] };

export interface PolicyChange {
  /** Resource address, or `output.<name>`. */
  readonly address: string;
  /** Which policy of the resource, e.g. `policy` or `inline_policy["s3-write"]`. */
  readonly attribute: string;
  readonly action: Action;
  readonly before: PolicyState;
  readonly after: PolicyState;
  readonly added: readonly Statement[];
  readonly removed: readonly Statement[];
}

/** Which rule found a data loss; `destroy` is a delete or replace of a data-holding resource. */
export type DataLossRule =
  | 'destroy' | 'session-preferences' | 'retention' | 'lifecycle-expiration' | 'lifecycle-noncurrent'
  | 'lifecycle-transition' | 'lifecycle-filter' | 'versioning' | 'kms-disabled' | 'object-lock'
  | 'policy-writer-removed' | 'policy-writer-denied';

export interface DataLoss {
  readonly address: string;
  readonly type: string;
  readonly action: Action;
  readonly rule: DataLossRule;
  readonly why: string;
}

/** A data-holding resource Terraform stops managing: not data loss (the data stays), but listed. */
export interface Forgotten {
  readonly address: string;
  readonly type: string;
  /** Raw Terraform actions: ["forget"], or ["create","forget"] when a new object replaces it. */
  readonly actions: readonly string[];
  readonly what: string;
}

/** A resource whose address changes (a `moved` block): Terraform moves it in the state, AWS sees nothing. */
export interface Move {
  readonly from: string;
  readonly to: string;
  /** What else happens to it: `no-op` for a pure move. */
  readonly action: Action;
}

export interface StackSummary {
  readonly stack: string;
  readonly counts: Readonly<Record<Action, number>>;
  /** Every resource change except unchanged ones that are neither moved nor imported; by address. */
  readonly changes: readonly ResourceSummary[];
  /** Every address change, by new address. */
  readonly moves: readonly Move[];
  readonly policies: readonly PolicyChange[];
  readonly dataLoss: readonly DataLoss[];
  readonly forgotten: readonly Forgotten[];
  /** Why the stack's configuration (cdk.tf.json) was given but not used for planned policies. */
  readonly configurationNote?: string;
}

export interface SummarizeOptions {
  /**
   * The stack's synthesized configuration (`cdk.tf.json`), to show policies the plan knows only
   * after apply as the expressions they are planned from. Used only if it declares exactly the
   * resources the plan's own configuration does.
   */
  readonly configuration?: unknown;
}

/** Thrown for input that is not a Terraform plan JSON; the message says what is wrong. */
export class PlanInputError extends Error {}

// ---------------------------------------------------------------------------------------------
// Summarizing

/** Summarize one stack's `terraform show -json` plan. Throws PlanInputError on a non-plan. */
export function summarizePlan(planJson: unknown, stackName: string, opts: SummarizeOptions = {}): StackSummary {
  const plan = validatePlan(planJson);
  const { configuration, note: configurationNote } = matchingConfiguration(plan, opts.configuration);
  const counts = Object.fromEntries([...COUNTED, ...COUNTED_IF_ANY].map((a) => [a, 0])) as Record<Action, number>;
  const changes: ResourceSummary[] = [];
  const policies: PolicyChange[] = [];
  const dataLoss: DataLoss[] = [];
  const forgotten: Forgotten[] = [];

  const context = planContext(plan);
  for (const rc of plan.resource_changes) {
    const change = rc.change;
    const action = classify(change.actions, rc.address);
    counts[action] += 1;
    const importing = isObject(change.importing) ? change.importing : undefined;
    // `importing.id` is the import ID; Terraform leaves it out when the ID is known only at apply.
    const importId = importing === undefined ? undefined : typeof importing.id === 'string' ? importing.id : '';
    const previousAddress = typeof rc.previous_address === 'string' ? rc.previous_address : undefined;
    if (action !== 'no-op' || importId !== undefined || previousAddress !== undefined) {
      changes.push({
        address: rc.address,
        type: String(rc.type ?? ''),
        action,
        actions: change.actions,
        reason: typeof rc.action_reason === 'string' ? rc.action_reason : undefined,
        attributes: action === 'update' || action === 'replace' ? changedAttributes(change, action) : [],
        previousAddress,
        importId,
      });
    }
    if (rc.mode !== 'data') {
      dataLoss.push(...dataLossOf(rc, action, context));
      const holds = holdsData(rc);
      if (holds && change.actions.includes('forget')) {
        forgotten.push({ address: rc.address, type: rc.type, actions: change.actions, what: holds });
      }
    }
    if (action !== 'no-op' && action !== 'forget' && rc.type in POLICY_ATTRIBUTES) {
      policies.push(...resourcePolicyChanges(rc.address, rc.type, action, change, configuration));
    }
  }
  policies.push(...outputPolicyChanges(plan.output_changes, configuration));

  const byAddress = <T extends { address: string }>(a: T, b: T) => compare(a.address, b.address);
  return {
    stack: stackName,
    counts,
    changes: changes.sort(byAddress),
    moves: changes.filter((c) => c.previousAddress !== undefined)
      .map((c) => ({ from: c.previousAddress!, to: c.address, action: c.action })),
    policies: policies.sort((a, b) => byAddress(a, b) || compare(a.attribute, b.attribute)),
    dataLoss: dataLoss.sort((a, b) => byAddress(a, b) || compare(a.rule, b.rule)),
    forgotten: forgotten.sort(byAddress),
    ...(configurationNote ? { configurationNote } : {}),
  };
}

/** Resource addresses a configuration declares: `type.name` and `data.type.name`. */
function declaredIn(config: unknown): string[] {
  const out: string[] = [];
  for (const [mode, prefix] of [['resource', ''], ['data', 'data.']] as const) {
    for (const [type, byName] of Object.entries(isObject(config) && isObject(config[mode]) ? config[mode] : {})) {
      for (const name of Object.keys(isObject(byName) ? byName : {})) out.push(`${prefix}${type}.${name}`);
    }
  }
  return out.sort(compare);
}

/** The configuration, if it is the one this plan was made from (same resources declared), else why not. */
function matchingConfiguration(plan: RawPlan, config: unknown): { configuration?: Record<string, any>; note?: string } {
  if (config === undefined) return {};
  const planned = ((get(plan, ['configuration', 'root_module', 'resources']) ?? []) as unknown[])
    .map((r) => String(get(r, ['address']))).sort(compare);
  const given = declaredIn(config);
  if (!isObject(config) || JSON.stringify(planned) !== JSON.stringify(given)) {
    return { note: 'the synthesized configuration does not declare the resources this plan was made from, so policies known only after apply are not shown' };
  }
  return { configuration: config };
}

/**
 * A policy the plan knows only after apply, from the configuration: `${jsonencode({...})}` (what
 * cdktf writes for Fn.jsonencode) read back, each reference or function call a `<placeholder>`.
 */
function plannedPolicy(configuration: Record<string, any> | undefined, address: string, attr: string): PolicyState | undefined {
  if (!configuration) return undefined;
  const m = /^(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)(\[.*\])?$/.exec(address);
  const out = /^output\.(.+)$/.exec(address);
  const expr = out ? get(configuration, ['output', out[1], 'value'])
    : m ? get(configuration, [m[1] ? 'data' : 'resource', m[2], m[3], attr]) : undefined;
  if (typeof expr !== 'string' || !expr.startsWith('${jsonencode(')) return undefined;
  let doc: unknown;
  try {
    doc = withPlaceholders(decodeJsonExpression(expr));
  } catch {
    return undefined;
  }
  if (!isObject(doc) || doc.Statement === undefined) return undefined;
  const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return list.every(isObject) ? { kind: 'planned', statements: list.map(normalizeStatement) } : undefined;
}

/** A reference or expression as a reviewer reads it: `<aws_s3_bucket.archive arn>`, `<account id>`. */
export function placeholder(expr: string): string {
  const e = expr.trim();
  const known: [RegExp, string][] = [
    [/^data\.aws_partition\.[\w-]+\.partition$/, '<partition>'],
    [/^data\.aws_partition\.[\w-]+\.dns_suffix$/, '<dns suffix>'],
    [/^data\.aws_caller_identity\.[\w-]+\.account_id$/, '<account id>'],
    [/^data\.aws_region\.[\w-]+\.(name|region)$/, '<region>'],
  ];
  for (const [re, label] of known) if (re.test(e)) return label;
  const ref = /^((?:data\.)?[a-z0-9_]+\.[\w-]+(?:\[[^\]]*\])?)\.([a-z0-9_]+)$/.exec(e);
  if (ref) return `<${ref[1]} ${ref[2]}>`;
  return `<${truncate(e.replace(/\s+/g, ' '), 80)}>`;
}

function withPlaceholders(v: Value): unknown {
  if (isExpr(v)) return placeholder(v.$expr);
  if (typeof v === 'string') return v.replace(/\$\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}/g, (_, inner: string) => placeholder(inner));
  if (Array.isArray(v)) return v.map(withPlaceholders);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withPlaceholders(x as Value)]));
  return v;
}

interface RawChange {
  actions: string[];
  before?: unknown;
  after?: unknown;
  after_unknown?: unknown;
  before_sensitive?: unknown;
  after_sensitive?: unknown;
  replace_paths?: unknown;
  importing?: any;
}
interface RawResourceChange {
  address: string;
  mode?: string;
  type: string;
  previous_address?: unknown;
  action_reason?: unknown;
  change: RawChange;
}
interface RawPlan {
  resource_changes: RawResourceChange[];
  output_changes?: Record<string, RawChange>;
  /** The configuration the plan was made from (addresses and expressions, not values). */
  configuration?: unknown;
}

const NOT_A_PLAN = 'expected the output of `terraform show -json <planfile>`';

function validatePlan(json: unknown): RawPlan {
  if (!isObject(json)) throw new PlanInputError(`not a Terraform plan JSON: the top level is not an object (${NOT_A_PLAN})`);
  const fv = json.format_version;
  if (typeof fv !== 'string' || !/^1\.\d+$/.test(fv)) {
    throw new PlanInputError(`not a Terraform plan JSON: format_version is ${fv === undefined ? 'missing' : JSON.stringify(fv)}, ` +
      `expected "1.x" (${NOT_A_PLAN})`);
  }
  if (json.resource_changes === undefined) {
    // Terraform omits resource_changes from a plan with nothing in it, but a plan always has
    // planned_values; state JSON (`terraform show -json` without a plan file) has `values` instead.
    if (!isObject(json.planned_values)) {
      throw new PlanInputError(`not a Terraform plan JSON: it has no resource_changes` +
        `${isObject(json.values) ? ' (this looks like state JSON, not a plan)' : ''} (${NOT_A_PLAN})`);
    }
  } else if (!Array.isArray(json.resource_changes)) {
    throw new PlanInputError(`not a Terraform plan JSON: resource_changes is not an array (${NOT_A_PLAN})`);
  }
  const resourceChanges = (json.resource_changes ?? []) as unknown[];
  resourceChanges.forEach((rc, i) => {
    const ok = isObject(rc) && typeof rc.address === 'string' && isObject(rc.change) && Array.isArray(rc.change.actions) &&
      rc.change.actions.every((a: unknown) => typeof a === 'string');
    if (!ok) throw new PlanInputError(`not a Terraform plan JSON: resource_changes[${i}] has no address or change.actions (${NOT_A_PLAN})`);
  });
  if (json.output_changes !== undefined && !isObject(json.output_changes)) {
    throw new PlanInputError(`not a Terraform plan JSON: output_changes is not an object (${NOT_A_PLAN})`);
  }
  return { resource_changes: resourceChanges as RawResourceChange[], output_changes: json.output_changes as Record<string, RawChange> | undefined, configuration: json.configuration };
}

function classify(actions: readonly string[], address: string): Action {
  const key = actions.join(',');
  switch (key) {
    case 'create': case 'update': case 'delete': case 'no-op': case 'read': case 'forget':
      return key;
    // "create,forget": replaced, but the old object is forgotten instead of destroyed.
    case 'delete,create': case 'create,delete': case 'create,forget':
      return 'replace';
    default:
      throw new PlanInputError(`resource ${address} has actions ${JSON.stringify(actions)}, which this summary does not know`);
  }
}

// ---------------------------------------------------------------------------------------------
// Data loss

/** The account's regional Session Manager preferences: every session that names no document uses it. */
export const SESSION_PREFERENCES_DOCUMENT = 'SSM-SessionManagerRunShell';

/**
 * Storage classes Athena skips: "If you do not enable the feature on a table before you run a query,
 * Athena skips all of the table's S3 Glacier Flexible Retrieval and S3 Glacier Deep Archive objects"
 * (Amazon Athena User Guide, "Query restored Amazon S3 Glacier objects",
 * docs.aws.amazon.com/athena/latest/ug/querying-glacier.html). GLACIER_IR stays readable.
 */
export const ATHENA_UNREADABLE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/**
 * What a writer of the stack's data needs from a resource policy, per policy-bearing type: S3
 * PutObject on the bucket; for a key, GenerateDataKey (S3 SSE-KMS, Firehose) and Encrypt
 * (CloudWatch Logs) on the key.
 */
export const WRITER_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  aws_s3_bucket_policy: ['s3:PutObject'],
  aws_kms_key: ['kms:GenerateDataKey', 'kms:Encrypt'],
  aws_kms_key_policy: ['kms:GenerateDataKey', 'kms:Encrypt'],
};

interface PlanContext {
  /** `bucket` names of the S3 buckets this plan creates (new or replacing), as far as known. */
  readonly bucketsCreated: ReadonlySet<string>;
}

function planContext(plan: RawPlan): PlanContext {
  const bucketsCreated = new Set<string>();
  for (const rc of plan.resource_changes) {
    const name = get(rc.change.after, ['bucket']);
    if (rc.type === 'aws_s3_bucket' && rc.change.actions.includes('create') && typeof name === 'string') bucketsCreated.add(name);
  }
  return { bucketsCreated };
}

/** What a data-holding resource holds (its DATA_LOSS_TYPES line), or undefined. */
function holdsData(rc: RawResourceChange): string | undefined {
  if (isSessionPreferences(rc)) return SESSION_PREFERENCES_WHY;
  return DATA_LOSS_TYPES[rc.type];
}

/** Why deleting the session preferences document loses data. */
export const SESSION_PREFERENCES_WHY = `the account's regional Session Manager preferences (${SESSION_PREFERENCES_DOCUMENT}): ` +
  'deleting it resets every session in the region to the defaults, without the CloudWatch Logs or S3 session logging ' +
  'and session encryption it configured, until someone saves the preferences again';

function isSessionPreferences(rc: RawResourceChange): boolean {
  return rc.type === 'aws_ssm_document' &&
    (get(rc.change.before, ['name']) === SESSION_PREFERENCES_DOCUMENT || get(rc.change.after, ['name']) === SESSION_PREFERENCES_DOCUMENT);
}

/** Every way this one change loses data; each with a line that says what and why. */
function dataLossOf(rc: RawResourceChange, action: Action, ctx: PlanContext): DataLoss[] {
  const out: DataLoss[] = [];
  const add = (rule: DataLossRule, why: string) => out.push({ address: rc.address, type: rc.type, action, rule, why });
  const { before, after } = rc.change;
  // Terraform's own advice: scan the actions for "delete" to find every change that deletes the
  // object (JSON Output Format, "Change Representation"). ["create","forget"] deletes nothing.
  const deletes = rc.change.actions.includes('delete');

  if (deletes && isSessionPreferences(rc) && get(before, ['name']) === SESSION_PREFERENCES_DOCUMENT) add('session-preferences', SESSION_PREFERENCES_WHY);
  if (deletes && rc.type in DATA_LOSS_TYPES) {
    let why = DATA_LOSS_TYPES[rc.type];
    const window = get(before, ['deletion_window_in_days']);
    // The provider schedules deletion (ScheduleKeyDeletion) with this window; after it the key is gone.
    if (rc.type === 'aws_kms_key' && typeof window === 'number') why += `; deletion is scheduled ${window} days out (deletion_window_in_days), and cannot be undone once that window ends`;
    add('destroy', why);
  }
  // Updates (and creates on something that already exists) that keep the resource but lose data.
  if (action === 'update' || action === 'replace' || action === 'create' || action === 'delete') {
    switch (rc.type) {
      case 'aws_cloudwatch_log_group': if (action === 'update') retentionLoss(before, after, add); break;
      case 'aws_s3_bucket_lifecycle_configuration':
        if (action !== 'delete' && (action !== 'create' || existingBucket(rc, ctx))) lifecycleLoss(before, after, rc.change.after_unknown, add);
        break;
      case 'aws_s3_bucket_versioning': versioningLoss(action, before, after, add); break;
      case 'aws_kms_key': if (action === 'update' && get(before, ['is_enabled']) !== false && get(after, ['is_enabled']) === false) {
        add('kms-disabled', 'key disabled (is_enabled = false): nothing encrypted with it (objects, log events) can be decrypted, ' +
          'and writers that encrypt with it fail, until it is enabled again');
      } break;
      case 'aws_s3_bucket_object_lock_configuration':
        if (action !== 'delete' && get(after, ['object_lock_enabled']) === 'Enabled' && get(before, ['object_lock_enabled']) !== 'Enabled' && existingBucket(rc, ctx)) {
          const retention = get(after, ['rule', 0, 'default_retention', 0]);
          const detail = isObject(retention) && retention.mode ? `; every new object version is locked (${retention.mode}, ${retention.days ?? retention.years} ${retention.days !== null && retention.days !== undefined ? 'days' : 'years'})` : '';
          // "After you enable Object Lock on a bucket, you can't disable Object Lock or suspend
          // versioning for that bucket" (Amazon S3 User Guide, "Configuring S3 Object Lock").
          add('object-lock', `Object Lock switched on for the existing bucket ${JSON.stringify(get(after, ['bucket']))}: irreversible, ` +
            `S3 never lets it be switched off or versioning be suspended again${detail}`);
        }
        break;
      case 'aws_s3_bucket':
        // object_lock_enabled forces a new bucket (already a destroy); an in-place switch is still irreversible.
        if (action === 'update' && get(before, ['object_lock_enabled']) !== true && get(after, ['object_lock_enabled']) === true) {
          add('object-lock', 'Object Lock switched on for this bucket: irreversible, S3 never lets it be switched off again');
        }
        break;
      default: break;
    }
    if (rc.type in WRITER_ACTIONS && (action === 'update' || (rc.type !== 'aws_kms_key' && (action === 'replace' || action === 'delete')))) {
      writerLoss(rc, add);
    }
  }
  return out;
}

type Add = (rule: DataLossRule, why: string) => void;

/** True when the resource's bucket exists before this plan: known, and not created by it. */
function existingBucket(rc: RawResourceChange, ctx: PlanContext): boolean {
  const bucket = get(rc.change.after, ['bucket']);
  return typeof bucket === 'string' && get(rc.change.after_unknown, ['bucket']) !== true && !ctx.bucketsCreated.has(bucket);
}

/** Days as a number, with 0, null or absent meaning "forever" (Infinity). */
function days(v: unknown): number {
  return typeof v === 'number' && v > 0 ? v : Infinity;
}
const showDays = (d: number) => (d === Infinity ? 'never' : `${d} days`);

function retentionLoss(before: unknown, after: unknown, add: Add): void {
  // retention_in_days 0 (or unset) keeps events forever (AWS provider 5.x, r/cloudwatch_log_group:
  // "If you select 0, the events in the log group are always retained and never expire").
  const b = days(get(before, ['retention_in_days']));
  const a = days(get(after, ['retention_in_days']));
  if (a < b) {
    add('retention', `retention_in_days ${b === Infinity ? 'never expire' : b} → ${a}: CloudWatch Logs deletes every event ` +
      `older than ${a} days${b === Infinity ? '' : ` (kept ${b} days until now)`}`);
  }
}

/**
 * Lifecycle rules are paired by `id`; a rule only counts while its status is Enabled. A new rule,
 * or one switched on, is compared with "keep forever". Rule-level `expiration.date` and date-based
 * transitions are not judged (the archive uses days).
 */
function lifecycleLoss(before: unknown, after: unknown, afterUnknown: unknown, add: Add): void {
  if (get(afterUnknown, ['rule']) === true) return;
  const enabled = (v: unknown) => (Array.isArray(get(v, ['rule'])) ? (get(v, ['rule']) as unknown[]) : [])
    .filter((r): r is Record<string, any> => isObject(r) && r.status === 'Enabled');
  const beforeRules = new Map(enabled(before).map((r) => [String(r.id ?? ''), r]));
  for (const rule of enabled(after)) {
    const id = String(rule.id ?? '');
    const old = beforeRules.get(id);
    const label = `rule ${JSON.stringify(id)}`;
    const expire = (r: unknown) => days(get(r, ['expiration', 0, 'days']));
    const noncurrent = (r: unknown) => days(get(r, ['noncurrent_version_expiration', 0, 'noncurrent_days']));
    const unreadable = (r: unknown) => {
      const list = get(r, ['transition']);
      const ds = (Array.isArray(list) ? list : []).filter((t) => ATHENA_UNREADABLE_CLASSES.has(String(get(t, ['storage_class']))))
        .map((t) => ({ d: typeof get(t, ['days']) === 'number' ? (get(t, ['days']) as number) : Infinity, cls: String(get(t, ['storage_class'])) }));
      return ds.sort((x, y) => x.d - y.d)[0] ?? { d: Infinity, cls: '' };
    };
    const [eb, ea] = [expire(old), expire(rule)];
    if (ea < eb) add('lifecycle-expiration', `${label}: objects expire after ${ea} days (before: ${showDays(eb)}); S3 deletes older objects`);
    const [nb, na] = [noncurrent(old), noncurrent(rule)];
    if (na < nb) add('lifecycle-noncurrent', `${label}: replaced and deleted versions are removed after ${na} days (before: ${showDays(nb)}); older versions are lost for good`);
    const keepB = Number(get(old, ['noncurrent_version_expiration', 0, 'newer_noncurrent_versions']) ?? 0) || 0;
    const keepA = Number(get(rule, ['noncurrent_version_expiration', 0, 'newer_noncurrent_versions']) ?? 0) || 0;
    if (na !== Infinity && keepA < keepB) add('lifecycle-noncurrent', `${label}: keeps ${keepA} newer noncurrent versions (before: ${keepB}); the others are removed`);
    const [tb, ta] = [unreadable(old), unreadable(rule)];
    if (ta.d < tb.d) {
      add('lifecycle-transition', `${label}: objects move to ${ta.cls} after ${ta.d} days (before: ${tb.d === Infinity ? 'never' : `${tb.cls} after ${tb.d} days`}); ` +
        'Athena skips GLACIER and DEEP_ARCHIVE objects, so queries silently miss them until each is restored');
    }
    if (old && !deepEqual(old.filter ?? null, rule.filter ?? null) && (ea !== Infinity || na !== Infinity || ta.d !== Infinity)) {
      add('lifecycle-filter', `${label}: its filter changed, so it may now expire or archive objects it did not select before`);
    }
  }
}

function versioningLoss(action: Action, before: unknown, after: unknown, add: Add): void {
  const status = (v: unknown) => get(v, ['versioning_configuration', 0, 'status']);
  if (status(before) !== 'Enabled') return;
  const why = 'from then on an overwrite or a delete removes the only copy of an object (versions kept so far stay)';
  if (action === 'update' && status(after) !== 'Enabled' && status(after) !== undefined) {
    add('versioning', `versioning Enabled → ${String(status(after))}: ${why}`);
  } else if (action === 'delete') {
    // "Deleting this resource will either suspend versioning on the associated S3 bucket or simply
    // remove the resource from Terraform state if the associated S3 bucket is unversioned" (AWS
    // provider 5.x, r/s3_bucket_versioning).
    add('versioning', `removing aws_s3_bucket_versioning suspends versioning: ${why}`);
  }
}

/**
 * A policy change "removes the stack's own writers" when, for a writer action W of the type
 * (WRITER_ACTIONS):
 *  1. an Allow statement of the old policy granted W to a principal P, and no Allow statement of the
 *     new policy grants W to P (or to `*`); or
 *  2. the new policy adds a Deny statement without a Condition whose actions match W and whose
 *     principal is `*`, a writer from rule 1, or anyone outside its NotPrincipal.
 * Actions match with IAM wildcards, case-insensitively; principals match as exact strings.
 * Not judged: Resource, NotResource and Conditions of Allows (a narrowed Allow still counts as
 * granting), Denies with a Condition (listed in the IAM section, not counted), Allows written with
 * NotAction or NotPrincipal, and writers granted by IAM identity policies, which a resource policy
 * does not name: a bucket policy of Denies only has no writers to lose except through rule 2.
 * Unknown, sensitive or unreadable policies are not judged.
 */
function writerLoss(rc: RawResourceChange, add: Add): void {
  const writerActions = WRITER_ACTIONS[rc.type];
  const before = policyState(get(rc.change.before, ['policy']), get(rc.change.before_sensitive, ['policy']), false);
  const after = rc.change.actions.includes('create') || rc.change.actions.includes('update')
    ? policyState(get(rc.change.after, ['policy']), get(rc.change.after_sensitive, ['policy']), get(rc.change.after_unknown, ['policy']))
    : { kind: 'absent' } as PolicyState;
  if (before.kind !== 'document' || (after.kind !== 'document' && after.kind !== 'absent')) return;
  const oldStatements = before.statements;
  const newStatements = after.kind === 'document' ? after.statements : [];

  const writers = new Map<string, Set<string>>();
  for (const st of oldStatements.filter((s) => s.Effect === 'Allow' && s.NotAction === undefined && s.NotPrincipal === undefined)) {
    for (const p of principals(st.Principal)) {
      for (const a of writerActions.filter((w) => actionMatches(st.Action, w))) {
        if (!writers.has(p)) writers.set(p, new Set());
        writers.get(p)!.add(a);
      }
    }
  }
  const grantsAfter = (p: string, a: string) => newStatements.some((s) => s.Effect === 'Allow' && s.NotAction === undefined &&
    actionMatches(s.Action, a) && (s.NotPrincipal === undefined && (principals(s.Principal).includes(p) || principals(s.Principal).includes('*'))));
  for (const [p, actions] of writers) {
    const lost = [...actions].filter((a) => !grantsAfter(p, a));
    if (lost.length) add('policy-writer-removed', `policy no longer allows ${principalLabel(p)} ${lost.join(', ')} (the old policy did); writes that need it fail`);
  }

  for (const st of multisetMinus(newStatements, oldStatements)) {
    if (st.Effect !== 'Deny' || st.Condition !== undefined) continue;
    const denied = writerActions.filter((w) => (st.NotAction !== undefined ? !actionMatches(st.NotAction, w) : actionMatches(st.Action, w)));
    if (!denied.length) continue;
    let whom: string | undefined;
    if (st.NotPrincipal !== undefined) whom = `everyone except ${principals(st.NotPrincipal).map(principalLabel).join(', ')}`;
    else {
      const ps = principals(st.Principal);
      if (ps.includes('*')) whom = 'everyone';
      else {
        const named = ps.filter((p) => writers.has(p));
        if (named.length) whom = named.map(principalLabel).join(', ');
      }
    }
    if (whom) add('policy-writer-denied', `new Deny without a Condition${typeof st.Sid === 'string' && st.Sid ? ` (${st.Sid})` : ''} stops ${whom} from ${denied.join(', ')}; writes fail`);
  }
}

/** `Principal` as a list of `Type:value` strings; `*` and `{"AWS":"*"}` are everyone (`*`). */
function principals(p: unknown): string[] {
  if (p === '*') return ['*'];
  if (!isObject(p)) return [];
  return Object.entries(p).flatMap(([type, v]) => (Array.isArray(v) ? v : [v]).map((x) => (type === 'AWS' && x === '*' ? '*' : `${type}:${String(x)}`)));
}

function principalLabel(p: string): string {
  return p === '*' ? 'everyone' : code(p.replace(/^(\w+):/, '$1 '));
}

/** Whether an IAM action list (with `*` and `?` wildcards, case-insensitive) covers `action`. */
function actionMatches(patterns: unknown, action: string): boolean {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  return list.some((p) => typeof p === 'string' &&
    new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(action));
}

/** Top-level attributes that change; replace paths first and marked, then the rest by name. */
function changedAttributes(change: RawChange, action: Action): string[] {
  const before = isObject(change.before) ? change.before : {};
  const after = isObject(change.after) ? change.after : {};
  const unknown = isObject(change.after_unknown) ? change.after_unknown : {};
  const forcing = Array.isArray(change.replace_paths) ? change.replace_paths.filter(Array.isArray).map(formatPath) : [];
  const forcingRoots = new Set((Array.isArray(change.replace_paths) ? change.replace_paths : [])
    .filter((p): p is unknown[] => Array.isArray(p) && p.length > 0).map((p) => String(p[0])));
  const rest: string[] = [];
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(unknown)])].sort(compare)) {
    if (forcingRoots.has(key)) continue;
    if (containsTrue(unknown[key])) {
      // On a replace every computed attribute is unknown; only an update's unknowns say something.
      if (action === 'update' && before[key] !== null && before[key] !== undefined) rest.push(`${key} (known after apply)`);
    } else if (!deepEqual(before[key] ?? null, after[key] ?? null)) {
      rest.push(key);
    }
  }
  return [...[...new Set(forcing)].sort(compare).map((p) => `${p} (forces replacement)`), ...rest];
}

function formatPath(steps: unknown[]): string {
  return steps.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join('');
}

function resourcePolicyChanges(address: string, type: string, action: Action, change: RawChange, configuration?: Record<string, any>): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const attr of POLICY_ATTRIBUTES[type]) {
    const quiet = COMPUTED_POLICY_ATTRIBUTES.has(`${type}.${attr}`);
    for (const p of attributePolicyChanges(address, action, change, attr, configuration)) {
      const worthShowing = p.after.kind === 'unknown' || p.after.kind === 'planned'
        ? !(quiet && p.before.kind === 'absent')
        : p.added.length > 0 || p.removed.length > 0 || p.before.kind !== p.after.kind || p.before.kind === 'invalid' || p.after.kind === 'invalid';
      if (worthShowing) out.push(p);
    }
  }
  return out;
}

function attributePolicyChanges(address: string, action: Action, change: RawChange, attr: string, configuration?: Record<string, any>): PolicyChange[] {
  const m = /^(\w+)\[\*\]\.(\w+)$/.exec(attr);
  if (!m) {
    const after = policyState(get(change.after, [attr]), get(change.after_sensitive, [attr]), get(change.after_unknown, [attr]));
    return [policyChange(address, attr, action,
      policyState(get(change.before, [attr]), get(change.before_sensitive, [attr]), false),
      after.kind === 'unknown' ? plannedPolicy(configuration, address, attr) ?? after : after)];
  }
  const [, block, field] = m;
  const before = blocksByName(change.before, change.before_sensitive, undefined, block, field);
  if (get(change.after_unknown, [block]) === true) {
    // The whole set of blocks is unknown: nothing to pair by name, so compare with all of before.
    const statements = [...before.values()].flatMap((st) => (st.kind === 'document' ? st.statements : []));
    return [policyChange(address, `${block}[*]`, action, before.size ? { kind: 'document', statements } : { kind: 'absent' }, { kind: 'unknown' })];
  }
  const after = blocksByName(change.after, change.after_sensitive, change.after_unknown, block, field);
  return [...new Set([...before.keys(), ...after.keys()])].map((name) =>
    policyChange(address, `${block}[${JSON.stringify(name)}]`, action, before.get(name) ?? { kind: 'absent' }, after.get(name) ?? { kind: 'absent' }));
}

/** Blocks like `inline_policy { name, policy }`, keyed by name (or index when the name is unknown). */
function blocksByName(values: unknown, sensitive: unknown, unknown: unknown, block: string, field: string): Map<string, PolicyState> {
  const out = new Map<string, PolicyState>();
  const list = get(values, [block]);
  if (!Array.isArray(list)) return out;
  list.forEach((item, i) => {
    const name = get(item, ['name']);
    const key = typeof name === 'string' && name !== '' ? name : `#${i}`;
    const state = policyState(get(item, [field]), get(sensitive, [block, i, field]), get(unknown, [block, i, field]));
    // An inline_policy block with neither name nor policy is how a role says "no inline policies".
    if (state.kind !== 'absent' || key !== `#${i}`) out.set(key, state);
  });
  return out;
}

function outputPolicyChanges(outputs: Record<string, RawChange> | undefined, configuration?: Record<string, any>): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const [name, change] of Object.entries(outputs ?? {})) {
    if (!isObject(change) || !Array.isArray(change.actions)) continue;
    const action = classify(change.actions, `output.${name}`);
    if (action === 'no-op') continue;
    const before = policyState(change.before, change.before_sensitive, false);
    const known = policyState(change.after, change.after_sensitive, change.after_unknown);
    const after = known.kind === 'unknown' ? plannedPolicy(configuration, `output.${name}`, 'value') ?? known : known;
    const looksLikePolicy = before.kind === 'document' || after.kind === 'document' || after.kind === 'planned' ||
      // An unknown output is recognised by its expression when the configuration is at hand (an
      // ARN of a policy is not a policy), else only by its name.
      (after.kind === 'unknown' && !configuration && /policy/i.test(name));
    if (!looksLikePolicy) continue;
    out.push(policyChange(`output.${name}`, 'value', action, before, after));
  }
  return out;
}

function policyState(value: unknown, sensitive: unknown, unknown: unknown): PolicyState {
  if (unknown === true) return { kind: 'unknown' };
  if (value === null || value === undefined || value === '') return { kind: 'absent' };
  if (sensitive === true) return { kind: 'sensitive' };
  if (typeof value !== 'string') return { kind: 'invalid', raw: JSON.stringify(value) };
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    return { kind: 'invalid', raw: value };
  }
  if (!isObject(doc) || doc.Statement === undefined) return { kind: 'invalid', raw: value };
  const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (!list.every(isObject)) return { kind: 'invalid', raw: value };
  return { kind: 'document', statements: list.map(normalizeStatement) };
}

function policyChange(address: string, attribute: string, action: Action, before: PolicyState, after: PolicyState): PolicyChange {
  // Statements are only added or removed when both sides are known; an unknown, sensitive or
  // unreadable side is reported as such instead of as "everything removed".
  // A planned document (placeholders for what apply decides) counts as added only where there was
  // none before: its placeholders cannot be compared with the values of a known document.
  const comparable = (st: PolicyState) => st.kind === 'document' || st.kind === 'absent' || (st === after && st.kind === 'planned' && before.kind === 'absent');
  if (!comparable(before) || !comparable(after)) return { address, attribute, action, before, after, added: [], removed: [] };
  const b = before.kind === 'document' ? before.statements : [];
  const a = after.kind === 'document' || after.kind === 'planned' ? after.statements : [];
  return { address, attribute, action, before, after, added: multisetMinus(a, b), removed: multisetMinus(b, a) };
}

/** Statements in `xs` not matched one-for-one in `ys`, in `xs` order. */
function multisetMinus(xs: readonly Statement[], ys: readonly Statement[]): Statement[] {
  const pool = ys.map(canonical);
  return xs.filter((x) => {
    const i = pool.indexOf(canonical(x));
    if (i < 0) return true;
    pool.splice(i, 1);
    return false;
  });
}

const LIST_KEYS = new Set(['Action', 'NotAction', 'Resource', 'NotResource']);

/** Single values become lists and lists are sorted, so equal policies compare equal. */
function normalizeStatement(s: Record<string, unknown>): Statement {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (LIST_KEYS.has(k)) out[k] = toSortedList(v);
    else if ((k === 'Principal' || k === 'NotPrincipal') && isObject(v)) out[k] = mapValues(v, toSortedList);
    else if (k === 'Condition' && isObject(v)) out[k] = mapValues(v, (op) => (isObject(op) ? mapValues(op, toSortedList) : op));
    else out[k] = v;
  }
  return out;
}

function toSortedList(v: unknown): unknown {
  const list = Array.isArray(v) ? v : [v];
  return list.every((x) => typeof x === 'string') ? [...new Set(list as string[])].sort(compare) : v;
}

function mapValues(o: Record<string, unknown>, f: (v: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** The whole comment for one or more stacks, in the order given. */
export function renderMarkdown(summaries: readonly StackSummary[], opts: { allowDestroy?: boolean } = {}): string {
  const lines: string[] = [COMMENT_MARKER, '# Terraform plan summary', '', ...summaries.map((s) => `- ${verdictLine(s)}`), ''];
  const losses = summaries.flatMap((s) => s.dataLoss.map((d) => ({ ...d, stack: s.stack })));
  if (losses.length) {
    const destroys = losses.some((d) => d.rule === 'destroy' || d.rule === 'session-preferences');
    const updates = losses.some((d) => d.rule !== 'destroy' && d.rule !== 'session-preferences');
    lines.push('## ⚠️ Data loss', '',
      `**${losses.length} ${losses.length === 1 ? 'change loses' : 'changes lose'} data.**` +
      (destroys ? ' A replace deletes the old resource; the new one starts empty.' : '') +
      (updates ? ' An update can lose data too: shorter retention or expiry, suspended versioning, a disabled key, ' +
        'archiving Athena cannot read, a policy that shuts out writers, or an irreversible Object Lock.' : ''), '');
    for (const d of losses) lines.push(`- ⚠️ **${d.action}** ${code(d.address)} in stack ${code(d.stack)}: ${d.why}.`);
    lines.push('', opts.allowDestroy
      ? '_Accepted with `--allow-destroy`: the summary does not fail._'
      : '_The summary fails (exit 2) until this is intended and it is run with `--allow-destroy`._', '');
  }
  const forgotten = summaries.flatMap((s) => s.forgotten.map((f) => ({ ...f, stack: s.stack })));
  if (forgotten.length) {
    lines.push('## Forgotten, not deleted', '',
      'Terraform stops managing these; they stay in AWS with their data (not data loss). Delete them by hand once they are no longer needed, ' +
      'or keep paying for them.', '');
    for (const f of forgotten) {
      const how = f.actions.length > 1 ? 'a new, empty one replaces it in Terraform; the old one is forgotten and keeps its data' : 'forgotten; it keeps its data';
      lines.push(`- **${f.actions.join(', ')}** ${code(f.address)} in stack ${code(f.stack)}: ${how} (${f.what.replace(/:.*$/, '')}).`);
    }
    lines.push('');
  }
  for (const s of summaries) lines.push(...renderStack(s));
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/**
 * One stack in one line, for the top of the comment: `log-rescue`: 2 to change, nothing destroyed,
 * 1 IAM statement added. Destroyed counts deletes and replaces (a replace destroys the old object).
 */
export function verdictLine(s: StackSummary): string {
  const c = s.counts;
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  const parts: string[] = [];
  if (c.create) parts.push(`${c.create} to add`);
  if (c.update) parts.push(`${c.update} to change`);
  if (c.replace) parts.push(`**${c.replace} to replace**`);
  const destroyed = c.delete + c.replace;
  parts.push(destroyed ? `**${destroyed} destroyed**` : 'nothing destroyed');
  if (s.dataLoss.length) parts.push(`⚠️ **${n(s.dataLoss.length, 'change loses', 'changes lose')} data**`);
  if (s.moves.length) parts.push(`${s.moves.length} moved`);
  if (c.forget) parts.push(`${c.forget} forgotten`);
  const added = s.policies.reduce((k, p) => k + p.added.length, 0);
  const removed = s.policies.reduce((k, p) => k + p.removed.length, 0);
  const pending = s.policies.filter((p) => p.after.kind === 'unknown' || (p.after.kind === 'planned' && p.before.kind !== 'absent')).length;
  if (added) parts.push(`${n(added, 'IAM statement')} added`);
  if (removed) parts.push(`${n(removed, 'IAM statement')} removed`);
  if (pending) parts.push(`${n(pending, 'policy', 'policies')} to compare by hand (known after apply)`);
  const nothing = !c.create && !c.update && !destroyed && !s.moves.length && !c.forget;
  return `${code(s.stack)}: ${nothing ? 'no changes' : parts.join(', ')}`;
}

/**
 * `**Plan:** 3 create · 1 update · ...`: the five usual counts always, read/forget when present, and
 * the moves when any (a move is also counted by what else happens to it, usually no-op).
 */
export function countsLine(counts: Readonly<Record<Action, number>>, moved = 0): string {
  const parts = [...COUNTED, ...COUNTED_IF_ANY.filter((a) => counts[a] > 0)].map((a) => `${counts[a]} ${a}`);
  return `**Plan:** ${parts.join(' · ')}${moved ? ` (${moved} moved)` : ''}`;
}

/** Moves beyond this many are folded, so a migration's list does not bury the real changes. */
const MOVES_SHOWN_OPEN = 10;

function renderStack(s: StackSummary): string[] {
  const lines = [`## Stack ${code(s.stack)}`, '', countsLine(s.counts, s.moves.length), ''];
  if (s.dataLoss.length) {
    const where = [...new Map(s.dataLoss.map((d) => [d.address, `${d.action} ${code(d.address)}`])).values()];
    lines.push(`⚠️ **Data loss:** ${where.join(', ')}`, '');
  }
  // A pure move changes nothing in AWS: it is listed under "Moved", not as a change.
  const rows = s.changes.filter((c) => !(c.action === 'no-op' && c.previousAddress !== undefined && c.importId === undefined));
  if (!rows.length && !s.moves.length) {
    lines.push('No changes.', '');
    return lines;
  }
  // Plain creates (nothing imported, moved or replaced) are folded: the rest is what a review is about.
  const plain = (c: ResourceSummary) => c.action === 'create' && c.importId === undefined && c.previousAddress === undefined;
  const table = (list: readonly ResourceSummary[]) => {
    const out = ['| Address | Action | Changed attributes | Reason |', '| --- | --- | --- | --- |'];
    for (const c of list) out.push(changeRow(c));
    return out;
  };
  const others = rows.filter((c) => !plain(c));
  const creates = rows.filter(plain);
  if (others.length) lines.push(...table(others), '');
  if (creates.length) {
    lines.push('<details>', `<summary>${creates.length} to add (new resources, nothing changed or destroyed)</summary>`, '', ...table(creates), '', '</details>', '');
  }
  if (s.configurationNote) lines.push(`_Note: ${s.configurationNote}._`, '');
  if (s.moves.length) lines.push(...renderMoves(s.moves), '');
  if (s.policies.length) {
    lines.push('### IAM policy changes', '');
    for (const p of s.policies) lines.push(...renderPolicy(p), '');
  }
  return lines;
}

/** A change as a table row: address, action, changed attributes, and why. */
function changeRow(c: ResourceSummary): string {
  const notes = [
    c.action === 'replace'
      ? (c.actions[1] === 'forget' ? 'create, then forget the old one' : c.actions[0] === 'create' ? 'create before destroy' : 'destroy before create')
      : undefined,
    c.previousAddress ? `moved from ${code(c.previousAddress)}` : undefined,
    c.importId !== undefined ? (c.importId ? `import ${code(c.importId)}` : 'import (ID known after apply)') : undefined,
    c.reason ? REASONS[c.reason] ?? c.reason : undefined,
  ].filter((n): n is string => n !== undefined);
  const action = c.action === 'replace' || c.action === 'delete' ? `**${c.action}**` : c.action;
  return `| ${cell([code(c.address), action, c.attributes.map(attrLabel).join(', ') || '—', notes.join('; ') || '—'])} |`;
}

/** `old → new` per moved address; a move that also changes the resource says so. */
function renderMoves(moves: readonly Move[]): string[] {
  const title = `Moved (${moves.length}): only the address in the state changes, nothing in AWS`;
  const list = moves.map((m) => `- ${code(m.from)} → ${code(m.to)}${m.action === 'no-op' ? '' : ` (and ${m.action === 'replace' || m.action === 'delete' ? `**${m.action}**` : m.action}, see above)`}`);
  return moves.length <= MOVES_SHOWN_OPEN
    ? [`### ${title}`, '', ...list]
    : ['<details>', `<summary>${title}</summary>`, '', ...list, '', '</details>'];
}

function attrLabel(a: string): string {
  const m = /^(.*?)( \(.*\))?$/.exec(a)!;
  return `${code(m[1])}${m[2] ?? ''}`;
}

function renderPolicy(p: PolicyChange): string[] {
  const lines = [`**${code(p.address)}** ${code(p.attribute)} (${p.action})`, ''];
  const describe = (st: PolicyState, when: string): string | undefined => {
    switch (st.kind) {
      case 'unknown': return `- ${when}: _known after apply_`;
      case 'sensitive': return `- ${when}: _sensitive, not shown_`;
      case 'invalid': return `- ${when}: _not a policy document:_ ${code(truncate(st.raw, 200))}`;
      default: return undefined;
    }
  };
  const notes = [describe(p.before, 'Before'), describe(p.after, 'After')].filter((l): l is string => l !== undefined);
  if (p.after.kind === 'unknown' && p.before.kind === 'document') notes.push(`- Currently ${p.before.statements.length} statement(s); the new document is computed at apply.`);
  if (p.after.kind === 'planned') {
    notes.push('- After: _as planned; values in `<angle brackets>` are known after apply_');
    if (p.before.kind !== 'absent') {
      notes.push(`- Currently ${p.before.kind === 'document' ? `${p.before.statements.length} statement(s)` : 'not readable'}; planned (${p.after.statements.length}):`,
        ...p.after.statements.flatMap((st) => renderStatement(st, '  ')));
    }
  }
  lines.push(...notes);
  if (p.added.length) lines.push(`- **Added** (${p.added.length}):`, ...p.added.flatMap((st) => renderStatement(st, '  ')));
  if (p.removed.length) lines.push(`- **Removed** (${p.removed.length}):`, ...p.removed.flatMap((st) => renderStatement(st, '  ')));
  if (!notes.length && !p.added.length && !p.removed.length) lines.push('- No statement changes.');
  return lines;
}

/** One statement as a list item: effect, actions and resources on the first line, details below. */
export function renderStatement(st: Statement, indent = ''): string[] {
  const effect = typeof st.Effect === 'string' ? st.Effect : '(no Effect)';
  let head = `**${effect}** `;
  if (st.Action !== undefined) head += codeList(st.Action);
  else if (st.NotAction !== undefined) head += `all actions except ${codeList(st.NotAction)}`;
  else head += '(no Action)';
  if (st.Resource !== undefined) head += ` on ${codeList(st.Resource)}`;
  else if (st.NotResource !== undefined) head += ` on everything except ${codeList(st.NotResource)}`;
  const lines = [`${indent}- ${head}`];
  const sub = `${indent}  - `;
  if (typeof st.Sid === 'string' && st.Sid) lines.push(`${sub}Sid: ${code(st.Sid)}`);
  if (st.Principal !== undefined) lines.push(`${sub}Principal: ${principal(st.Principal)}`);
  if (st.NotPrincipal !== undefined) lines.push(`${sub}NotPrincipal: ${principal(st.NotPrincipal)}`);
  if (st.Condition !== undefined) {
    if (isObject(st.Condition) && Object.values(st.Condition).every(isObject)) {
      for (const [op, clauses] of Object.entries(st.Condition as Record<string, Record<string, unknown>>)) {
        for (const [key, values] of Object.entries(clauses)) lines.push(`${sub}Condition: ${code(op)} ${code(key)} = ${codeList(values)}`);
      }
    } else {
      lines.push(`${sub}Condition:`, ...jsonBlock(st.Condition, `${indent}    `));
    }
  }
  const known = new Set(['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Principal', 'NotPrincipal', 'Condition']);
  const extra = Object.keys(st).filter((k) => !known.has(k)).sort(compare);
  for (const k of extra) lines.push(`${sub}${k}: ${code(JSON.stringify(st[k]))}`);
  return lines;
}

function principal(p: unknown): string {
  if (typeof p === 'string') return p === '*' ? '`*` (anyone)' : code(p);
  if (isObject(p)) return Object.keys(p).sort(compare).map((k) => `${k} ${codeList(p[k])}`).join('; ');
  return code(JSON.stringify(p));
}

function codeList(v: unknown): string {
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => code(typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
}

/** Inline code whose fence is longer than any backtick run in the text, on one line. */
export function code(text: string): string {
  const flat = text.replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** Pretty JSON as a fenced block (for values too long or too odd to read inline). */
function jsonBlock(value: unknown, indent: string): string[] {
  const text = JSON.stringify(value, null, 2);
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  return [`${indent}${fence}json`, ...text.split('\n').map((l) => indent + l), `${indent}${fence}`];
}

/** Table cells: a `|` would end the cell, even inside a code span, so GitHub wants it escaped. */
function cell(values: string[]): string {
  return values.map((v) => v.replace(/\|/g, '\\|')).join(' | ');
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// ---------------------------------------------------------------------------------------------
// CLI

export interface CliIo {
  readFile(file: string): string;
  stdout(text: string): void;
  stderr(text: string): void;
}

export const USAGE = 'usage: plan-summary <plan.json> [<plan.json> ...] [--allow-destroy] [--synth-dir <dir>]\n' +
  '  Each file is the output of `terraform show -json <planfile>`; the stack is named from\n' +
  '  <stack>.plan.json, from .../stacks/<stack>/..., or else from the file name.\n' +
  '  --synth-dir: where the stacks were synthesized (e.g. cdktf.out): a policy the plan knows\n' +
  '  only after apply is shown as planned in <dir>/stacks/<stack>/cdk.tf.json, unknowns as <placeholders>.\n' +
  '  Exit 0: printed; 2: a change loses data, by a delete, a replace or an update (allow with\n' +
  '  --allow-destroy); 1: bad input.\n';

/** Stack name from `.../<stack>.plan.json`, `.../stacks/<stack>/...`, or the file name. */
export function stackNameFromPath(file: string): string {
  const parts = file.split(/[\\/]+/).filter(Boolean);
  const base = parts[parts.length - 1] ?? file;
  const m = /^(.+)\.plan\.json$/.exec(base);
  if (m) return m[1];
  for (let i = parts.length - 3; i >= 0; i--) {
    if (parts[i] === 'stacks') return parts[i + 1];
  }
  return base.replace(/\.json$/, '') || base;
}

/** Run the CLI; returns the exit code. Nothing is printed to stdout unless every file is usable. */
export function main(argv: readonly string[], io: CliIo): number {
  let allowDestroy = false;
  let synthDir: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--allow-destroy') allowDestroy = true;
    else if (arg === '--synth-dir') {
      synthDir = argv[++i];
      if (!synthDir) {
        io.stderr(`plan-summary: --synth-dir needs a directory\n${USAGE}`);
        return 1;
      }
    }
    else if (arg === '--help' || arg === '-h') {
      io.stdout(USAGE);
      return 0;
    } else if (arg.startsWith('-') && arg !== '-') {
      io.stderr(`plan-summary: unknown option ${arg}\n${USAGE}`);
      return 1;
    } else files.push(arg);
  }
  if (!files.length) {
    io.stderr(`plan-summary: no plan JSON file given\n${USAGE}`);
    return 1;
  }
  const errors: string[] = [];
  const summaries: StackSummary[] = [];
  const seen = new Map<string, number>();
  for (const file of files) {
    let text: string;
    try {
      text = io.readFile(file);
    } catch (e) {
      errors.push(`${file}: cannot read: ${(e as Error).message}`);
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      errors.push(`${file}: not JSON (${(e as Error).message.replace(/\s*\n\s*/g, ' ')}); ${NOT_A_PLAN}`);
      continue;
    }
    let name = stackNameFromPath(file);
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) name = `${name} (${file})`;
    // The stack's synthesized configuration, when there is one (JSON synth only).
    let configuration: unknown;
    if (synthDir !== undefined) {
      try {
        configuration = JSON.parse(io.readFile(path.join(synthDir, 'stacks', name, 'cdk.tf.json')));
      } catch {
        configuration = undefined;
      }
    }
    try {
      summaries.push(summarizePlan(json, name, { configuration }));
    } catch (e) {
      if (!(e instanceof PlanInputError)) throw e;
      errors.push(`${file}: ${e.message}`);
    }
  }
  if (errors.length) {
    io.stderr(errors.map((e) => `plan-summary: ${e}\n`).join(''));
    return 1;
  }
  summaries.sort((a, b) => compare(a.stack, b.stack));
  io.stdout(renderMarkdown(summaries, { allowDestroy }));
  const losses = summaries.reduce((n, s) => n + s.dataLoss.length, 0);
  if (losses && !allowDestroy) {
    io.stderr(`plan-summary: ${losses} change(s) lose data; rerun with --allow-destroy if that is intended\n`);
    return 2;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(v: unknown, steps: readonly (string | number)[]): unknown {
  let cur: unknown = v;
  for (const s of steps) {
    if (typeof s === 'number' ? !Array.isArray(cur) : !isObject(cur)) return undefined;
    cur = (cur as any)[s];
  }
  return cur;
}

function containsTrue(v: unknown): boolean {
  if (v === true) return true;
  if (Array.isArray(v)) return v.some(containsTrue);
  if (isObject(v)) return Object.values(v).some(containsTrue);
  return false;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort(compare).map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

function deepEqual(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** Code-point order: the same on every machine and locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), {
    readFile: (file) => readFileSync(path.resolve(file), 'utf8'),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
