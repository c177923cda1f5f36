/**
 * stacks/base-stack.ts on a bare stack: a BaseStack that makes one resource of its own, synthesized
 * alone. What every stack gets from it: the Terraform version it needs, an AWS provider with the
 * config's region and default tags (assuming a deploy role when placed in another account), the
 * `moved` blocks of the flow's original stack and of no other, outputs that say what they are, and
 * the archive bucket: its own, or the organisation's central one.
 *
 * @lane unit
 */
import { App, Testing } from 'cdktf';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { ArchiveBucketConfig, AppConfig } from '../../config/schema';
import { named } from '../../modules/shared/addresses';
import { LogArchiveBucket } from '../../modules/shared/log-archive-bucket';
import { BaseStack, requiredTerraformVersion, StackName, StackPlacement } from '../../stacks/base-stack';
import type { CentralArchive } from '../../stacks/placement';
import { synthBare } from '../support/bare-stack';
import { testConfig } from '../support/synth';
import { withHclOutput } from '../support/env';

/** A BaseStack with one queue (`aws_sqs_queue.dead_letters`, which the rescue stack had before readable addresses). */
class ProbeStack extends BaseStack {
  constructor(scope: App, stackName: StackName, config: AppConfig, placement?: StackPlacement) {
    super(scope, stackName, config, placement);
    named(new SqsQueue(this, 'queue', { name: `${this.namePrefix}-probe` }), 'dead_letters');
  }

  archiveOf(settings: ArchiveBucketConfig): LogArchiveBucket {
    return this.archiveBucket(settings, this.namePrefix);
  }

  describe(name: string, value: string, description: string): void {
    this.output(name, value, description);
  }
}

const probe = (config = testConfig(), stackName: StackName = 'log-rescue', placement?: StackPlacement) =>
  new ProbeStack(Testing.app() as App, stackName, config, placement);

describe('requiredTerraformVersion', () => {
  // `removed` blocks with lifecycle.destroy came in Terraform 1.7; the S3 backend's use_lockfile in 1.10.
  it.each([
    ['local', {}, '>= 1.7'],
    ['cloud', { backend: { type: 'cloud', organization: 'acme' } }, '>= 1.7'],
    ['s3', { backend: { type: 's3', bucket: 'acme-tf-state', region: 'eu-west-1' } }, '>= 1.10'],
  ])('%s backend: %s', (_backend, overrides, version) => {
    expect(requiredTerraformVersion(testConfig(overrides))).toBe(version);
  });
});

describe('BaseStack', () => {
  it('declares the Terraform version it needs in JSON output, and leaves it to versions.tf.json with HCL', () => {
    const s3 = testConfig({ backend: { type: 's3', bucket: 'acme-tf-state', region: 'eu-west-1' } });
    expect(synthBare(withHclOutput(undefined, () => probe(s3))).terraform.required_version).toBe('>= 1.10');
    const hcl = withHclOutput('true', () => probe(s3));
    expect(synthBare(hcl).terraform.required_version).toBeUndefined();
    expect(hcl.requiredVersion).toBe('>= 1.10');
  });

  it('gives the provider the config\'s region and default tags, which config tags cannot override', () => {
    const s = probe(testConfig({ region: 'eu-central-1', environment: 'prod', owner: 'sre', tags: { CostCenter: '42', Project: 'not-this' } }));
    expect(synthBare(s).provider!.aws).toEqual([{
      region: 'eu-central-1',
      default_tags: [{ tags: { CostCenter: '42', Project: 'logrescue', Environment: 'prod', Owner: 'sre', Stack: 'log-rescue', ManagedBy: 'cdktf' } }],
    }]);
    expect(s.defaultTags.Project).toBe('logrescue');
    expect(s.namePrefix).toBe('logrescue-prod');
  });

  it('takes its name, name prefix and deploy role from a placement; the role session is named after the stack, at most 64 characters', () => {
    const id = `session-logs-${'x'.repeat(60)}`;
    const s = probe(testConfig(), 'session-logs', { id, namePrefix: 'logrescue-dev-euw1', deployRoleArn: 'arn:aws:iam::222222222222:role/deploy' });
    const json = synthBare(s);
    expect(json.provider!.aws[0].assume_role).toEqual([{ role_arn: 'arn:aws:iam::222222222222:role/deploy', session_name: `logrescue-session-logs-${'x'.repeat(41)}` }]);
    expect(json.provider!.aws[0].assume_role[0].session_name).toHaveLength(64);
    expect(json.provider!.aws[0].default_tags[0].tags.Stack).toBe(id);
    expect(json.resource!.aws_sqs_queue.dead_letters.name).toBe('logrescue-dev-euw1-probe');
    expect(json.terraform.backend).toEqual({ local: { path: `../../../terraform.${id}.tfstate` } });
  });

  it('moves resources from where the flow\'s original stack had them, and in no other stack', () => {
    // The address the rescue stack's dead-letter queue had before readable addresses
    // (__tests__/fixtures/addresses/states-before-readable-addresses.default.json).
    expect(JSON.stringify(synthBare(probe()))).toContain('"from":"aws_sqs_queue.events_dlq_0D3F31C3"');
    expect(JSON.stringify(synthBare(probe(testConfig(), 'log-rescue', { id: 'log-rescue-eu-west-1', namePrefix: 'logrescue-dev-euw1' })))).not.toContain('"moved"');
    expect(JSON.stringify(synthBare(probe(testConfig(), 'session-logs')))).not.toContain('"moved"');
  });

  it('writes every output with what it is for', () => {
    const s = probe();
    s.describe('queue_name', 'logrescue-dev-probe', 'The probe queue');
    expect(synthBare(s).output).toEqual({ queue_name: { value: 'logrescue-dev-probe', description: 'The probe queue' } });
  });

  describe('archive bucket', () => {
    const KEY = 'arn:aws:kms:us-east-1:111111111111:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
    const central = (kmsKeyArn: CentralArchive['kmsKeyArn']): StackPlacement => ({
      id: 'log-rescue-payments', namePrefix: 'logrescue-dev',
      central: { bucketName: 'acme-log-archive', region: 'us-east-1', kmsKeyArn, keyPrefixRoot: '222222222222/eu-west-1' },
    });

    it('is the stack\'s own, made from the flow\'s settings, when the stack has no central archive', () => {
      // Settings other than the defaults, so the bucket can only have them from the flow's config.
      const config = testConfig({ logRescue: { archiveBucket: { bucketName: 'acme-rescue-archive', lifecycle: { expirationDays: 400 }, preventDestroy: false } } });
      const s = probe(config);
      s.describe('bucket', s.archiveOf(config.logRescue.archiveBucket).bucketName, 'The archive bucket');
      const json = synthBare(s);
      expect(json.output!.bucket.value).toBe('${aws_s3_bucket.archive.bucket}');
      expect(json.resource!.aws_s3_bucket.archive).toMatchObject({ bucket: 'acme-rescue-archive', lifecycle: { prevent_destroy: false } });
      expect(json.resource!.aws_s3_bucket_lifecycle_configuration.archive.rule[0].expiration).toEqual([{ days: 400 }]);
    });

    it('is the organisation\'s central bucket, with the key ARN given, and makes no bucket', () => {
      const config = testConfig();
      const s = probe(config, 'log-rescue', central(KEY));
      const archive = s.archiveOf(config.logRescue.archiveBucket);
      expect([archive.bucketName, archive.region, archive.kmsKeyArn]).toEqual(['acme-log-archive', 'us-east-1', KEY]);
      expect(synthBare(s).resource!.aws_s3_bucket).toBeUndefined();
    });

    it('reads the central key ARN from the archive stack\'s state when it is not given', () => {
      const config = testConfig({ remoteStates: { archive: { type: 'local', path: '../../../terraform.archive.tfstate' } } });
      const s = probe(config, 'log-rescue', central({ state: 'archive', output: 'kms_key_arn' }));
      s.describe('key', s.archiveOf(config.logRescue.archiveBucket).kmsKeyArn!, 'The archive key');
      const json = synthBare(s);
      expect(json.data!.terraform_remote_state.archive.config).toEqual({ path: '../../../terraform.archive.tfstate' });
      expect(json.output!.key.value).toBe('${data.terraform_remote_state.archive.outputs.kms_key_arn}');
    });
  });
});
