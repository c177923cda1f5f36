import { Construct } from 'constructs';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';

/** What the SSM agent needs to reach without internet: Systems Manager, its channels, Logs, KMS. */
export const SESSION_INTERFACE_SERVICES = ['ssm', 'ssmmessages', 'ec2messages', 'logs', 'kms'] as const;

export interface VpcEndpointsProps {
  readonly region: string;
  readonly vpcId: string;
  readonly subnetIds: string[];
  /** Route tables of the private subnets; the S3 gateway endpoint is added to them. */
  readonly routeTableIds?: string[];
  /** HTTPS is admitted from this CIDR only. */
  readonly vpcCidr: string;
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
    this.securityGroup = new SecurityGroup(this, 'security-group', {
      name: `${props.namePrefix}-ssm-endpoints`,
      description: 'HTTPS from the VPC to the Session Manager interface endpoints',
      vpcId: props.vpcId,
    });
    new VpcSecurityGroupIngressRule(this, 'https-from-vpc', {
      securityGroupId: this.securityGroup.id,
      description: 'HTTPS from the VPC',
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrIpv4: props.vpcCidr,
    });

    for (const service of SESSION_INTERFACE_SERVICES) {
      this.interfaceEndpoints[service] = new VpcEndpoint(this, service, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: props.subnetIds,
        securityGroupIds: [this.securityGroup.id],
        tags: { Name: `${props.namePrefix}-${service}` },
      });
    }

    if (props.routeTableIds) {
      this.s3Gateway = new VpcEndpoint(this, 's3', {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: props.routeTableIds,
        tags: { Name: `${props.namePrefix}-s3` },
      });
    }
  }
}
