import { Construct } from 'constructs';
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { VpcEndpoints } from '../session-logs/vpc-endpoints';
import { named, addressName } from '../shared/addresses';

export interface DemoNetworkProps {
  readonly region: string;
  /** IPv4 network CIDR of the VPC, /16../24. */
  readonly vpcCidr: string;
  /** One private subnet per zone `<region><suffix>`. */
  readonly availabilityZoneSuffixes: string[];
  readonly namePrefix: string;
}

/**
 * `count` equal subnets of `cidr`, as literal CIDRs (readable in plans, no Terraform function).
 * Each gets at least 4 more prefix bits than the VPC (leaving room to add subnets later) unless that
 * would make them smaller than /26; more zones than that allows split finer.
 */
export function privateSubnetCidrs(cidr: string, count: number): string[] {
  const [address, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const newBits = Math.max(Math.ceil(Math.log2(count)), Math.min(4, 26 - bits));
  const size = 2 ** (32 - bits - newBits);
  const base = address.split('.').map(Number).reduce((acc, o) => acc * 256 + o, 0);
  const toDotted = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
  return Array.from({ length: count }, (_, i) => `${toDotted(base + i * size)}/${bits + newBits}`);
}

/**
 * A VPC with private subnets only: no internet gateway, no NAT. Instances reach Systems Manager,
 * CloudWatch Logs and KMS through interface endpoints and S3 through the gateway endpoint, which is
 * all Session Manager and the rescue upload need, and nothing can reach the instances from outside.
 */
export class DemoNetwork extends Construct {
  readonly vpc: Vpc;
  readonly subnets: Subnet[];
  readonly routeTables: RouteTable[];
  readonly endpoints: VpcEndpoints;

  constructor(scope: Construct, id: string, props: DemoNetworkProps) {
    super(scope, id);
    const name = `${props.namePrefix}-demo-fleet`;

    this.vpc = named(new Vpc(this, 'vpc', {
      cidrBlock: props.vpcCidr,
      // Private DNS of the interface endpoints needs both.
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: { Name: name },
    }), 'demo');
    // Adopting the default security group strips its allow-all rules, so nothing placed in it by
    // mistake talks to anything.
    named(new DefaultSecurityGroup(this, 'default-security-group', { vpcId: this.vpc.id, tags: { Name: `${name}-default-unused` } }), 'demo');

    const cidrs = privateSubnetCidrs(props.vpcCidr, props.availabilityZoneSuffixes.length);
    this.subnets = [];
    this.routeTables = [];
    props.availabilityZoneSuffixes.forEach((suffix, i) => {
      const zone = `${props.region}${suffix}`;
      const subnet = named(new Subnet(this, `private-${suffix}`, {
        vpcId: this.vpc.id,
        availabilityZone: zone,
        cidrBlock: cidrs[i],
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-private-${zone}` },
      }), `private_${addressName(suffix)}`);
      // Only the implicit local route; the S3 gateway endpoint adds its prefix-list route.
      const table = named(new RouteTable(this, `private-${suffix}-routes`, {
        vpcId: this.vpc.id,
        tags: { Name: `${name}-private-${zone}` },
      }), `private_${addressName(suffix)}`);
      named(new RouteTableAssociation(this, `private-${suffix}-association`, { subnetId: subnet.id, routeTableId: table.id }), `private_${addressName(suffix)}`);
      this.subnets.push(subnet);
      this.routeTables.push(table);
    });

    this.endpoints = new VpcEndpoints(this, 'endpoints', {
      region: props.region,
      vpcId: this.vpc.id,
      subnetIds: this.subnets.map((s) => s.id),
      routeTableIds: this.routeTables.map((t) => t.id),
      vpcCidrs: [props.vpcCidr],
      namePrefix: name,
    });
  }

  /** Every endpoint, for instances to launch after. */
  get endpointResources(): VpcEndpoint[] {
    return [...Object.values(this.endpoints.interfaceEndpoints), ...(this.endpoints.s3Gateway ? [this.endpoints.s3Gateway] : [])];
  }

  /** Prefix list of the S3 gateway endpoint, for security group egress rules. */
  get s3PrefixListId(): string {
    // VpcEndpoints creates the gateway whenever route tables are given, which they always are here.
    return this.endpoints.s3Gateway!.prefixListId;
  }
}
