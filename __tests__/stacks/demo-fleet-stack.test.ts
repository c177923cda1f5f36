/**
 * DemoFleetStack and config/demo.json: the demo config turns on all three stacks whose names line
 * up; the stack builds the network and the fleet from config (zones, CIDR, capacity, instance type),
 * launches with the session-logs instance profile and the provider's default tags, after every
 * endpoint, and outputs what docs/demo.md uses; the demo fleet's config checks. What DemoNetwork and
 * DemoFleet make from their props is in __tests__/modules/demo-fleet/.
 * @lane synth
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../config/load';
import { AppConfig } from '../../config/schema';
import { demoFleetGroupName } from '../../stacks/demo-fleet-stack';
import { deepMerge, onlyResource, resourceAt, resourcesOf, StackJson, synthStacks, testConfig } from '../support/synth';
import { ref } from './session-logs.helpers';

const DEMO_CONFIG = path.join(__dirname, '../../config/demo.json');
const demoJson = () => JSON.parse(readFileSync(DEMO_CONFIG, 'utf8'));

/** config/demo.json plus `overrides`, validated like the app does. */
function demoConfig(overrides: Record<string, unknown> = {}): AppConfig {
  return parseConfig(deepMerge(demoJson(), overrides), 'demo config');
}

function problemsOf(overrides: Record<string, unknown>): string {
  try {
    demoConfig(overrides);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  throw new Error(`config was accepted: ${JSON.stringify(overrides)}`);
}

const demoStacks = (overrides: Record<string, unknown> = {}) => synthStacks(demoConfig(overrides));
const all = (stack: StackJson, type: string): any[] => Object.values(resourcesOf(stack, type));

describe('config/demo.json', () => {
  it('parses (as LOG_RESCUE_CONFIG) and enables all three stacks', () => {
    const config = loadConfig({ LOG_RESCUE_CONFIG: DEMO_CONFIG });
    expect([config.logRescue.enabled, config.sessionLogs.enabled, config.demoFleet.enabled]).toEqual([true, true, true]);
    expect(config.sessionLogs.createInstanceRole).toBe(true);
    expect(config.logRescue.autoScalingGroups).toEqual(['logrescue-sandbox-demo-fleet']);
    expect(config.logRescue.attachInstancePolicyToRoles).toEqual(['logrescue-sandbox-session-instance']);
    expect(Object.keys(synthStacks(config)).sort()).toEqual(['demo-fleet', 'log-rescue', 'session-logs']);
  });

  it('names line up across stacks: the hook is on the demo group, the upload policy on the instance role the fleet launches with', () => {
    const stacks = demoStacks();
    const group = onlyResource(stacks['demo-fleet'], 'aws_autoscaling_group');
    const profile = onlyResource(stacks['session-logs'], 'aws_iam_instance_profile');
    const role = resourceAt(stacks['session-logs'], 'aws_iam_role', 'instance-iam/role');
    expect(onlyResource(stacks['demo-fleet'], 'aws_launch_template').iam_instance_profile).toEqual({ name: profile.name });
    expect(onlyResource(stacks['log-rescue'], 'aws_autoscaling_lifecycle_hook').autoscaling_group_name).toBe(group.name);
    expect(resourceAt(stacks['log-rescue'], 'aws_iam_role_policy_attachment', 'instance-policy/attach-logrescue-sandbox-session-instance')).toEqual(
      expect.objectContaining({ role: role.name, policy_arn: ref(stacks['log-rescue'], 'aws_iam_policy', 'instance-policy/policy', 'arn') }),
    );
  });
});

describe('demo-fleet stack', () => {
  /** The demo-fleet stack of config/demo.json, synthesized once for the tests that only read it. */
  let demo: StackJson | undefined;
  const stack = () => (demo ??= demoStacks()['demo-fleet']);

  it('is off in the default config', () => {
    expect(testConfig().demoFleet.enabled).toBe(false);
    expect(Object.keys(synthStacks(testConfig()))).not.toContain('demo-fleet');
  });

  it('names the group <project>-<environment>-demo-fleet, the name logRescue.autoScalingGroups lists', () => {
    expect(demoFleetGroupName({ project: 'logrescue', environment: 'sandbox' })).toBe('logrescue-sandbox-demo-fleet');
    expect(demoFleetGroupName({ project: 'acme', environment: 'prod' })).toBe('acme-prod-demo-fleet');
    const s = demoStacks({ project: 'acme', environment: 'prod' })['demo-fleet'];
    expect(onlyResource(s, 'aws_autoscaling_group').name).toBe('acme-prod-demo-fleet');
    expect(onlyResource(s, 'aws_launch_template').name).toBe('acme-prod-demo-fleet');
  });

  it('builds the network from demoFleet.vpcCidr, the stack\'s region and demoFleet.availabilityZoneSuffixes', () => {
    const s = stack();
    expect(onlyResource(s, 'aws_vpc')).toMatchObject({ cidr_block: '10.42.0.0/16', tags: { Name: 'logrescue-sandbox-demo-fleet' } });
    expect(all(s, 'aws_subnet').map((n) => n.availability_zone)).toEqual(['us-east-1a', 'us-east-1b']);
    const t = demoStacks({ region: 'ap-northeast-1', demoFleet: { availabilityZoneSuffixes: ['a', 'c', 'd'], vpcCidr: '10.9.8.0/24' } })['demo-fleet'];
    expect(onlyResource(t, 'aws_vpc').cidr_block).toBe('10.9.8.0/24');
    expect(all(t, 'aws_subnet').map((n) => n.availability_zone)).toEqual(['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d']);
    expect(all(t, 'aws_vpc_endpoint').map((e) => e.service_name)).toContain('com.amazonaws.ap-northeast-1.ssm');
  });

  it('puts the fleet in that network: its VPC, its subnets, HTTPS to its CIDR and to its S3 gateway\'s prefix list', () => {
    const s = stack();
    const sg = resourceAt(s, 'aws_security_group', 'fleet/security-group');
    expect(sg.vpc_id).toBe(ref(s, 'aws_vpc', 'network/vpc', 'id'));
    expect(onlyResource(s, 'aws_autoscaling_group').vpc_zone_identifier).toEqual(['private-a', 'private-b'].map((n) => ref(s, 'aws_subnet', `network/${n}`, 'id')));
    expect(resourceAt(s, 'aws_vpc_security_group_egress_rule', 'fleet/https-to-endpoints').cidr_ipv4).toBe('10.42.0.0/16');
    expect(resourceAt(s, 'aws_vpc_security_group_egress_rule', 'fleet/https-to-s3').prefix_list_id).toBe(ref(s, 'aws_vpc_endpoint', 'endpoints/s3', 'prefix_list_id'));
  });

  it('launches with the session-logs instance profile, demoFleet.instanceType and demoFleet.desiredCapacity', () => {
    const s = demoStacks({ demoFleet: { desiredCapacity: 3, instanceType: 't4g.small' } })['demo-fleet'];
    expect(onlyResource(s, 'aws_launch_template')).toMatchObject({ instance_type: 't4g.small', iam_instance_profile: { name: 'logrescue-sandbox-session-instance' } });
    expect(onlyResource(s, 'aws_autoscaling_group')).toMatchObject({ desired_capacity: 3, max_size: 5 });
    expect(onlyResource(stack(), 'aws_launch_template').instance_type).toBe('t4g.micro');
  });

  it('tags instances and volumes with the provider\'s default tags, which do not reach them otherwise', () => {
    const s = stack();
    const defaults = s.provider!.aws[0].default_tags[0].tags;
    expect(defaults).toMatchObject({ Project: 'logrescue', Purpose: 'log-rescue-demo', Stack: 'demo-fleet' });
    const group = onlyResource(s, 'aws_autoscaling_group');
    const byKey = (tags: Array<{ key: string }>) => [...tags].sort((a, b) => a.key.localeCompare(b.key));
    expect(byKey(group.tag)).toEqual(byKey([...Object.entries(defaults), ['Name', 'logrescue-sandbox-demo-fleet']]
      .map(([key, value]) => ({ key: key as string, value, propagate_at_launch: true }))));
    expect(onlyResource(s, 'aws_launch_template').tag_specifications[0].tags).toEqual({ ...defaults, Name: 'logrescue-sandbox-demo-fleet' });
  });

  it('launches the group after every endpoint of the network', () => {
    const s = stack();
    const endpoints = Object.keys(resourcesOf(s, 'aws_vpc_endpoint')).map((n) => `aws_vpc_endpoint.${n}`);
    expect(endpoints).toHaveLength(6);
    expect([...onlyResource(s, 'aws_autoscaling_group').depends_on].sort()).toEqual(endpoints.sort());
  });

  it('outputs the group name, the VPC and a command that lists the running instances', () => {
    const s = stack();
    expect(s.output!.auto_scaling_group_name.value).toBe(ref(s, 'aws_autoscaling_group', 'fleet/group', 'name'));
    expect(s.output!.vpc_id.value).toBe(ref(s, 'aws_vpc', 'network/vpc', 'id'));
    expect(s.output!.list_instances_command.value).toBe('aws ec2 describe-instances --region us-east-1 --filters Name=tag:aws:autoscaling:groupName,Values=logrescue-sandbox-demo-fleet '
      + 'Name=instance-state-name,Values=running --query \'Reservations[].Instances[].InstanceId\' --output text');
    for (const o of Object.values(s.output!)) expect(o.description).toBeTruthy();
  });
});

describe('logRescue.attachInstancePolicyToRoles', () => {
  it('attaches nothing by default', () => {
    expect(testConfig().logRescue.attachInstancePolicyToRoles).toEqual([]);
    expect(resourcesOf(synthStacks(testConfig())['log-rescue'], 'aws_iam_role_policy_attachment')).toEqual({});
  });

  it('attaches the instance upload policy to each listed role', () => {
    const s = synthStacks(testConfig({ logRescue: { attachInstancePolicyToRoles: ['fleet-a', 'fleet-b'] } }))['log-rescue'];
    const policy = ref(s, 'aws_iam_policy', 'instance-policy/policy', 'arn');
    expect(all(s, 'aws_iam_role_policy_attachment').map((a) => [a.role, a.policy_arn])).toEqual([['fleet-a', policy], ['fleet-b', policy]]);
  });
});

describe('demo fleet config checks', () => {
  it.each([
    ['without the session-logs instance role', { sessionLogs: { createInstanceRole: false } },
      'demoFleet.enabled: got true; allowed: true only with sessionLogs.enabled and sessionLogs.createInstanceRole true'],
    ['without the session-logs stack', { sessionLogs: { enabled: false } }, 'demoFleet.enabled: got true; allowed: true only with sessionLogs.enabled'],
    ['a CIDR with host bits', { demoFleet: { vpcCidr: '10.42.1.0/16' } }, 'demoFleet.vpcCidr: got "10.42.1.0/16"; allowed: an IPv4 network CIDR: host bits zero'],
    ['an octet above 255', { demoFleet: { vpcCidr: '10.300.0.0/16' } }, 'demoFleet.vpcCidr: got "10.300.0.0/16"; allowed: an IPv4 network CIDR: octets 0..255'],
    ['one zone', { demoFleet: { availabilityZoneSuffixes: ['a'] } }, 'demoFleet.availabilityZoneSuffixes: got ["a"]; allowed: at least 2 zones'],
    ['a zone twice', { demoFleet: { availabilityZoneSuffixes: ['a', 'a'] } }, 'demoFleet.availabilityZoneSuffixes: got ["a","a"]; allowed: no zone twice'],
    ['a full zone name', { demoFleet: { availabilityZoneSuffixes: ['us-east-1a', 'b'] } }, 'demoFleet.availabilityZoneSuffixes[0]: got "us-east-1a"; allowed: one lowercase letter'],
    ['a role ARN instead of a name', { logRescue: { attachInstancePolicyToRoles: ['arn:aws:iam::123456789012:role/x'] } },
      'logRescue.attachInstancePolicyToRoles[0]: got "arn:aws:iam::123456789012:role/x"; allowed: an IAM role name'],
  ])('rejects %s', (_, overrides, message) => {
    expect(problemsOf(overrides)).toContain(message);
  });
});
