/**
 * DemoFleet on a bare stack: an Auto Scaling group of Amazon Linux 2023 arm64 instances reachable
 * only through Session Manager: no key pair, no inbound rule, IMDSv2 only with hop limit 1,
 * encrypted root volume, HTTPS out to the VPC (its endpoints) and to the S3 prefix list only,
 * tags on instances and volumes, launched after what it is told to wait for.
 * @lane unit
 */
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { named } from '../../../modules/shared/addresses';
import { AL2023_ARM64_IMAGE, DemoFleet, DemoFleetProps } from '../../../modules/demo-fleet/fleet';

const PROPS: DemoFleetProps = {
  name: 'acme-prod-demo-fleet',
  vpcId: 'vpc-0123456789abcdef0',
  vpcCidr: '10.42.0.0/16',
  subnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
  s3PrefixListId: 'pl-63a5400a',
  instanceProfileName: 'acme-prod-session-instance',
  instanceType: 't4g.micro',
  desiredCapacity: 2,
  tags: { Project: 'acme', Purpose: 'demo' },
};

/** The fleet (construct id `fleet`) on a bare stack. */
function synth(over: Partial<DemoFleetProps> = {}): StackJson {
  const b = bareStack();
  new DemoFleet(b.stack, 'fleet', { ...PROPS, ...over });
  return synthBare(b.stack);
}

const all = (s: StackJson, type: string): any[] => Object.values(resourcesOf(s, type));

describe('DemoFleet', () => {
  const s = synth();
  const sgRef = '${aws_security_group.fleet.id}';

  it('makes a security group, its two egress rules, a launch template and a group, at readable addresses', () => {
    expect(Object.keys(resourcesOf(s, 'aws_security_group'))).toEqual(['fleet']);
    expect(Object.keys(resourcesOf(s, 'aws_vpc_security_group_egress_rule')).sort()).toEqual(['fleet_https_to_endpoints', 'fleet_https_to_s3']);
    expect(Object.keys(resourcesOf(s, 'aws_launch_template'))).toEqual(['fleet']);
    expect(Object.keys(resourcesOf(s, 'aws_autoscaling_group'))).toEqual(['fleet']);
  });

  it('launch template: AL2023 arm64 from the SSM parameter, no key pair, IMDSv2 only with hop limit 1, encrypted root volume', () => {
    const lt = at(s, 'aws_launch_template', 'fleet');
    expect(AL2023_ARM64_IMAGE).toBe('resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64');
    expect(lt).toMatchObject({
      name: 'acme-prod-demo-fleet',
      image_id: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
      instance_type: 't4g.micro',
      iam_instance_profile: { name: 'acme-prod-session-instance' },
      vpc_security_group_ids: [sgRef],
      metadata_options: { http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: 1, instance_metadata_tags: 'disabled' },
      block_device_mappings: [{ device_name: '/dev/xvda', ebs: { encrypted: 'true', volume_type: 'gp3', delete_on_termination: 'true' } }],
      update_default_version: true,
    });
    expect(lt).not.toHaveProperty('key_name');
    expect(lt).not.toHaveProperty('user_data');
    expect(lt).not.toHaveProperty('network_interfaces'); // which could ask for a public IP
  });

  it('launch template: instance type, profile and name as given; volumes tagged with the tags and the name', () => {
    expect(at(s, 'aws_launch_template', 'fleet').tag_specifications).toEqual([
      { resource_type: 'volume', tags: { Project: 'acme', Purpose: 'demo', Name: 'acme-prod-demo-fleet' } },
    ]);
    const t = at(synth({ name: 'beta-dev-demo-fleet', instanceType: 'm7g.large', instanceProfileName: 'beta-profile', tags: { Team: 'sre' } }), 'aws_launch_template', 'fleet');
    expect(t).toMatchObject({ name: 'beta-dev-demo-fleet', instance_type: 'm7g.large', iam_instance_profile: { name: 'beta-profile' } });
    expect(t.tag_specifications).toEqual([{ resource_type: 'volume', tags: { Team: 'sre', Name: 'beta-dev-demo-fleet' } }]);
  });

  it('security group: no ingress at all, egress only HTTPS to the VPC CIDR (endpoints) and to the S3 prefix list', () => {
    const sg = at(s, 'aws_security_group', 'fleet');
    expect(sg).toMatchObject({ name: 'acme-prod-demo-fleet-instances', vpc_id: 'vpc-0123456789abcdef0', tags: { Name: 'acme-prod-demo-fleet-instances' } });
    expect([sg.ingress, sg.egress]).toEqual([undefined, undefined]);
    expect(resourcesOf(s, 'aws_vpc_security_group_ingress_rule')).toEqual({});
    expect(resourcesOf(s, 'aws_security_group_rule')).toEqual({});
    const rule = ({ security_group_id, ip_protocol, from_port, to_port, cidr_ipv4, prefix_list_id }: any) =>
      ({ security_group_id, ip_protocol, from_port, to_port, cidr_ipv4, prefix_list_id });
    expect(rule(at(s, 'aws_vpc_security_group_egress_rule', 'fleet_https_to_endpoints'))).toEqual(
      { security_group_id: sgRef, ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: '10.42.0.0/16', prefix_list_id: undefined });
    expect(rule(at(s, 'aws_vpc_security_group_egress_rule', 'fleet_https_to_s3'))).toEqual(
      { security_group_id: sgRef, ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: undefined, prefix_list_id: 'pl-63a5400a' });
    const t = synth({ vpcCidr: '192.168.0.0/24', s3PrefixListId: 'pl-02cd2c6b' });
    expect(at(t, 'aws_vpc_security_group_egress_rule', 'fleet_https_to_endpoints').cidr_ipv4).toBe('192.168.0.0/24');
    expect(at(t, 'aws_vpc_security_group_egress_rule', 'fleet_https_to_s3').prefix_list_id).toBe('pl-02cd2c6b');
  });

  it('Auto Scaling group: in the subnets given, from 0 to 2 above the desired capacity, latest template, EC2 health checks', () => {
    expect(at(s, 'aws_autoscaling_group', 'fleet')).toMatchObject({
      name: 'acme-prod-demo-fleet',
      min_size: 0, desired_capacity: 2, max_size: 4,
      vpc_zone_identifier: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
      launch_template: { id: '${aws_launch_template.fleet.id}', version: '$Latest' },
      health_check_type: 'EC2',
    });
    expect(at(synth({ desiredCapacity: 5 }), 'aws_autoscaling_group', 'fleet')).toMatchObject({ min_size: 0, desired_capacity: 5, max_size: 7 });
  });

  it('Auto Scaling group: the tags and the name, each propagated to the instances at launch', () => {
    expect(at(s, 'aws_autoscaling_group', 'fleet').tag).toEqual([
      { key: 'Project', value: 'acme', propagate_at_launch: true },
      { key: 'Purpose', value: 'demo', propagate_at_launch: true },
      { key: 'Name', value: 'acme-prod-demo-fleet', propagate_at_launch: true },
    ]);
  });

  it('Auto Scaling group: launched after what launchAfter names, and after nothing without it', () => {
    expect(at(s, 'aws_autoscaling_group', 'fleet').depends_on).toBeUndefined();
    const b = bareStack();
    const endpoints = ['ssm', 'logs'].map((e) => named(new VpcEndpoint(b.stack, e, { vpcId: PROPS.vpcId, serviceName: `com.amazonaws.us-east-1.${e}` }), e));
    new DemoFleet(b.stack, 'fleet', { ...PROPS, launchAfter: endpoints });
    expect(at(synthBare(b.stack), 'aws_autoscaling_group', 'fleet').depends_on).toEqual(['aws_vpc_endpoint.ssm', 'aws_vpc_endpoint.logs']);
  });

  it('makes no network: the VPC, subnets and prefix list are given', () => {
    for (const t of ['aws_vpc', 'aws_subnet', 'aws_route_table', 'aws_vpc_endpoint']) expect(all(s, t)).toEqual([]);
  });
});
