/**
 * @lane synth
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../config/load';
import { AppConfig } from '../../config/schema';
import { privateSubnetCidrs } from '../../modules/demo-fleet/network';
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
  const stack = () => demoStacks()['demo-fleet'];

  it('is off in the default config', () => {
    expect(testConfig().demoFleet.enabled).toBe(false);
    expect(Object.keys(synthStacks(testConfig()))).not.toContain('demo-fleet');
  });

  it('a private-only VPC: one subnet per configured zone, route tables without routes, no internet or NAT gateway', () => {
    const s = stack();
    expect(onlyResource(s, 'aws_vpc')).toMatchObject({ cidr_block: '10.42.0.0/16', enable_dns_support: true, enable_dns_hostnames: true });
    const subnets = all(s, 'aws_subnet');
    expect(subnets.map((n) => [n.availability_zone, n.cidr_block])).toEqual([['us-east-1a', '10.42.0.0/20'], ['us-east-1b', '10.42.16.0/20']]);
    for (const n of subnets) expect(n.map_public_ip_on_launch).toBe(false);
    for (const t of ['aws_internet_gateway', 'aws_egress_only_internet_gateway', 'aws_nat_gateway', 'aws_eip', 'aws_route']) {
      expect(resourcesOf(s, t)).toEqual({});
    }
    const tables = all(s, 'aws_route_table');
    expect(tables).toHaveLength(2);
    for (const t of tables) expect(t.route).toBeUndefined();
    expect(all(s, 'aws_route_table_association')).toHaveLength(2);
    expect(s.data ?? {}).not.toHaveProperty('aws_availability_zones');
    expect(s.data ?? {}).not.toHaveProperty('aws_ami');
    // The default security group is adopted with no rules.
    const dsg = onlyResource(s, 'aws_default_security_group');
    expect([dsg.ingress, dsg.egress]).toEqual([undefined, undefined]);
  });

  it('zones come from the region and the configured suffixes; subnets split the VPC evenly', () => {
    const s = demoStacks({ region: 'ap-northeast-1', demoFleet: { availabilityZoneSuffixes: ['a', 'c', 'd'], vpcCidr: '10.9.8.0/24' } })['demo-fleet'];
    expect(all(s, 'aws_subnet').map((n) => [n.availability_zone, n.cidr_block])).toEqual([
      ['ap-northeast-1a', '10.9.8.0/26'], ['ap-northeast-1c', '10.9.8.64/26'], ['ap-northeast-1d', '10.9.8.128/26'],
    ]);
    expect(privateSubnetCidrs('10.0.0.0/24', 6)).toEqual(['0', '32', '64', '96', '128', '160'].map((o) => `10.0.0.${o}/27`));
    expect(privateSubnetCidrs('172.16.0.0/16', 2)).toEqual(['172.16.0.0/20', '172.16.16.0/20']);
  });

  it('interface endpoints for ssm, ssmmessages, ec2messages, logs and kms in the private subnets, and the S3 gateway on their route tables', () => {
    const s = stack();
    const endpoints = all(s, 'aws_vpc_endpoint');
    const subnetIds = ['private-a', 'private-b'].map((n) => ref(s, 'aws_subnet', `network/${n}`, 'id'));
    const iface = endpoints.filter((e) => e.vpc_endpoint_type === 'Interface');
    expect(iface.map((e) => e.service_name).sort()).toEqual(['ec2messages', 'kms', 'logs', 'ssm', 'ssmmessages'].map((x) => `com.amazonaws.us-east-1.${x}`));
    for (const e of iface) expect(e).toMatchObject({ private_dns_enabled: true, subnet_ids: subnetIds, vpc_id: ref(s, 'aws_vpc', 'network/vpc', 'id') });
    expect(endpoints.filter((e) => e.vpc_endpoint_type === 'Gateway')).toEqual([expect.objectContaining({
      service_name: 'com.amazonaws.us-east-1.s3',
      route_table_ids: ['private-a-routes', 'private-b-routes'].map((n) => ref(s, 'aws_route_table', `network/${n}`, 'id')),
    })]);
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'endpoints/https-from-vpc')).toMatchObject({ from_port: 443, to_port: 443, cidr_ipv4: '10.42.0.0/16' });
  });

  it('launch template: AL2023 arm64 from the SSM parameter, no key pair, IMDSv2 only with hop limit 1, encrypted root volume', () => {
    const lt = onlyResource(stack(), 'aws_launch_template');
    expect(lt).toMatchObject({
      name: 'logrescue-sandbox-demo-fleet',
      image_id: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
      instance_type: 't4g.micro',
      iam_instance_profile: { name: 'logrescue-sandbox-session-instance' },
      metadata_options: { http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: 1 },
      block_device_mappings: [{ device_name: '/dev/xvda', ebs: { encrypted: 'true' } }],
    });
    expect(lt).not.toHaveProperty('key_name');
    expect(lt).not.toHaveProperty('user_data');
    expect(lt).not.toHaveProperty('network_interfaces'); // which could ask for a public IP
  });

  it('instance security group: no ingress at all, egress only HTTPS to the VPC (endpoints) and to the S3 prefix list', () => {
    const s = stack();
    const sgRef = ref(s, 'aws_security_group', 'fleet/security-group', 'id');
    const sg = resourceAt(s, 'aws_security_group', 'fleet/security-group');
    expect([sg.ingress, sg.egress]).toEqual([undefined, undefined]);
    expect(all(s, 'aws_vpc_security_group_ingress_rule').filter((r) => r.security_group_id === sgRef)).toEqual([]);
    expect(resourcesOf(s, 'aws_security_group_rule')).toEqual({});
    const egress = all(s, 'aws_vpc_security_group_egress_rule');
    expect(egress.map(({ security_group_id, ip_protocol, from_port, to_port, cidr_ipv4, prefix_list_id }) =>
      ({ security_group_id, ip_protocol, from_port, to_port, cidr_ipv4, prefix_list_id }))).toEqual([
      { security_group_id: sgRef, ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: '10.42.0.0/16', prefix_list_id: undefined },
      { security_group_id: sgRef, ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: undefined, prefix_list_id: ref(s, 'aws_vpc_endpoint', 'endpoints/s3', 'prefix_list_id') },
    ]);
    expect(onlyResource(s, 'aws_launch_template').vpc_security_group_ids).toEqual([sgRef]);
  });

  it('Auto Scaling group: deterministic name, capacity from config, private subnets, tags propagated, launched after the endpoints', () => {
    const s = demoStacks({ demoFleet: { desiredCapacity: 3 } })['demo-fleet'];
    const group = onlyResource(s, 'aws_autoscaling_group');
    expect(group).toMatchObject({
      name: 'logrescue-sandbox-demo-fleet',
      min_size: 0, desired_capacity: 3, max_size: 5,
      vpc_zone_identifier: ['private-a', 'private-b'].map((n) => ref(s, 'aws_subnet', `network/${n}`, 'id')),
      launch_template: { id: ref(s, 'aws_launch_template', 'fleet/launch-template', 'id'), version: '$Latest' },
    });
    expect(group.tag).toEqual(expect.arrayContaining([
      { key: 'Name', value: 'logrescue-sandbox-demo-fleet', propagate_at_launch: true },
      { key: 'Project', value: 'logrescue', propagate_at_launch: true },
      { key: 'Purpose', value: 'log-rescue-demo', propagate_at_launch: true },
    ]));
    for (const t of group.tag) expect(t.propagate_at_launch).toBe(true);
    expect(group.depends_on).toHaveLength(6);
    expect(group.depends_on.every((d: string) => d.startsWith('aws_vpc_endpoint.'))).toBe(true);
    expect(s.output!.auto_scaling_group_name.value).toBe(ref(s, 'aws_autoscaling_group', 'fleet/group', 'name'));
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
