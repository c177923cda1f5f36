import { Construct } from 'constructs';
import { TerraformStack } from 'cdktf';

const retained = new WeakMap<TerraformStack, Array<{ from: string; lifecycle: { destroy: false } }>>();

/**
 * Declares that the resource a construct would create at `scope/id` must be forgotten, never
 * destroyed, when the current config does not create it: a Terraform `removed` block with
 * `destroy = false` for its address.
 *
 * `prevent_destroy` protects a resource only while its block is in the configuration. Switching an
 * archive to an existing bucket, or away from a created KMS key, removes the block, and Terraform
 * would then destroy the bucket's protections or schedule the key that decrypts every archived
 * object for deletion. With this, the bucket and key stay as they are and leave Terraform's care.
 * Where nothing was ever created, the block is a no-op.
 */
export function retainIfRemoved(scope: Construct, id: string, resourceType: string): void {
  // Logical ids come from the construct path, so an empty construct at the same path has the id
  // the resource had (or would have).
  const placeholder = new Construct(scope, id);
  const stack = TerraformStack.of(scope);
  const list = retained.get(stack) ?? [];
  list.push({ from: `${resourceType}.${stack.getLogicalId(placeholder.node)}`, lifecycle: { destroy: false } });
  retained.set(stack, list);
  stack.addOverride('removed', list);
}
