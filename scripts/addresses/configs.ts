/**
 * The configs the address contract is written for: the committed default, and one with every
 * optional part on (KMS keys, Object Lock, alarm topics, VPC endpoints, the demo fleet, adopting
 * SSM-SessionManagerRunShell, groups and roles read from config and from another state).
 */
import * as path from 'node:path';

/** The state the all-on config reads group names from (a committed fixture). */
export const FLEET_STATE = path.join(__dirname, '../../__tests__/fixtures/fleet-state.json');

const fromFleet = (output: string) => ({ fromRemoteState: { state: 'fleet', output } });

/** Overrides of config/default.json, by contract name. */
export const ADDRESS_CONFIGS: Record<'default' | 'all-on', Record<string, unknown>> = {
  default: {},
  'all-on': {
    remoteStates: { fleet: { type: 'local', path: FLEET_STATE } },
    logRescue: {
      autoScalingGroups: ['web-fleet', fromFleet('asg_names')],
      attachInstancePolicyToRoles: ['logrescue-dev-session-instance'],
      archiveBucket: { encryption: 'SSE-KMS', objectLock: { mode: 'GOVERNANCE', days: 30 } },
      alarms: { createTopic: true, email: 'oncall@example.com' },
    },
    sessionLogs: {
      logGroup: { kms: 'create' },
      archiveBucket: { encryption: 'SSE-KMS', objectLock: { mode: 'GOVERNANCE', days: 30 } },
      sessionDocument: { mode: 'adopt', s3Logging: 'none', sessionKmsKeyArn: 'none' },
      createInstanceRole: true,
      alarms: { createTopic: true, email: 'oncall@example.com' },
      vpcEndpoints: {
        enabled: true, vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        routeTableIds: ['rtb-0123456789abcdef0'], vpcCidr: ['10.20.0.0/16', '10.21.0.0/16'],
      },
    },
    demoFleet: { enabled: true },
  },
};
