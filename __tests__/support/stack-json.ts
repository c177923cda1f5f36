/**
 * Reading a synthesized stack's Terraform JSON. Apart from support/synth.ts (which loads the whole
 * app) so that bare-stack module tests in the unit lane load only the module they build.
 */

/** The synthesized Terraform JSON of one stack. */
export type StackJson = {
  terraform: Record<string, any>;
  provider?: Record<string, any[]>;
  resource?: Record<string, Record<string, any>>;
  data?: Record<string, Record<string, any>>;
  output?: Record<string, { value: unknown; description?: string }>;
  variable?: Record<string, any>;
  import?: any[];
  removed?: Array<{ from: string; lifecycle: { destroy: boolean } }>;
  [key: string]: unknown;
};

/** All resources of a type, keyed by logical name. */
export function resourcesOf(stack: StackJson, type: string): Record<string, any> {
  return stack.resource?.[type] ?? {};
}

/** The one resource of a type; fails loudly when there are none or several. */
export function onlyResource(stack: StackJson, type: string): any {
  const all = Object.values(resourcesOf(stack, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** The resource of a type whose construct path ends with `suffix`. */
export function resourceAt(stack: StackJson, type: string, suffix: string): any {
  const match = Object.values(resourcesOf(stack, type)).filter((r: any) => String(r['//']?.metadata?.path ?? '').endsWith(suffix));
  if (match.length !== 1) throw new Error(`expected one ${type} at */${suffix}, found ${match.length}`);
  return match[0];
}
