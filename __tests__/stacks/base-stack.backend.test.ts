/**
 * stacks/base-stack.ts, what every stack of the app gets from BaseStack, read from the synthesized
 * app: its own state (local, S3 or Terraform Cloud, one per stack) and an AWS provider with the
 * region and default tags from the config.
 *
 * @lane synth
 */
import { synthStacks, testConfig } from '../support/synth';

describe('remote state per stack', () => {
  it('local (default): a relative path per stack, never an absolute path of this machine', () => {
    const stacks = synthStacks(testConfig());
    expect(Object.keys(stacks).sort()).toEqual(['log-rescue', 'session-logs']);
    expect(stacks['log-rescue'].terraform.backend).toEqual({ local: { path: '../../../terraform.log-rescue.tfstate' } });
    expect(stacks['session-logs'].terraform.backend).toEqual({ local: { path: '../../../terraform.session-logs.tfstate' } });
    expect(JSON.stringify(stacks)).not.toContain(process.cwd());
  });

  it('s3: one key per stack, encrypt, use_lockfile and the optional lock table', () => {
    const stacks = synthStacks(testConfig({
      backend: { type: 's3', bucket: 'acme-tf-state', region: 'eu-west-1', keyPrefix: 'platform/logs', dynamodbTable: 'tf-locks' },
    }));
    expect(stacks['log-rescue'].terraform.backend).toEqual({
      s3: { bucket: 'acme-tf-state', key: 'platform/logs/log-rescue.tfstate', region: 'eu-west-1', encrypt: true, use_lockfile: true, dynamodb_table: 'tf-locks' },
    });
    expect(stacks['session-logs'].terraform.backend.s3.key).toBe('platform/logs/session-logs.tfstate');
  });

  it('cloud: a cloud block with a named workspace (and project) per stack', () => {
    const stacks = synthStacks(testConfig({
      backend: { type: 'cloud', organization: 'acme', project: 'platform', workspaces: { 'session-logs': 'sessions-prod' } },
    }));
    expect(stacks['log-rescue'].terraform.cloud).toEqual({
      organization: 'acme', hostname: 'app.terraform.io', workspaces: { name: 'logrescue-dev-log-rescue', project: 'platform' },
    });
    expect(stacks['session-logs'].terraform.cloud.workspaces).toEqual({ name: 'sessions-prod', project: 'platform' });
    expect(stacks['log-rescue'].terraform.backend).toBeUndefined();
  });

  it('gives each stack an AWS provider with the region and default tags from config', () => {
    const stacks = synthStacks(testConfig({ region: 'eu-central-1', environment: 'prod', owner: 'sre', tags: { CostCenter: '42' } }));
    for (const name of ['log-rescue', 'session-logs']) {
      expect(stacks[name].provider!.aws[0]).toEqual({
        region: 'eu-central-1',
        default_tags: [{ tags: { CostCenter: '42', Project: 'logrescue', Environment: 'prod', Owner: 'sre', Stack: name, ManagedBy: 'cdktf' } }],
      });
    }
  });
});
