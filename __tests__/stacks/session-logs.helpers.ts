/**
 * Helpers shared by the session-logs tests: synthesize the stack with sessionLogs overrides, find a
 * resource's Terraform address, and read `jsonencode(...)` policy documents back into objects.
 */
import { decodeJsonExpression, isExpr, Value } from '../../scripts/hcl-expr';
import { resourcesOf, StackJson, synthStacks, testConfig } from '../support/synth';

/** The session-logs stack of the default config plus `sessionLogs` (and optional top-level) overrides. */
export function sessionStack(sessionLogs: Record<string, unknown> = {}, top: Record<string, unknown> = {}): StackJson {
  return synthStacks(testConfig({ ...top, sessionLogs }))['session-logs'];
}

/** `type.name` of the one resource of `type` whose construct path ends with `suffix`. */
export function addressOf(stack: StackJson, type: string, suffix: string): string {
  const names = Object.entries(resourcesOf(stack, type))
    .filter(([, r]: [string, any]) => String(r['//']?.metadata?.path ?? '').endsWith(suffix))
    .map(([name]) => name);
  if (names.length !== 1) throw new Error(`expected one ${type} at */${suffix}, found ${names.length}`);
  return `${type}.${names[0]}`;
}

/** `${type.name.attr}`: how a reference to that attribute appears in the synthesized JSON. */
export function ref(stack: StackJson, type: string, suffix: string, attr: string): string {
  return `\${${addressOf(stack, type, suffix)}.${attr}}`;
}

/** The references the AwsContext data sources synthesize to. */
export function contextRefs(stack: StackJson): { account: string; partition: string } {
  const account = Object.keys(stack.data?.aws_caller_identity ?? {})[0];
  const partition = Object.keys(stack.data?.aws_partition ?? {})[0];
  return {
    account: `\${data.aws_caller_identity.${account}.account_id}`,
    partition: `\${data.aws_partition.${partition}.partition}`,
  };
}

/**
 * A `${jsonencode(...)}` policy as a plain object (read by the project's HCL expression reader),
 * with bare references written back as `${reference}` strings so they compare like any other
 * synthesized reference.
 */
export function parseJsonencode(expression: string): any {
  if (!expression.startsWith('${jsonencode(')) throw new Error(`not a jsonencode expression: ${expression.slice(0, 80)}`);
  const withRefs = (v: Value): any => {
    if (isExpr(v)) return `\${${v.$expr}}`;
    if (Array.isArray(v)) return v.map(withRefs);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withRefs(x)]));
    return v;
  };
  return withRefs(decodeJsonExpression(expression));
}

/** The statement with `Sid` of a synthesized policy (a jsonencode expression). */
export function statement(policy: string, sid: string): any {
  const found = parseJsonencode(policy).Statement.filter((s: any) => s.Sid === sid);
  if (found.length !== 1) throw new Error(`expected one statement ${sid}, found ${found.length}`);
  return found[0];
}

/** Terraform reads `$${` as a literal `${` (and `%%{` as `%{`); undo that to get the value AWS receives. */
export function terraformUnescape(text: string): string {
  return text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}
