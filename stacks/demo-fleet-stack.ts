/**
 * A small fleet to try both flows end to end (docs/demo.md): private subnets with no way in or out
 * but the VPC endpoints, and an Auto Scaling group of Amazon Linux 2023 instances reachable only
 * through Session Manager.
 *
 * Deploy order: `session-logs` -> `demo-fleet` -> `log-rescue`.
 * - `session-logs` first: it creates the instance role and profile (`sessionLogs.createInstanceRole`)
 *   this stack's launch template names, and the Session Manager preferences sessions use.
 * - `demo-fleet` next: the group must exist before `log-rescue` puts its termination lifecycle hook
 *   on it (`logRescue.autoScalingGroups` lists `<project>-<environment>-demo-fleet`).
 * - `log-rescue` last: besides the hook, it attaches its instance upload policy to the session-logs
 *   instance role (`logRescue.attachInstancePolicyToRoles`), so the rescue command may upload.
 * Stacks refer to each other by deterministic names, never through state, so each plans on its own;
 * tear down in the reverse order.
 */
import { Construct } from 'constructs';
import { AppConfig } from '../config/schema';
import { DemoFleet } from '../modules/demo-fleet/fleet';
import { DemoNetwork } from '../modules/demo-fleet/network';
import { sessionInstanceRoleName } from '../modules/session-logs/instance-iam';
import { BaseStack, StackPlacement } from './base-stack';

/** Name of the demo Auto Scaling group, for `logRescue.autoScalingGroups`. */
export function demoFleetGroupName(config: Pick<AppConfig, 'project' | 'environment'>): string {
  return `${config.project}-${config.environment}-demo-fleet`;
}

export class DemoFleetStack extends BaseStack {
  readonly network: DemoNetwork;
  readonly fleet: DemoFleet;

  constructor(scope: Construct, config: AppConfig, placement?: StackPlacement) {
    super(scope, 'demo-fleet', config, placement);
    const c = config.demoFleet;
    const name = demoFleetGroupName(config);

    this.network = new DemoNetwork(this, 'network', {
      region: config.region,
      vpcCidr: c.vpcCidr,
      availabilityZoneSuffixes: c.availabilityZoneSuffixes,
      namePrefix: this.namePrefix,
    });

    this.fleet = new DemoFleet(this, 'fleet', {
      name,
      vpcId: this.network.vpc.id,
      vpcCidr: c.vpcCidr,
      subnetIds: this.network.subnets.map((s) => s.id),
      s3PrefixListId: this.network.s3PrefixListId,
      instanceProfileName: sessionInstanceRoleName(this.namePrefix),
      instanceType: c.instanceType,
      desiredCapacity: c.desiredCapacity,
      // The provider's default_tags do not reach instances an Auto Scaling group launches.
      tags: this.defaultTags,
      // An instance booted before its endpoints exist waits on the SSM agent's retry backoff to register.
      launchAfter: this.network.endpointResources,
    });

    this.output('auto_scaling_group_name', this.fleet.group.name, 'Demo Auto Scaling group; list it in logRescue.autoScalingGroups');
    this.output('vpc_id', this.network.vpc.id, 'Private-only VPC of the demo fleet');
    this.output('list_instances_command',
      `aws ec2 describe-instances --region ${config.region} --filters Name=tag:aws:autoscaling:groupName,Values=${name} Name=instance-state-name,Values=running --query 'Reservations[].Instances[].InstanceId' --output text`,
      'Instance ids of the demo fleet, for aws ssm start-session --target');
  }
}
