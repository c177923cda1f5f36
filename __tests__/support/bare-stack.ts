/**
 * A module's own test builds that module on a bare stack: a TerraformStack with only the AWS
 * provider and the account context (AwsContext) that modules take as `aws`, synthesized with
 * cdktf's Testing helpers. No flow config, no other module: what the module makes from its flat
 * props is all there is in the output.
 */
import { App, TerraformStack, Testing } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { AwsContext } from '../../modules/shared/aws-context';
import { LogArchiveBucket, LogArchiveBucketProps } from '../../modules/shared/log-archive-bucket';
import { resourcesOf, StackJson } from './stack-json';

export interface BareStack {
  readonly stack: TerraformStack;
  /** The account/partition context, as BaseStack makes it (`data.aws_caller_identity.current`, `data.aws_partition.current`). */
  readonly aws: AwsContext;
}

/** An empty stack in `region` with the provider and the account context. */
export function bareStack(region = 'us-east-1', id = 'bare'): BareStack {
  const stack = new TerraformStack(Testing.app() as App, id);
  new AwsProvider(stack, 'aws', { region });
  return { stack, aws: new AwsContext(stack, 'context', { region }) };
}

/** The stack's Terraform JSON. */
export function synthBare(stack: TerraformStack): StackJson {
  return JSON.parse(Testing.synth(stack)) as StackJson;
}

/** An archive bucket on the bare stack, for modules that write to one (SSE-S3 unless `over` says otherwise). */
export function bareArchive(b: BareStack, over: Partial<LogArchiveBucketProps> = {}): LogArchiveBucket {
  return new LogArchiveBucket(b.stack, 'archive', {
    aws: b.aws, namePrefix: 'acme-prod', addressName: 'archive', encryption: 'SSE-S3',
    transitionDays: 30, storageClass: 'GLACIER_IR', expirationDays: 0, noncurrentVersionExpirationDays: 30, preventDestroy: true,
    ...over,
  });
}

/**
 * The resource at `type.name` of a bare stack: Testing.synth drops the construct paths the
 * path-based helpers (resourceAt, addressOf) use, so bare-stack tests look resources up by the
 * address the module gives them.
 */
export function at(s: StackJson, type: string, name: string): any {
  const r = resourcesOf(s, type)[name];
  if (r === undefined) throw new Error(`no ${type}.${name}; there are: ${Object.keys(resourcesOf(s, type)).join(', ')}`);
  return r;
}
