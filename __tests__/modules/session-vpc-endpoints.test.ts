import { onlyResource, resourcesOf } from '../support/synth';
import { ref, sessionStack } from '../stacks/session-logs.helpers';

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
    expect(onlyResource(s, 'aws_vpc_security_group_ingress_rule')).toMatchObject({
      security_group_id: ref(s, 'aws_security_group', 'vpc-endpoints/security-group', 'id'),
      ip_protocol: 'tcp', from_port: 443, to_port: 443, cidr_ipv4: '10.20.0.0/16',
    });

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
    expect(onlyResource(s, 'aws_vpc_security_group_ingress_rule').cidr_ipv4).toBe(out('vpc_cidr'));
    const ssm = (Object.values(resourcesOf(s, 'aws_vpc_endpoint')) as any[]).find((e) => e.service_name.endsWith('.ssm'));
    expect(ssm.subnet_ids).toBe(`\${flatten([data.terraform_remote_state.${state}.outputs.private_subnet_ids])}`);
  });
});
