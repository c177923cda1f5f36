/**
 * DemoNetwork on a bare stack: a private-only VPC (one subnet per zone it is given, route tables
 * with no route, no internet or NAT gateway, the default security group adopted with no rules) and
 * the Session Manager endpoints in its subnets and on its route tables; privateSubnetCidrs splits
 * the VPC evenly into literal CIDRs.
 * @lane unit
 */
import { TerraformOutput } from 'cdktf';
import { resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { DemoNetwork, DemoNetworkProps, privateSubnetCidrs } from '../../../modules/demo-fleet/network';

const PROPS: DemoNetworkProps = {
  region: 'eu-west-1',
  vpcCidr: '10.42.0.0/16',
  availabilityZoneSuffixes: ['a', 'b'],
  namePrefix: 'acme-prod',
};

/** The network (construct id `network`) on a bare stack in the region of its props. */
function synth(over: Partial<DemoNetworkProps> = {}): { s: StackJson; network: DemoNetwork } {
  const props = { ...PROPS, ...over };
  const b = bareStack(props.region);
  const network = new DemoNetwork(b.stack, 'network', props);
  return { s: synthBare(b.stack), network };
}

const all = (s: StackJson, type: string): any[] => Object.values(resourcesOf(s, type));

describe('privateSubnetCidrs', () => {
  it.each([
    // At least 4 more prefix bits than the VPC: room to add subnets later.
    ['a /16 in 2', '172.16.0.0/16', 2, ['172.16.0.0/20', '172.16.16.0/20']],
    ['a /16 in 3', '10.42.0.0/16', 3, ['10.42.0.0/20', '10.42.16.0/20', '10.42.32.0/20']],
    // ... unless that would make them smaller than /26.
    ['a /24 in 3', '10.9.8.0/24', 3, ['10.9.8.0/26', '10.9.8.64/26', '10.9.8.128/26']],
    ['a /23 in 2', '10.0.2.0/23', 2, ['10.0.2.0/26', '10.0.2.64/26']],
    // More zones than that allows split finer.
    ['a /24 in 6', '10.0.0.0/24', 6, ['0', '32', '64', '96', '128', '160'].map((o) => `10.0.0.${o}/27`)],
  ])('%s', (_what, cidr, count, expected) => {
    expect(privateSubnetCidrs(cidr, count)).toEqual(expected);
  });

  it('17 zones of a /16: /21s, the 17th starting at 10.0.128.0', () => {
    const cidrs = privateSubnetCidrs('10.0.0.0/16', 17);
    expect(cidrs).toHaveLength(17);
    expect([cidrs[0], cidrs[1], cidrs[2], cidrs[16]]).toEqual(['10.0.0.0/21', '10.0.8.0/21', '10.0.16.0/21', '10.0.128.0/21']);
  });

  it('carries into the higher octets', () => {
    expect(privateSubnetCidrs('10.0.0.0/8', 3)).toEqual(['10.0.0.0/12', '10.16.0.0/12', '10.32.0.0/12']);
  });
});

describe('DemoNetwork', () => {
  const { s, network } = synth();
  const subnetIds = ['a', 'b'].map((z) => `\${aws_subnet.private_${z}.id}`);
  const tableIds = ['a', 'b'].map((z) => `\${aws_route_table.private_${z}.id}`);

  it('a private-only VPC: one subnet per configured zone, route tables without routes, no internet or NAT gateway', () => {
    expect(at(s, 'aws_vpc', 'demo')).toMatchObject({
      cidr_block: '10.42.0.0/16', enable_dns_support: true, enable_dns_hostnames: true, tags: { Name: 'acme-prod-demo-fleet' },
    });
    expect(Object.keys(resourcesOf(s, 'aws_subnet'))).toEqual(['private_a', 'private_b']);
    expect(all(s, 'aws_subnet').map((n) => [n.availability_zone, n.cidr_block, n.tags.Name])).toEqual([
      ['eu-west-1a', '10.42.0.0/20', 'acme-prod-demo-fleet-private-eu-west-1a'],
      ['eu-west-1b', '10.42.16.0/20', 'acme-prod-demo-fleet-private-eu-west-1b'],
    ]);
    for (const n of all(s, 'aws_subnet')) expect(n).toMatchObject({ vpc_id: '${aws_vpc.demo.id}', map_public_ip_on_launch: false });
    for (const t of ['aws_internet_gateway', 'aws_egress_only_internet_gateway', 'aws_nat_gateway', 'aws_eip', 'aws_route']) {
      expect(resourcesOf(s, t)).toEqual({});
    }
    expect(Object.keys(resourcesOf(s, 'aws_route_table'))).toEqual(['private_a', 'private_b']);
    for (const t of all(s, 'aws_route_table')) {
      expect(t.vpc_id).toBe('${aws_vpc.demo.id}');
      expect(t.route).toBeUndefined();
    }
    expect(all(s, 'aws_route_table_association').map((a) => [a.subnet_id, a.route_table_id])).toEqual([
      [subnetIds[0], tableIds[0]], [subnetIds[1], tableIds[1]],
    ]);
    // Zones and image come from config and SSM at launch: planning reads nothing from AWS.
    expect(Object.keys(s.data ?? {}).sort()).toEqual(['aws_caller_identity', 'aws_partition']);
    expect(network.subnets).toHaveLength(2);
    expect(network.routeTables).toHaveLength(2);
  });

  it('adopts the default security group with no rules, so nothing placed in it talks to anything', () => {
    const dsg = at(s, 'aws_default_security_group', 'demo');
    expect(dsg).toMatchObject({ vpc_id: '${aws_vpc.demo.id}', tags: { Name: 'acme-prod-demo-fleet-default-unused' } });
    expect([dsg.ingress, dsg.egress]).toEqual([undefined, undefined]);
  });

  it('zones come from the region and the suffixes it is given; subnets split the VPC evenly', () => {
    const t = synth({ region: 'ap-northeast-1', availabilityZoneSuffixes: ['a', 'c', 'd'], vpcCidr: '10.9.8.0/24', namePrefix: 'beta-dev' }).s;
    expect(Object.keys(resourcesOf(t, 'aws_subnet'))).toEqual(['private_a', 'private_c', 'private_d']);
    expect(all(t, 'aws_subnet').map((n) => [n.availability_zone, n.cidr_block])).toEqual([
      ['ap-northeast-1a', '10.9.8.0/26'], ['ap-northeast-1c', '10.9.8.64/26'], ['ap-northeast-1d', '10.9.8.128/26'],
    ]);
    expect(all(t, 'aws_route_table_association')).toHaveLength(3);
    expect(at(t, 'aws_vpc', 'demo')).toMatchObject({ cidr_block: '10.9.8.0/24', tags: { Name: 'beta-dev-demo-fleet' } });
  });

  it('interface endpoints for ssm, ssmmessages, ec2messages, logs and kms in its subnets, and the S3 gateway on its route tables', () => {
    const endpoints = all(s, 'aws_vpc_endpoint');
    const iface = endpoints.filter((e) => e.vpc_endpoint_type === 'Interface');
    expect(iface.map((e) => e.service_name).sort()).toEqual(['ec2messages', 'kms', 'logs', 'ssm', 'ssmmessages'].map((x) => `com.amazonaws.eu-west-1.${x}`));
    for (const e of iface) expect(e).toMatchObject({ private_dns_enabled: true, subnet_ids: subnetIds, vpc_id: '${aws_vpc.demo.id}' });
    expect(at(s, 'aws_vpc_endpoint', 's3')).toMatchObject({
      service_name: 'com.amazonaws.eu-west-1.s3', vpc_endpoint_type: 'Gateway', route_table_ids: tableIds, vpc_id: '${aws_vpc.demo.id}',
    });
    expect(endpoints).toHaveLength(6);
    // HTTPS to the endpoints from the whole VPC, and the endpoints named after the network.
    expect(at(s, 'aws_vpc_security_group_ingress_rule', 'endpoints_https_from_vpc')).toMatchObject({ from_port: 443, to_port: 443, cidr_ipv4: '10.42.0.0/16' });
    expect(at(s, 'aws_security_group', 'endpoints').name).toBe('acme-prod-demo-fleet-ssm-endpoints');
  });

  it('exposes every endpoint, for instances to launch after, and the S3 gateway\'s prefix list, for egress rules', () => {
    expect(network.endpointResources).toHaveLength(6);
    expect(new Set(network.endpointResources)).toEqual(new Set([...Object.values(network.endpoints.interfaceEndpoints), network.endpoints.s3Gateway]));
    const b = bareStack(PROPS.region);
    const other = new DemoNetwork(b.stack, 'network', PROPS);
    new TerraformOutput(b.stack, 'uses', { value: { prefixList: other.s3PrefixListId, after: other.endpointResources.map((e) => e.id) } });
    const out = synthBare(b.stack).output!.uses.value as any;
    expect(out.prefixList).toBe('${aws_vpc_endpoint.s3.prefix_list_id}');
    expect([...out.after].sort()).toEqual(['ec2messages', 'kms', 'logs', 's3', 'ssm', 'ssmmessages'].map((e) => `\${aws_vpc_endpoint.${e}.id}`));
  });
});
