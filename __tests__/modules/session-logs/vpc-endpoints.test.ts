/**
 * VpcEndpoints on a bare stack: from flat props, the Session Manager interface endpoints, the S3
 * gateway and the HTTPS-from-the-VPC security group, for known and not-yet-known CIDR lists; then
 * that the session-logs stack makes them only when enabled, refuses bad config, and passes literal
 * and remote-state values.
 * @lane synth
 */
import { TerraformVariable } from 'cdktf';
import { onlyResource, resourceAt, resourcesOf, StackJson } from '../../support/stack-json';
import { BareStack, at, bareStack, synthBare } from '../../support/bare-stack';
import { ref, sessionStack } from '../../stacks/session-logs.helpers';
import { VpcEndpoints, VpcEndpointsProps } from '../../../modules/session-logs/vpc-endpoints';

const VPC = 'vpc-0123456789abcdef0';
const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
const ROUTES = ['rtb-0123456789abcdef0'];

const PROPS: VpcEndpointsProps = {
  region: 'eu-west-1',
  vpcId: VPC,
  subnetIds: SUBNETS,
  routeTableIds: ROUTES,
  vpcCidrs: ['10.20.0.0/16'],
  namePrefix: 'acme-prod',
};

/** The endpoints (construct id `vpc-endpoints`) on `b`, a bare stack in eu-west-1 unless the caller made one (to add variables to it). */
function synth(over: Partial<VpcEndpointsProps> = {}, b: BareStack = bareStack('eu-west-1')): StackJson {
  new VpcEndpoints(b.stack, 'vpc-endpoints', { ...PROPS, ...over });
  return synthBare(b.stack);
}

const endpointsOf = (s: StackJson) => Object.values(resourcesOf(s, 'aws_vpc_endpoint')) as any[];
const byType = (s: StackJson, type: string) => endpointsOf(s).filter((e) => e.vpc_endpoint_type === type);

describe('VpcEndpoints', () => {
  const s = synth();

  it('puts interface endpoints for ssm, ssmmessages, ec2messages, logs and kms with private DNS in the subnets, behind its security group', () => {
    const iface = byType(s, 'Interface');
    expect(iface.map((e) => e.service_name).sort()).toEqual(
      ['ec2messages', 'kms', 'logs', 'ssm', 'ssmmessages'].map((svc) => `com.amazonaws.eu-west-1.${svc}`),
    );
    for (const e of iface) {
      expect(e).toMatchObject({
        vpc_id: VPC, private_dns_enabled: true, subnet_ids: SUBNETS,
        security_group_ids: ['${aws_security_group.endpoints.id}'],
      });
    }
    expect(at(s, 'aws_vpc_endpoint', 'ssm').tags).toEqual({ Name: 'acme-prod-ssm' });
  });

  it('admits HTTPS from the VPC only: a security group without inline rules and one ingress rule for the CIDR', () => {
    const sg = onlyResource(s, 'aws_security_group');
    expect(sg).toMatchObject({ name: 'acme-prod-ssm-endpoints', vpc_id: VPC });
    expect(sg.ingress).toBeUndefined();
    expect(sg.egress).toBeUndefined();
    expect(at(s, 'aws_vpc_security_group_ingress_rule', 'endpoints_https_from_vpc')).toMatchObject({
      security_group_id: '${aws_security_group.endpoints.id}',
      ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: '10.20.0.0/16',
    });
    // One CIDR: no further rules.
    expect(at(s, 'aws_vpc_security_group_ingress_rule', 'endpoints_https_from_more_cidrs').for_each).toBe('${toset([])}');
  });

  it('adds the S3 gateway endpoint to the route tables it is given', () => {
    expect(byType(s, 'Gateway')).toEqual([
      expect.objectContaining({ service_name: 'com.amazonaws.eu-west-1.s3', vpc_id: VPC, route_table_ids: ROUTES, tags: { Name: 'acme-prod-s3' } }),
    ]);
  });

  it('without route tables has no S3 gateway endpoint', () => {
    const none = synth({ routeTableIds: undefined });
    expect(byType(none, 'Gateway')).toEqual([]);
    expect(byType(none, 'Interface')).toHaveLength(5);
  });

  it('admits HTTPS from every CIDR of the VPC, secondary ones included, one rule each', () => {
    const more = synth({ vpcCidrs: ['10.20.0.0/16', '100.64.0.0/16', '10.21.0.0/16'] });
    expect(at(more, 'aws_vpc_security_group_ingress_rule', 'endpoints_https_from_vpc').cidr_ipv4).toBe('10.20.0.0/16');
    expect(at(more, 'aws_vpc_security_group_ingress_rule', 'endpoints_https_from_more_cidrs')).toMatchObject({
      for_each: '${toset(["100.64.0.0/16", "10.21.0.0/16"])}', cidr_ipv4: '${each.value}', from_port: 443, to_port: 443, ip_protocol: 'tcp',
      security_group_id: '${aws_security_group.endpoints.id}',
    });
  });

  it('with CIDRs and subnets known only at plan time (such as another state\'s outputs): the first CIDR, then one rule per further CIDR', () => {
    const b = bareStack('eu-west-1');
    const cidrs = new TerraformVariable(b.stack, 'vpc_cidrs', { type: 'list(string)' });
    const subnets = new TerraformVariable(b.stack, 'subnet_ids', { type: 'list(string)' });
    const later = synth({ vpcCidrs: cidrs.listValue, subnetIds: subnets.listValue }, b);
    expect(at(later, 'aws_vpc_security_group_ingress_rule', 'endpoints_https_from_vpc').cidr_ipv4).toBe('${element(var.vpc_cidrs, 0)}');
    expect(at(later, 'aws_vpc_security_group_ingress_rule', 'endpoints_https_from_more_cidrs').for_each)
      .toBe('${toset(slice(var.vpc_cidrs, 1, length(var.vpc_cidrs)))}');
    expect(at(later, 'aws_vpc_endpoint', 'ssm').subnet_ids).toBe('${var.subnet_ids}');
  });
});

describe('in the session-logs stack', () => {
  it('are off by default', () => {
    const s = sessionStack();
    expect(resourcesOf(s, 'aws_vpc_endpoint')).toEqual({});
    expect(resourcesOf(s, 'aws_security_group')).toEqual({});
  });

  it.each([
    ['a subnet twice', { subnetIds: [SUBNETS[0], SUBNETS[0]] }, `sessionLogs.vpcEndpoints.subnetIds: got ["${SUBNETS[0]}","${SUBNETS[0]}"]; allowed: each subnet once (at most one subnet per Availability Zone)`],
    ['no subnet', { subnetIds: [] }, 'sessionLogs.vpcEndpoints.subnetIds: got []; allowed: at least one subnet'],
    ['a CIDR list with a non-CIDR', { vpcCidr: ['10.20.0.0/16', '10.21.0.0'] }, 'sessionLogs.vpcEndpoints.vpcCidr'],
  ])('refuses %s, naming field, value and what is allowed', (_name, v, expected) => {
    expect(() => sessionStack({ vpcEndpoints: { enabled: true, vpcId: VPC, subnetIds: SUBNETS, vpcCidr: '10.20.0.0/16', ...v } })).toThrow(expected);
  });

  it('passes the region, the name prefix and the VPC, subnets, route tables and CIDR of the config', () => {
    const s = sessionStack({ vpcEndpoints: { enabled: true, vpcId: VPC, subnetIds: SUBNETS, routeTableIds: ROUTES, vpcCidr: '10.20.0.0/16' } });
    const sg = onlyResource(s, 'aws_security_group');
    expect(sg).toMatchObject({ name: 'logrescue-dev-ssm-endpoints', vpc_id: VPC });
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-vpc')).toMatchObject({
      security_group_id: ref(s, 'aws_security_group', 'vpc-endpoints/security-group', 'id'), cidr_ipv4: '10.20.0.0/16',
    });
    // A single CIDR string is a list of one: no further rules.
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-more-cidrs').for_each).toBe('${toset([])}');
    expect(resourceAt(s, 'aws_vpc_endpoint', 'vpc-endpoints/ssm')).toMatchObject({
      service_name: 'com.amazonaws.us-east-1.ssm', vpc_id: VPC, subnet_ids: SUBNETS,
      security_group_ids: [ref(s, 'aws_security_group', 'vpc-endpoints/security-group', 'id')],
    });
    expect(resourceAt(s, 'aws_vpc_endpoint', 'vpc-endpoints/s3')).toMatchObject({ service_name: 'com.amazonaws.us-east-1.s3', route_table_ids: ROUTES });
  });

  it('passes a list of CIDRs as it is', () => {
    const s = sessionStack({ vpcEndpoints: { enabled: true, vpcId: VPC, subnetIds: SUBNETS, vpcCidr: ['10.20.0.0/16', '100.64.0.0/16', '10.21.0.0/16'] } });
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-vpc').cidr_ipv4).toBe('10.20.0.0/16');
    expect(resourceAt(s, 'aws_vpc_security_group_ingress_rule', 'vpc-endpoints/https-from-more-cidrs').for_each).toBe('${toset(["100.64.0.0/16", "10.21.0.0/16"])}');
    // No route tables in the config: no S3 gateway endpoint.
    expect(endpointsOf(s).some((e) => e.vpc_endpoint_type === 'Gateway')).toBe(false);
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
    expect(resourceAt(s, 'aws_vpc_endpoint', 'vpc-endpoints/ssm').subnet_ids).toBe(`\${flatten([data.terraform_remote_state.${state}.outputs.private_subnet_ids])}`);
    expect(resourceAt(s, 'aws_vpc_endpoint', 'vpc-endpoints/s3').route_table_ids)
      .toBe(`\${flatten([data.terraform_remote_state.${state}.outputs.private_route_table_ids])}`);
  });
});
