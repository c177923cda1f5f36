import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { named } from '../shared/addresses';

/**
 * Amazon Linux 2023 (arm64, SSM agent preinstalled), resolved by EC2 at launch from the public SSM
 * parameter: always the current AMI, and no data source, so planning needs no AWS read.
 */
export const AL2023_ARM64_IMAGE = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64';

/** Root device of the Amazon Linux 2023 AMIs. */
const AL2023_ROOT_DEVICE = '/dev/xvda';

export interface DemoFleetProps {
  /** Auto Scaling group, launch template and security group name. */
  readonly name: string;
  readonly vpcId: string;
  /** HTTPS to the interface endpoints is allowed to this CIDR only. */
  readonly vpcCidr: string;
  readonly subnetIds: string[];
  /** Prefix list of the S3 gateway endpoint (the rescue upload goes there). */
  readonly s3PrefixListId: string;
  readonly instanceProfileName: string;
  readonly instanceType: string;
  readonly desiredCapacity: number;
  /**
   * Tags for instances and volumes. Provider default_tags reach neither: instances get theirs from
   * the group (propagate at launch), volumes from the launch template.
   */
  readonly tags: Record<string, string>;
  /**
   * Resources the first instances need in place, so they do not boot before their way out exists.
   * @default none
   */
  readonly launchAfter?: ITerraformDependable[];
}

/**
 * An Auto Scaling group of SSM-managed instances that nobody can reach except through Session
 * Manager: no key pair, no inbound rule, IMDSv2 only, encrypted disks, HTTPS out to the VPC
 * endpoints and S3 only.
 */
export class DemoFleet extends Construct {
  readonly securityGroup: SecurityGroup;
  readonly launchTemplate: LaunchTemplate;
  readonly group: AutoscalingGroup;

  constructor(scope: Construct, id: string, props: DemoFleetProps) {
    super(scope, id);

    // No inline rules, and Terraform removes the allow-all egress AWS adds: exactly the rules below.
    this.securityGroup = named(new SecurityGroup(this, 'security-group', {
      name: `${props.name}-instances`,
      description: 'Demo fleet: no inbound, HTTPS out to the VPC endpoints and S3 only',
      vpcId: props.vpcId,
      tags: { Name: `${props.name}-instances` },
    }), 'fleet');
    named(new VpcSecurityGroupEgressRule(this, 'https-to-endpoints', {
      securityGroupId: this.securityGroup.id,
      description: 'HTTPS to the interface endpoints (SSM, Session Manager channels, Logs, KMS)',
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrIpv4: props.vpcCidr,
    }), 'fleet_https_to_endpoints');
    named(new VpcSecurityGroupEgressRule(this, 'https-to-s3', {
      securityGroupId: this.securityGroup.id,
      description: 'HTTPS to S3 through the gateway endpoint (rescued log uploads)',
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      prefixListId: props.s3PrefixListId,
    }), 'fleet_https_to_s3');

    this.launchTemplate = named(new LaunchTemplate(this, 'launch-template', {
      name: props.name,
      description: 'Amazon Linux 2023 arm64, Session Manager only',
      imageId: AL2023_ARM64_IMAGE,
      instanceType: props.instanceType,
      // No keyName: there is no SSH; shells go through Session Manager, where they are logged.
      iamInstanceProfile: { name: props.instanceProfileName },
      vpcSecurityGroupIds: [this.securityGroup.id],
      metadataOptions: {
        httpEndpoint: 'enabled', // the SSM agent and the rescue script get credentials and identity here
        httpTokens: 'required',
        httpPutResponseHopLimit: 1, // the agent runs on the host; nothing in a container needs it
        instanceMetadataTags: 'disabled',
      },
      blockDeviceMappings: [{
        deviceName: AL2023_ROOT_DEVICE,
        ebs: { encrypted: 'true', volumeType: 'gp3', deleteOnTermination: 'true' },
      }],
      tagSpecifications: [{ resourceType: 'volume', tags: { ...props.tags, Name: props.name } }],
      updateDefaultVersion: true,
    }), 'fleet');

    const tags = { ...props.tags, Name: props.name };
    this.group = named(new AutoscalingGroup(this, 'group', {
      name: props.name,
      minSize: 0,
      maxSize: props.desiredCapacity + 2,
      desiredCapacity: props.desiredCapacity,
      vpcZoneIdentifier: props.subnetIds,
      launchTemplate: { id: this.launchTemplate.id, version: '$Latest' },
      healthCheckType: 'EC2',
      tag: Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
      dependsOn: props.launchAfter,
    }), 'fleet');
  }
}
