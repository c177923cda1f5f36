/**
 * Pull-request plan summary: read `terraform show -json <planfile>` of one or more stacks and print
 * Markdown for a PR comment (counts, changed resources, IAM statement diffs, a data-loss warning).
 *
 *   npm run --silent plan-summary -- <plan.json> [<plan.json> ...] [--allow-destroy]
 *
 * Exit codes: 0 summary printed; 2 a change would destroy data (see DATA_LOSS_TYPES) and
 * `--allow-destroy` was not given (the summary is still printed); 1 unusable input or arguments.
 *
 * Only attribute names are printed for changed resources, never their values, because a plan JSON
 * carries sensitive values in clear text; policy documents are printed unless marked sensitive.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

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
  | { readonly kind: 'document'; readonly statements: readonly Statement[] };

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

export interface DataLoss {
  readonly address: string;
  readonly type: string;
  readonly action: 'delete' | 'replace';
  readonly why: string;
}

export interface StackSummary {
  readonly stack: string;
  readonly counts: Readonly<Record<Action, number>>;
  /** Every resource change except unchanged ones that are neither moved nor imported; by address. */
  readonly changes: readonly ResourceSummary[];
  readonly policies: readonly PolicyChange[];
  readonly dataLoss: readonly DataLoss[];
}

/** Thrown for input that is not a Terraform plan JSON; the message says what is wrong. */
export class PlanInputError extends Error {}

// ---------------------------------------------------------------------------------------------
// Summarizing

/** Summarize one stack's `terraform show -json` plan. Throws PlanInputError on a non-plan. */
export function summarizePlan(planJson: unknown, stackName: string): StackSummary {
  const plan = validatePlan(planJson);
  const counts = Object.fromEntries([...COUNTED, ...COUNTED_IF_ANY].map((a) => [a, 0])) as Record<Action, number>;
  const changes: ResourceSummary[] = [];
  const policies: PolicyChange[] = [];
  const dataLoss: DataLoss[] = [];

  for (const rc of plan.resource_changes) {
    const change = rc.change;
    const action = classify(change.actions, rc.address);
    counts[action] += 1;
    const importId = isObject(change.importing) && typeof change.importing.id === 'string' ? change.importing.id : undefined;
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
    if (rc.mode !== 'data' && (action === 'delete' || action === 'replace') && rc.type in DATA_LOSS_TYPES) {
      dataLoss.push({ address: rc.address, type: rc.type, action, why: DATA_LOSS_TYPES[rc.type] });
    }
    if (action !== 'no-op' && action !== 'forget' && rc.type in POLICY_ATTRIBUTES) {
      policies.push(...resourcePolicyChanges(rc.address, rc.type, action, change));
    }
  }
  policies.push(...outputPolicyChanges(plan.output_changes));

  const byAddress = <T extends { address: string }>(a: T, b: T) => compare(a.address, b.address);
  return {
    stack: stackName,
    counts,
    changes: changes.sort(byAddress),
    policies: policies.sort((a, b) => byAddress(a, b) || compare(a.attribute, b.attribute)),
    dataLoss: dataLoss.sort(byAddress),
  };
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
  return { resource_changes: resourceChanges as RawResourceChange[], output_changes: json.output_changes as Record<string, RawChange> | undefined };
}

function classify(actions: readonly string[], address: string): Action {
  const key = actions.join(',');
  switch (key) {
    case 'create': case 'update': case 'delete': case 'no-op': case 'read': case 'forget':
      return key;
    case 'delete,create': case 'create,delete':
      return 'replace';
    default:
      throw new PlanInputError(`resource ${address} has actions ${JSON.stringify(actions)}, which this summary does not know`);
  }
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

function resourcePolicyChanges(address: string, type: string, action: Action, change: RawChange): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const attr of POLICY_ATTRIBUTES[type]) {
    const quiet = COMPUTED_POLICY_ATTRIBUTES.has(`${type}.${attr}`);
    for (const p of attributePolicyChanges(address, action, change, attr)) {
      const worthShowing = p.after.kind === 'unknown'
        ? !(quiet && p.before.kind === 'absent')
        : p.added.length > 0 || p.removed.length > 0 || p.before.kind !== p.after.kind || p.before.kind === 'invalid' || p.after.kind === 'invalid';
      if (worthShowing) out.push(p);
    }
  }
  return out;
}

function attributePolicyChanges(address: string, action: Action, change: RawChange, attr: string): PolicyChange[] {
  const m = /^(\w+)\[\*\]\.(\w+)$/.exec(attr);
  if (!m) {
    return [policyChange(address, attr, action,
      policyState(get(change.before, [attr]), get(change.before_sensitive, [attr]), false),
      policyState(get(change.after, [attr]), get(change.after_sensitive, [attr]), get(change.after_unknown, [attr])))];
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

function outputPolicyChanges(outputs: Record<string, RawChange> | undefined): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const [name, change] of Object.entries(outputs ?? {})) {
    if (!isObject(change) || !Array.isArray(change.actions)) continue;
    const action = classify(change.actions, `output.${name}`);
    if (action === 'no-op') continue;
    const before = policyState(change.before, change.before_sensitive, false);
    const after = policyState(change.after, change.after_sensitive, change.after_unknown);
    const looksLikePolicy = before.kind === 'document' || after.kind === 'document' ||
      // An unknown output can only be recognised by its name.
      (after.kind === 'unknown' && /policy/i.test(name));
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
  const comparable = (st: PolicyState) => st.kind === 'document' || st.kind === 'absent';
  if (!comparable(before) || !comparable(after)) return { address, attribute, action, before, after, added: [], removed: [] };
  const b = before.kind === 'document' ? before.statements : [];
  const a = after.kind === 'document' ? after.statements : [];
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
  const lines: string[] = [COMMENT_MARKER, '# Terraform plan summary', ''];
  const losses = summaries.flatMap((s) => s.dataLoss.map((d) => ({ ...d, stack: s.stack })));
  if (losses.length) {
    lines.push('## ⚠️ Data loss', '',
      `**${losses.length} ${losses.length === 1 ? 'change destroys' : 'changes destroy'} a resource that holds data.** ` +
      'A replace deletes the old resource; the new one starts empty.', '');
    for (const d of losses) lines.push(`- ⚠️ **${d.action}** ${code(d.address)} in stack ${code(d.stack)}: ${d.why}.`);
    lines.push('', opts.allowDestroy
      ? '_Accepted with `--allow-destroy`: the summary does not fail._'
      : '_The summary fails (exit 2) until this is intended and it is run with `--allow-destroy`._', '');
  }
  for (const s of summaries) lines.push(...renderStack(s));
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** `**Plan:** 3 create · 1 update · ...`: the five usual counts always, read/forget when present. */
export function countsLine(counts: Readonly<Record<Action, number>>): string {
  const parts = [...COUNTED, ...COUNTED_IF_ANY.filter((a) => counts[a] > 0)].map((a) => `${counts[a]} ${a}`);
  return `**Plan:** ${parts.join(' · ')}`;
}

function renderStack(s: StackSummary): string[] {
  const lines = [`## Stack ${code(s.stack)}`, '', countsLine(s.counts), ''];
  if (s.dataLoss.length) lines.push(`⚠️ **Data loss:** ${s.dataLoss.map((d) => `${d.action} ${code(d.address)}`).join(', ')}`, '');
  if (!s.changes.length) {
    lines.push('No changes.', '');
    return lines;
  }
  lines.push('| Address | Action | Changed attributes | Reason |', '| --- | --- | --- | --- |');
  for (const c of s.changes) {
    const notes = [
      c.action === 'replace' ? (c.actions[0] === 'create' ? 'create before destroy' : 'destroy before create') : undefined,
      c.previousAddress ? `moved from ${code(c.previousAddress)}` : undefined,
      c.importId !== undefined ? `import ${code(c.importId)}` : undefined,
      c.reason ? REASONS[c.reason] ?? c.reason : undefined,
    ].filter((n): n is string => n !== undefined);
    const action = c.action === 'replace' || c.action === 'delete' ? `**${c.action}**` : c.action;
    lines.push(`| ${cell([code(c.address), action, c.attributes.map(attrLabel).join(', ') || '—', notes.join('; ') || '—'])} |`);
  }
  lines.push('');
  if (s.policies.length) {
    lines.push('### IAM policy changes', '');
    for (const p of s.policies) lines.push(...renderPolicy(p), '');
  }
  return lines;
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

export const USAGE = 'usage: plan-summary <plan.json> [<plan.json> ...] [--allow-destroy]\n' +
  '  Each file is the output of `terraform show -json <planfile>`; the stack is named from\n' +
  '  <stack>.plan.json, from .../stacks/<stack>/..., or else from the file name.\n' +
  '  Exit 0: printed; 2: a change destroys data (allow with --allow-destroy); 1: bad input.\n';

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
  const files: string[] = [];
  for (const arg of argv) {
    if (arg === '--allow-destroy') allowDestroy = true;
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
    try {
      summaries.push(summarizePlan(json, name));
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
    io.stderr(`plan-summary: ${losses} change(s) destroy data; rerun with --allow-destroy if that is intended\n`);
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
