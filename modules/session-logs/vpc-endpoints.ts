import { Construct } from 'constructs';
import { Fn, TerraformIterator, Token } from 'cdktf';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { named, addressName } from '../shared/addresses';

/** What the SSM agent needs to reach without internet: Systems Manager, its channels, Logs, KMS. */
export const SESSION_INTERFACE_SERVICES = ['ssm', 'ssmmessages', 'ec2messages', 'logs', 'kms'] as const;

export interface VpcEndpointsProps {
  readonly region: string;
  readonly vpcId: string;
  readonly subnetIds: string[];
  /**
   * Route tables of the private subnets; the S3 gateway endpoint is added to them.
   * @default no S3 gateway endpoint
   */
  readonly routeTableIds?: string[];
  /** HTTPS is admitted from these CIDRs only (the VPC's primary and secondary ones). */
  readonly vpcCidrs: string[];
  readonly namePrefix: string;
}

/**
 * Private-subnet access for Session Manager: interface endpoints with private DNS (so the agent's
 * default endpoints resolve to them) behind a security group that admits HTTPS from the VPC only,
 * and the free S3 gateway endpoint.
 */
export class VpcEndpoints extends Construct {
  readonly securityGroup: SecurityGroup;
  readonly interfaceEndpoints: Record<string, VpcEndpoint> = {};
  readonly s3Gateway?: VpcEndpoint;

  constructor(scope: Construct, id: string, props: VpcEndpointsProps) {
    super(scope, id);

    // No egress rules: endpoints only answer; Terraform removes the default allow-all egress.
    this.securityGroup = named(new SecurityGroup(this, 'security-group', {
      name: `${props.namePrefix}-ssm-endpoints`,
      description: 'HTTPS from the VPC to the Session Manager interface endpoints',
      vpcId: props.vpcId,
    }), 'endpoints');
    // One rule per CIDR (a rule takes one). The first keeps the address the single rule always had;
    // the others are keyed by CIDR, so adding a secondary CIDR adds a rule and changes no other.
    const https = { securityGroupId: this.securityGroup.id, ipProtocol: 'tcp', fromPort: 443, toPort: 443 };
    const known = !Token.isUnresolved(props.vpcCidrs);
    named(new VpcSecurityGroupIngressRule(this, 'https-from-vpc', {
      ...https,
      description: 'HTTPS from the VPC',
      cidrIpv4: known ? props.vpcCidrs[0] : Fn.element(props.vpcCidrs, 0),
    }), 'endpoints_https_from_vpc');
    const more = TerraformIterator.fromList(known
      ? props.vpcCidrs.slice(1)
      : Fn.slice(props.vpcCidrs, 1, Fn.lengthOf(props.vpcCidrs)));
    named(new VpcSecurityGroupIngressRule(this, 'https-from-more-cidrs', {
      ...https,
      forEach: more,
      description: 'HTTPS from a secondary CIDR of the VPC',
      cidrIpv4: more.value,
    }), 'endpoints_https_from_more_cidrs');

    for (const service of SESSION_INTERFACE_SERVICES) {
      this.interfaceEndpoints[service] = named(new VpcEndpoint(this, service, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: props.subnetIds,
        securityGroupIds: [this.securityGroup.id],
        tags: { Name: `${props.namePrefix}-${service}` },
      }), addressName(service));
    }

    if (props.routeTableIds) {
      this.s3Gateway = named(new VpcEndpoint(this, 's3', {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: props.routeTableIds,
        tags: { Name: `${props.namePrefix}-s3` },
      }), 's3');
    }
  }
}
