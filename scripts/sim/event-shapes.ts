/**
 * The EventBridge events of a scale-in, shaped as Auto Scaling and Systems Manager send them
 * (the same shapes as __tests__/handlers/log-rescue/fixtures.ts).
 */
import type { World } from './world';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const ASG_UUID = '59fcbb81-bd44-4dba-9c3c-2b5ecb5b2d4f';

export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export function lifecycleActionEvent(w: World, p: { asgName: string; hookName: string; instanceId: string; token: string }): BusEvent {
  return {
    version: '0',
    id: w.rng.uuid(),
    'detail-type': 'EC2 Instance-terminate Lifecycle Action',
    source: 'aws.autoscaling',
    account: ACCOUNT,
    time: w.isoSeconds(w.now()),
    region: REGION,
    resources: [`arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:${ASG_UUID}:autoScalingGroupName/${p.asgName}`],
    detail: {
      LifecycleActionToken: p.token,
      AutoScalingGroupName: p.asgName,
      LifecycleHookName: p.hookName,
      EC2InstanceId: p.instanceId,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      Origin: 'AutoScalingGroup',
      Destination: 'EC2',
    },
  };
}

const instanceArn = (id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`;

/** The command-level event: every instance of the command in `resources`, and its parameters. */
export function commandStatusEvent(w: World, p: {
  commandId: string; documentName: string; instanceIds: readonly string[]; status: string;
  parameters: Record<string, string[]>; requestedAt: number; expiresAt: number;
}): BusEvent {
  return {
    version: '0',
    id: w.rng.uuid(),
    'detail-type': 'EC2 Command Status-change Notification',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: w.isoSeconds(w.now()),
    region: REGION,
    resources: p.instanceIds.map(instanceArn),
    detail: {
      'command-id': p.commandId,
      'document-name': p.documentName,
      'expire-after': w.isoMillis(p.expiresAt),
      parameters: structuredClone(p.parameters),
      'requested-date-time': w.isoMillis(p.requestedAt),
      status: p.status,
    },
  };
}

/** The invocation-level event: one instance's copy of the command; no parameters. */
export function commandInvocationEvent(w: World, p: {
  commandId: string; documentName: string; instanceId: string; status: string; requestedAt: number;
}): BusEvent {
  return {
    version: '0',
    id: w.rng.uuid(),
    'detail-type': 'EC2 Command Invocation Status-change Notification',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: w.isoSeconds(w.now()),
    region: REGION,
    resources: [instanceArn(p.instanceId)],
    detail: {
      'command-id': p.commandId,
      'document-name': p.documentName,
      'instance-id': p.instanceId,
      'requested-date-time': w.isoMillis(p.requestedAt),
      status: p.status,
    },
  };
}
