/** @lane synth */
import { onlyResource, resourceAt, resourcesOf } from '../../support/synth';
import { ref, sessionStack } from '../../stacks/session-logs.helpers';

const VPC = 'vpc-0123456789abcdef0';
const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
const ROUTES = ['rtb-0123456789abcdef0'];

describe('VPC endpoints for private subnets', () => {
  it('are off by default', () => {
    const s = sessionStack();
    expect(resourcesOf(s, 'aws_vpc_endpoint')).toEqual({});
    expect(resourcesOf(s, 'aws_security_group')).toEqual({});
  });

  it('interface endpoints for ssm, ssmmessages, ec2messages, logs and kms with private DNS, behind HTTPS-from-the-VPC only', () => {
    const s = sessionStack({ vpcEndpoints: { enabled: true, vpcId: VPC, subnetIds: SUBNETS, routeTableIds: ROUTES, vpcCidr: '10.20.0.0/16' } });
    const sg = onlyResource(s, 'aws_security_group');
    expect(sg).toMatchObject({ name: 'logrescue-dev-ssm-endpoints', vpc_id: VPC });
    expect(sg.ingress).toBeUndefined();
    expect(sg.egress).toBeUndefined();
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-vpc')).toMatchObject({
      security_group_id: ref(s, 'aws_security_group', 'vpc-endpoints/security-group', 'id'),
      ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: '10.20.0.0/16',
    });
    // One CIDR: no further rules.
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-more-cidrs').for_each).toBe('${toset([])}');

    const endpoints = Object.values(resourcesOf(s, 'aws_vpc_endpoint')) as any[];
    const iface = endpoints.filter((e) => e.vpc_endpoint_type === 'Interface');
    expect(iface.map((e) => e.service_name).sort()).toEqual(
      ['ec2messages', 'kms', 'logs', 'ssm', 'ssmmessages'].map((svc) => `com.amazonaws.us-east-1.${svc}`),
    );
    for (const e of iface) {
      expect(e).toMatchObject({
        vpc_id: VPC, private_dns_enabled: true, subnet_ids: SUBNETS,
        security_group_ids: [ref(s, 'aws_security_group', 'vpc-endpoints/security-group', 'id')],
      });
    }
    expect(endpoints.filter((e) => e.vpc_endpoint_type === 'Gateway')).toEqual([
      expect.objectContaining({ service_name: 'com.amazonaws.us-east-1.s3', vpc_id: VPC, route_table_ids: ROUTES }),
    ]);
  });

  it('admits HTTPS from every CIDR of the VPC, secondary ones included, one rule each', () => {
    const s = sessionStack({ vpcEndpoints: { enabled: true, vpcId: VPC, subnetIds: SUBNETS, vpcCidr: ['10.20.0.0/16', '100.64.0.0/16', '10.21.0.0/16'] } });
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-vpc').cidr_ipv4).toBe('10.20.0.0/16');
    const more = resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-more-cidrs');
    expect(more).toMatchObject({ for_each: '${toset(["100.64.0.0/16", "10.21.0.0/16"])}', cidr_ipv4: '${each.value}', from_port: 443, to_port: 443, ip_protocol: 'tcp' });
  });

  it.each([
    ['a subnet twice', { subnetIds: [SUBNETS[0], SUBNETS[0]] }, `sessionLogs.vpcEndpoints.subnetIds: got ["${SUBNETS[0]}","${SUBNETS[0]}"]; allowed: each subnet once (at most one subnet per Availability Zone)`],
    ['no subnet', { subnetIds: [] }, 'sessionLogs.vpcEndpoints.subnetIds: got []; allowed: at least one subnet'],
    ['a CIDR list with a non-CIDR', { vpcCidr: ['10.20.0.0/16', '10.21.0.0'] }, 'sessionLogs.vpcEndpoints.vpcCidr'],
  ])('refuses %s, naming field, value and what is allowed', (_name, v, expected) => {
    expect(() => sessionStack({ vpcEndpoints: { enabled: true, vpcId: VPC, subnetIds: SUBNETS, vpcCidr: '10.20.0.0/16', ...v } })).toThrow(expected);
  });

  it('no route tables: no S3 gateway endpoint', () => {
    const s = sessionStack({ vpcEndpoints: { enabled: true, vpcId: VPC, subnetIds: SUBNETS, vpcCidr: '10.20.0.0/16' } });
    expect((Object.values(resourcesOf(s, 'aws_vpc_endpoint')) as any[]).some((e) => e.vpc_endpoint_type === 'Gateway')).toBe(false);
  });

  it('takes VPC, subnets, route tables and CIDR from another state', () => {
    const fromNet = (output: string) => ({ fromRemoteState: { state: 'network', output } });
    const s = sessionStack(
      { vpcEndpoints: { enabled: true, vpcId: fromNet('vpc_id'), subnetIds: fromNet('private_subnet_ids'), routeTableIds: fromNet('private_route_table_ids'), vpcCidr: fromNet('vpc_cidr') } },
      { remoteStates: { network: { type: 's3', bucket: 'acme-tf-state', key: 'network.tfstate', region: 'us-east-1' } } },
    );
    const state = Object.keys(s.data!.terraform_remote_state)[0];
    const out = (name: string) => `\${data.terraform_remote_state.${state}.outputs.${name}}`;
    expect(onlyResource(s, 'aws_security_group').vpc_id).toBe(out('vpc_id'));
    // A string or a list output: the first CIDR, then one rule per further CIDR.
    const cidrs = `flatten([data.terraform_remote_state.${state}.outputs.vpc_cidr])`;
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-vpc').cidr_ipv4).toBe(`\${element(${cidrs}, 0)}`);
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-more-cidrs').for_each).toBe(`\${toset(slice(${cidrs}, 1, length(${cidrs})))}`);
    const ssm = (Object.values(resourcesOf(s, 'aws_vpc_endpoint')) as any[]).find((e) => e.service_name.endsWith('.ssm'));
    expect(ssm.subnet_ids).toBe(`\${flatten([data.terraform_remote_state.${state}.outputs.private_subnet_ids])}`);
  });
});
