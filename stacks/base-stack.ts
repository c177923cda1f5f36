import { Construct } from 'constructs';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { AppConfig, ArchiveBucketConfig } from '../config/schema';
import { archiveBucketSettings, LogArchiveBucket } from '../modules/shared/log-archive-bucket';
import { requireNamed } from '../modules/shared/addresses';
import { AwsContext } from '../modules/shared/aws-context';
import { RemoteStates } from '../modules/shared/remote-states';
import { configureBackend } from '../modules/shared/state-backend';
import { hclOutput } from '../modules/shared/terraform-text';

import { STACK_NAMES } from '../config/patterns';
import { legacyAddresses } from './legacy-addresses';
import { namePrefixIn, StackName, StackPlacement } from './placement';

export { STACK_NAMES };
export type { StackName, StackPlacement };

/**
 * The oldest Terraform that runs what the stacks write: `removed` blocks with `lifecycle { destroy =
 * false }` came in Terraform 1.7 (its changelog and the `removed` block reference), and the S3
 * backend's `use_lockfile` in 1.10 ("Upgrading to Terraform v1.10", S3 native state locking).
 * Declared in the stack instead of checked at synth: cdktf's own check runs `terraform version` once
 * per stack with moves (a fifth of a synth) and fails the synth where Terraform is not installed.
 */
export function requiredTerraformVersion(config: AppConfig): string {
  return config.backend.type === 's3' ? '>= 1.10' : '>= 1.7';
}

/**
 * What every stack of this app has: its own state, an AWS provider with the app's default tags,
 * the account/partition context, and access to other teams' states.
 */
export abstract class BaseStack extends TerraformStack {
  readonly aws: AwsContext;
  readonly remoteStates: RemoteStates;
  /** The provider's default tags (resources that do not take them, like ASG instances, need them passed). */
  readonly defaultTags: Record<string, string>;
  /** `<project>-<environment>` (and the region code outside the home region): the prefix of every resource name. */
  readonly namePrefix: string;
  /** The Terraform versions that can run this stack (`terraform.required_version`). */
  readonly requiredVersion: string;

  /** What this stack is called and where it goes (one account and region: the flow's name). */
  readonly placement: StackPlacement;

  protected constructor(scope: Construct, readonly stackName: StackName, readonly config: AppConfig, placement?: StackPlacement) {
    const p = placement ?? { id: stackName, namePrefix: namePrefixIn(config, config.region) };
    super(scope, p.id);
    this.placement = p;
    // Readable addresses are the contract of every stack (modules/shared/addresses.ts, README "Terraform
    // addresses"): every resource named where it is made, moved from where it used to be. Only the
    // flows' original stacks were ever deployed with hashed addresses.
    requireNamed(this, p.id === stackName ? legacyAddresses(stackName, config) : new Map());
    configureBackend(this, p.id, config);
    // Terraform itself refuses an older version at init, plan and apply, naming this constraint.
    // cdktf 0.21's HCL renderer writes any terraform-block attribute but its blocks as `0 = "<name>"`,
    // so with --hcl synthApp writes it to versions.tf.json beside cdk.tf instead.
    this.requiredVersion = requiredTerraformVersion(config);
    if (!hclOutput()) this.addOverride('terraform.required_version', this.requiredVersion);
    this.defaultTags = {
      ...config.tags,
      Project: config.project,
      Environment: config.environment,
      Owner: config.owner,
      Stack: p.id,
      ManagedBy: 'cdktf',
    };
    new AwsProvider(this, 'aws', {
      region: config.region,
      defaultTags: [{ tags: this.defaultTags }],
      // Another account (organisation): Terraform's credentials assume its deploy role.
      assumeRole: p.deployRoleArn ? [{ roleArn: p.deployRoleArn, sessionName: `logrescue-${p.id}`.slice(0, 64) }] : undefined,
    });
    this.namePrefix = p.namePrefix;
    this.aws = new AwsContext(this, 'context', { region: config.region });
    this.remoteStates = new RemoteStates(this, 'remote-state', { states: config.remoteStates });
  }

  /**
   * The bucket this flow archives to: its own, from the flow's settings, or in an organisation the
   * central one (named in the config, its key ARN given or read from the archive stack's state).
   */
  protected archiveBucket(settings: ArchiveBucketConfig, namePrefix: string): LogArchiveBucket {
    const central = this.placement.central;
    return new LogArchiveBucket(this, 'archive', {
      ...archiveBucketSettings(settings),
      ...(central ? {
        existingBucketName: central.bucketName,
        existingBucketRegion: central.region,
        existingKmsKeyArn: typeof central.kmsKeyArn === 'string' ? central.kmsKeyArn : this.remoteStates.output(central.kmsKeyArn),
      } : {}),
      aws: this.aws,
      namePrefix,
      addressName: 'archive',
    });
  }

  /** A stack output; every output says what it is for, since users read them after apply. */
  protected output(name: string, value: string, description: string): TerraformOutput {
    return new TerraformOutput(this, name, { value, description });
  }
}
