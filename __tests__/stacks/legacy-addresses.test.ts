/**
 * stacks/legacy-addresses.ts, read against the facts it is frozen to: the states the stacks had at
 * commit 983b22a (the last with hashed addresses, __tests__/fixtures/addresses/), without Terraform.
 * Every resource address in those states is an old address legacyAddresses gives (so each one gets
 * a `moved` block), the entries follow the config (groups, roles, zones), and the archive stack has
 * none. The plan of the migration itself is legacy-addresses.plan.test.ts.
 *
 * @lane unit
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { contractConfig } from '../../scripts/addresses';
import { legacyAddresses } from '../../stacks/legacy-addresses';
import { StackName } from '../../stacks/base-stack';
import { testConfig } from '../support/synth';

type State = { resources: Array<{ mode: string; type: string; name: string }> };
const fixture = (name: string): Record<string, State> =>
  JSON.parse(readFileSync(path.join(__dirname, '../fixtures/addresses', `states-before-readable-addresses.${name}.json`), 'utf8'));

describe.each(['default', 'all-on'] as const)('the %s deployment at 983b22a', (name) => {
  const states = fixture(name);

  it.each(Object.keys(states))('%s: every resource in its state has a readable address to move to', (stack) => {
    const old = new Set(legacyAddresses(stack as StackName, contractConfig(name)).values());
    const deployed = states[stack].resources.filter((r) => r.mode === 'managed').map((r) => `${r.type}.${r.name}`);
    expect(deployed.length).toBeGreaterThan(10);
    expect(deployed.filter((a) => !old.has(a))).toEqual([]);
  });
});

describe('legacyAddresses', () => {
  it('maps readable addresses to the hashed ones the stacks deployed', () => {
    const rescue = legacyAddresses('log-rescue', testConfig());
    // Facts from states-before-readable-addresses.default.json.
    expect(rescue.get('aws_s3_bucket.archive')).toBe('aws_s3_bucket.archive_bucket_B42367AB');
    expect(rescue.get('aws_sqs_queue.dead_letters')).toBe('aws_sqs_queue.events_dlq_0D3F31C3');
    expect(rescue.get('aws_autoscaling_lifecycle_hook.web_fleet')).toBe('aws_autoscaling_lifecycle_hook.hooks_hook-web-fleet_BDDBBC2D');
    expect(rescue.get('aws_ssm_document.rescue_logs')).toBe('aws_ssm_document.document');
    expect(legacyAddresses('session-logs', testConfig()).get('aws_s3_bucket.athena_results')).toBe('aws_s3_bucket.analysis_results_bucket_A08BC55A');
  });

  it('keeps the type of every address', () => {
    for (const stack of ['log-rescue', 'session-logs', 'demo-fleet'] as const) {
      for (const [readable, old] of legacyAddresses(stack, testConfig())) {
        expect(old.slice(0, old.indexOf('.'))).toBe(readable.slice(0, readable.indexOf('.')));
      }
    }
  });

  it('has entries for the groups, roles and zones the config names', () => {
    const config = testConfig({ logRescue: { autoScalingGroups: ['web-fleet', 'Batch.Jobs'], attachInstancePolicyToRoles: ['fleet-role'] }, demoFleet: { availabilityZoneSuffixes: ['a', 'c'] } });
    const rescue = legacyAddresses('log-rescue', config);
    expect([...rescue.keys()].filter((a) => a.startsWith('aws_autoscaling_lifecycle_hook.')).sort())
      .toEqual(['aws_autoscaling_lifecycle_hook.batch_jobs', 'aws_autoscaling_lifecycle_hook.from_remote_state', 'aws_autoscaling_lifecycle_hook.web_fleet']);
    expect(rescue.get('aws_autoscaling_lifecycle_hook.batch_jobs')).toMatch(/^aws_autoscaling_lifecycle_hook\.hooks_hook-BatchJobs_[0-9A-F]{8}$/);
    expect(rescue.get('aws_iam_role_policy_attachment.instance_upload_fleet_role')).toMatch(/^aws_iam_role_policy_attachment\.instance-policy_attach-fleet-role_[0-9A-F]{8}$/);
    const subnets = [...legacyAddresses('demo-fleet', config).keys()].filter((a) => a.startsWith('aws_subnet.'));
    expect(subnets.sort()).toEqual(['aws_subnet.private_a', 'aws_subnet.private_c']);
  });

  it('gives the archive stack nothing: it was never deployed at hashed addresses', () => {
    expect(legacyAddresses('archive', testConfig()).size).toBe(0);
  });

  it('builds each answer afresh: one config\'s groups never show up in another\'s', () => {
    const hooks = (groups: string[]) => [...legacyAddresses('log-rescue', testConfig({ logRescue: { autoScalingGroups: groups } })).keys()]
      .filter((a) => a.startsWith('aws_autoscaling_lifecycle_hook.') && !a.endsWith('.from_remote_state'));
    expect(hooks(['api'])).toEqual(['aws_autoscaling_lifecycle_hook.api']);
    expect(hooks(['worker'])).toEqual(['aws_autoscaling_lifecycle_hook.worker']);
  });
});
