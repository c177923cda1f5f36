/**
 * Readable Terraform addresses, by one rule: a resource or data source is `<type>.<name>`, where
 * `<name>` says what it is in its stack (`aws_s3_bucket.archive`, `aws_sqs_queue.dead_letters`)
 * and is declared once, where the resource is made, with `named()`. The type says which part of
 * the thing it is, so the parts of one thing share its name (`aws_s3_bucket_policy.archive`).
 * Construct ids and file locations never enter an address, so no refactor of the code can move a
 * deployed resource; an address changes only when a `named()` call does (with a `moved` block and
 * a new golden list, see README "Terraform addresses").
 *
 * Every address is checked when it is declared: a valid Terraform name, unique in its stack (a
 * second declaration fails synth naming both constructs). Stacks that adopt the contract
 * (`requireNamed`) also fail synth on any resource left without a name.
 */
import { Construct, IConstruct } from 'constructs';
import { TerraformDataSource, TerraformElement, TerraformRemoteState, TerraformResource, TerraformStack } from 'cdktf';

/** Lowercase letters, digits and underscores, starting with a letter: valid in Terraform and in a shell. */
const NAME = /^[a-z][a-z0-9_]*$/;

interface Registry {
  /** `type.name` -> construct path of the element that holds it. */
  readonly addresses: Map<string, string>;
  /** Elements with a declared name. */
  readonly named: WeakSet<IConstruct>;
  /** Readable address -> the address the stack gave it before readable addresses, for `moved`. */
  legacy: ReadonlyMap<string, string>;
  readonly removed: Array<{ from: string; lifecycle: { destroy: false } }>;
}
const registries = new WeakMap<TerraformStack, Registry>();

function registryOf(stack: TerraformStack): Registry {
  let r = registries.get(stack);
  if (!r) {
    r = { addresses: new Map(), named: new WeakSet(), legacy: new Map(), removed: [] };
    registries.set(stack, r);
  }
  return r;
}

/** A free-form name (a group, a role, an Availability Zone suffix) as an address name: `web-fleet` -> `web_fleet`. */
export function addressName(raw: string): string {
  const name = raw.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[a-z]/.test(name) ? name : `n_${name}`;
}

function elementType(element: TerraformElement): string {
  if (element instanceof TerraformResource) return element.terraformResourceType;
  if (element instanceof TerraformDataSource) return `data.${element.terraformResourceType}`;
  if (element instanceof TerraformRemoteState) return 'data.terraform_remote_state';
  throw new Error(`${element.node.path} is not a resource or data source: it has no address to name`);
}

/** The address an element has (or would have) with this name, checked for validity and uniqueness. */
function claim(stack: TerraformStack, address: string, path: string): void {
  const name = address.slice(address.lastIndexOf('.') + 1);
  if (!NAME.test(name)) throw new Error(`Terraform address ${address} (${path}): the name must match ${NAME}`);
  const r = registryOf(stack);
  const holder = r.addresses.get(address);
  if (holder !== undefined && holder !== path) {
    throw new Error(`Terraform address ${address} is declared twice in stack ${stack.node.id}: by ${holder} and by ${path}; give one of them another name`);
  }
  r.addresses.set(address, path);
}

/**
 * Gives `element` its readable address `<type>.<name>` (call it right after `new`, before anything
 * refers to the element). When the stack used to give it a hashed address, a `moved` block from
 * that address comes with it, so existing deployments keep the resource.
 */
export function named<T extends TerraformElement>(element: T, name: string): T {
  const stack = TerraformStack.of(element);
  const type = elementType(element);
  const address = `${type}.${name}`;
  claim(stack, address, element.node.path);
  element.overrideLogicalId(name);
  const r = registryOf(stack);
  r.named.add(element);
  const from = r.legacy.get(address);
  if (from && TerraformResource.isTerraformResource(element)) element.moveFromId(from);
  return element;
}

/**
 * Forgets, never destroys, the resource the stack would make at `type.name` when the current
 * config does not make it: a `removed` block (destroy = false) for its readable address, and for
 * the hashed address it had before, so a deployment that never applied the `moved` blocks is kept
 * too. `prevent_destroy` protects a resource only while its block is in the configuration.
 * Where nothing was ever created, the blocks are no-ops.
 */
export function retainIfRemoved(scope: Construct, type: string, name: string): void {
  const stack = TerraformStack.of(scope);
  const address = `${type}.${name}`;
  claim(stack, address, `${scope.node.path} (removed)`);
  const r = registryOf(stack);
  for (const from of [address, r.legacy.get(address)]) {
    if (from) r.removed.push({ from, lifecycle: { destroy: false } });
  }
  stack.addOverride('removed', r.removed);
}

/**
 * Makes `stack` hold to the contract: `legacy` maps readable addresses to the hashed ones earlier
 * versions deployed (for `moved` and `removed` blocks; call before any resource is made).
 * `addressProblems` then says what breaks it; the app runs it before it writes anything.
 */
export function requireNamed(stack: TerraformStack, legacy: ReadonlyMap<string, string>): void {
  registryOf(stack).legacy = legacy;
}

/**
 * What breaks the contract in `stack`: a resource or data source without a declared name, or a
 * `removed` block that names an address a `moved` block also names. Empty when it holds.
 */
export function addressProblems(stack: TerraformStack): string[] {
  const r = registryOf(stack);
  const problems: string[] = [];
  for (const c of stack.node.findAll()) {
    if (c instanceof TerraformElement && isAddressed(c) && !r.named.has(c)) {
      problems.push(`${c.node.path} has no readable Terraform address: declare one with named() where it is made (modules/shared/addresses.ts)`);
    }
  }
  const moved = new Set<string>();
  for (const c of stack.node.findAll()) {
    const m = TerraformResource.isTerraformResource(c) ? (c.toTerraform() as { moved?: Array<{ from: string; to: string }> }).moved : undefined;
    for (const b of m ?? []) { moved.add(b.from); moved.add(b.to); }
  }
  for (const b of r.removed) if (moved.has(b.from)) problems.push(`removed block for ${b.from} names an address a moved block names too`);
  return problems;
}

/** Resources, data sources and remote states: what Terraform gives an address. */
function isAddressed(c: TerraformElement): boolean {
  return c instanceof TerraformResource || c instanceof TerraformDataSource || c instanceof TerraformRemoteState;
}
