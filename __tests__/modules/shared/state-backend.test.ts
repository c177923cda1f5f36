/**
 * configureBackend on a bare stack: each stack its own state in the configured backend (local: a
 * path relative to the stack's directory, so the same on every machine; s3: a key per stack, S3
 * locking on; cloud: a named workspace per stack in the configured project), workspaceName's
 * defaults, and ProjectCloudWorkspace keeping the project in HCL too.
 * @lane unit
 */
import { NamedCloudWorkspace, TerraformStack, Testing } from 'cdktf';
import { synthBare } from '../../support/bare-stack';
import { AppConfig } from '../../../config/schema';
import { testConfig } from '../../support/synth';
import { configureBackend, ProjectCloudWorkspace, workspaceName } from '../../../modules/shared/state-backend';

/** The `terraform` block of a bare stack with the backend of `config` for `stackName`. */
function terraformBlock(config: AppConfig, stackName = 'session-logs'): Record<string, any> {
  const stack = new TerraformStack(Testing.app(), stackName);
  configureBackend(stack, stackName, config);
  return synthBare(stack).terraform;
}

const S3 = { type: 's3', bucket: 'acme-tf-state', region: 'eu-west-1' };
const KMS = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('configureBackend', () => {
  it('local: terraform.<stack>.tfstate in the configured directory, relative to cdktf.out/stacks/<stack>', () => {
    expect(terraformBlock(testConfig()).backend).toEqual({ local: { path: '../../../terraform.session-logs.tfstate' } });
    expect(terraformBlock(testConfig(), 'log-rescue').backend).toEqual({ local: { path: '../../../terraform.log-rescue.tfstate' } });
    expect(terraformBlock(testConfig({ backend: { type: 'local', directory: 'state/sandbox' } })).backend)
      .toEqual({ local: { path: '../../../state/sandbox/terraform.session-logs.tfstate' } });
    expect(JSON.stringify(terraformBlock(testConfig()))).not.toContain(process.cwd());
  });

  it('s3: <project>/<environment>/<stack>.tfstate by default, encrypted, with S3-native locking', () => {
    expect(terraformBlock(testConfig({ backend: S3 })).backend).toEqual({
      s3: { bucket: 'acme-tf-state', key: 'logrescue/dev/session-logs.tfstate', region: 'eu-west-1', encrypt: true, use_lockfile: true },
    });
    expect(terraformBlock(testConfig({ project: 'acme', environment: 'prod', backend: S3 }), 'log-rescue').backend.s3.key).toBe('acme/prod/log-rescue.tfstate');
  });

  it('s3: the key prefix, encryption, KMS key, lock table and role of its config', () => {
    const config = testConfig({ backend: { ...S3, keyPrefix: 'platform/logs', encrypt: false, kmsKeyId: KMS, dynamodbTable: 'tf-locks', roleArn: 'arn:aws:iam::111122223333:role/tf-state' } });
    expect(terraformBlock(config).backend).toEqual({
      s3: {
        bucket: 'acme-tf-state', key: 'platform/logs/session-logs.tfstate', region: 'eu-west-1', encrypt: false, kms_key_id: KMS,
        dynamodb_table: 'tf-locks', assume_role: { role_arn: 'arn:aws:iam::111122223333:role/tf-state' }, use_lockfile: true,
      },
    });
  });

  it('cloud: the organization and hostname, a workspace per stack (<project>-<environment>-<stack> unless named) in the project', () => {
    const config = testConfig({ backend: { type: 'cloud', organization: 'acme', project: 'platform', workspaces: { 'session-logs': 'sessions-prod' } } });
    const named = terraformBlock(config);
    expect(named.cloud).toEqual({ organization: 'acme', hostname: 'app.terraform.io', workspaces: { name: 'sessions-prod', project: 'platform' } });
    expect(named.backend).toBeUndefined();
    expect(terraformBlock(config, 'log-rescue').cloud.workspaces).toEqual({ name: 'logrescue-dev-log-rescue', project: 'platform' });
    const noProject = terraformBlock(testConfig({ backend: { type: 'cloud', organization: 'acme', hostname: 'tfe.acme.example' } }));
    expect(noProject.cloud).toEqual({ organization: 'acme', hostname: 'tfe.acme.example', workspaces: { name: 'logrescue-dev-session-logs' } });
  });
});

describe('workspaceName', () => {
  it('the configured name for the stack, else <project>-<environment>-<stack>', () => {
    const config = testConfig({ project: 'acme', environment: 'prod', backend: { type: 'cloud', organization: 'acme', workspaces: { 'log-rescue': 'rescue' } } });
    expect(workspaceName(config, 'log-rescue')).toBe('rescue');
    expect(workspaceName(config, 'session-logs')).toBe('acme-prod-session-logs');
  });

  it('refuses other backends, where a workspace means nothing', () => {
    for (const backend of [{ type: 'local' }, S3]) {
      expect(() => workspaceName(testConfig({ backend }), 'log-rescue')).toThrow('workspaceName is only meaningful for the cloud backend');
    }
  });
});

describe('ProjectCloudWorkspace', () => {
  it('writes the project to HCL too, which NamedCloudWorkspace leaves out', () => {
    expect(new NamedCloudWorkspace('w', 'platform').toHclTerraform()).not.toHaveProperty('project');
    expect(new ProjectCloudWorkspace('w', 'platform').toHclTerraform()).toMatchObject({
      name: expect.objectContaining({ value: 'w' }),
      project: { value: 'platform', type: 'simple', storageClassType: 'string' },
    });
    expect(new ProjectCloudWorkspace('w', 'other').toHclTerraform().project).toMatchObject({ value: 'other' });
  });

  it('without a project: what NamedCloudWorkspace writes', () => {
    expect(new ProjectCloudWorkspace('w').toHclTerraform()).toEqual(new NamedCloudWorkspace('w').toHclTerraform());
    expect(new ProjectCloudWorkspace('w').toHclTerraform()).not.toHaveProperty('project');
  });
});
