/**
 * EventBridge events as AWS delivers them (shapes from the Auto Scaling, Systems Manager and EC2
 * event references), plus a harness that runs the handler against aws-sdk-client-mock clients on a
 * virtual clock.
 */
import { SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { AutoScalingClient, AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { createRescueHandler, type HandlerSettings } from '../../handlers/log-rescue/rescue';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const ASG = 'web-asg';
export const OTHER_ASG = 'batch-asg';
export const HOOK = 'log-rescue';
export const INSTANCE = 'i-1234567890abcdef0';
export const DOCUMENT = 'logrescue-dev-rescue-logs';
export const COMMAND_ID = 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b';

export const SETTINGS: HandlerSettings = {
  documentName: DOCUMENT,
  asgNames: [ASG, 'api asg'],
  hookName: HOOK,
  onlineWaitSeconds: 20,
  executionTimeoutSeconds: 600,
  heartbeatTimeoutSeconds: 900,
  metricNamespace: 'LogRescue',
  stackId: 'logrescue-dev-log-rescue',
};

export function lifecycleEvent(detail: Record<string, unknown> = {}, top: Record<string, unknown> = {}): any {
  return {
    version: '0',
    id: '468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f',
    'detail-type': 'EC2 Instance-terminate Lifecycle Action',
    source: 'aws.autoscaling',
    account: ACCOUNT,
    time: '2026-11-20T22:30:00Z',
    region: REGION,
    resources: [
      `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:59fcbb81-bd44-4dba-9c3c-2b5ecb5b2d4f:autoScalingGroupName/${ASG}`,
    ],
    detail: {
      LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
      AutoScalingGroupName: ASG,
      LifecycleHookName: HOOK,
      EC2InstanceId: INSTANCE,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      NotificationMetadata: 'additional-info',
      Origin: 'AutoScalingGroup',
      Destination: 'EC2',
      ...detail,
    },
    ...top,
  };
}

export function commandStatusEvent(
  opts: { status?: string; parameters?: Record<string, unknown>; document?: string; instance?: string } = {},
  top: Record<string, unknown> = {},
): any {
  return {
    version: '0',
    id: '51c0891d-0e34-45b1-b70c-2d4bb9f1a3e8',
    'detail-type': 'EC2 Command Status-change Notification',
    source: 'aws.ssm',
    account: ACCOUNT,
    time: '2026-11-20T22:31:12Z',
    region: REGION,
    resources: [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${opts.instance ?? INSTANCE}`],
    detail: {
      'command-id': COMMAND_ID,
      'document-name': opts.document ?? DOCUMENT,
      'expire-after': '2026-11-20T22:31:02.120Z',
      parameters: opts.parameters ?? {
        asgName: [ASG],
        hookName: [HOOK],
        trigger: ['lifecycle'],
        eventTime: ['20261120T223000Z'],
      },
      'requested-date-time': '2026-11-20T22:30:02.120Z',
      status: opts.status ?? 'Success',
    },
    ...top,
  };
}

export function spotEvent(detail: Record<string, unknown> = {}, top: Record<string, unknown> = {}): any {
  return {
    version: '0',
    id: '12345678-1234-1234-1234-123456789012',
    'detail-type': 'EC2 Spot Instance Interruption Warning',
    source: 'aws.ec2',
    account: ACCOUNT,
    time: '2026-11-20T23:05:40Z',
    region: REGION,
    resources: [`arn:aws:ec2:${REGION}a:instance/${INSTANCE}`],
    detail: { 'instance-id': INSTANCE, 'instance-action': 'terminate', ...detail },
    ...top,
  };
}

/** DescribeInstanceInformation output for one instance. */
export function instanceInfo(pingStatus: 'Online' | 'ConnectionLost' | 'Inactive', instanceId = INSTANCE) {
  return {
    InstanceInformationList: [{
      InstanceId: instanceId, PingStatus: pingStatus, PlatformType: 'Linux' as const, AgentVersion: '3.3.1142.0',
      ResourceType: 'EC2Instance' as const,
    }],
  };
}

export const NOT_MANAGED = { InstanceInformationList: [] };

/** DescribeAutoScalingInstances output for one instance of a group, in the given lifecycle state. */
export function asgInstance(lifecycleState: string, asgName = ASG, instanceId = INSTANCE) {
  return {
    AutoScalingInstances: [{
      InstanceId: instanceId, InstanceType: 'm7g.large', AutoScalingGroupName: asgName, AvailabilityZone: 'us-east-1a',
      LifecycleState: lifecycleState, HealthStatus: 'HEALTHY',
      LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', LaunchTemplateName: 'web', Version: '3' },
      ProtectedFromScaleIn: false,
    }],
  };
}

/** The instance a lifecycle event names, still held by its action. */
export const HELD = asgInstance('Terminating:Wait');

export const throttling = () => new SSMServiceException({
  name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded',
});

export const noActiveAction = (instanceId = INSTANCE) => new AutoScalingServiceException({
  name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 },
  message: `No active Lifecycle Action found with instance ID ${instanceId}`,
});

/** The handler over mocked clients, a virtual clock that `sleep` advances, and captured records. */
export function harness(opts: { settings?: Partial<HandlerSettings>; random?: () => number } = {}) {
  const ssmClient = new SSMClient({ region: REGION });
  const asgClient = new AutoScalingClient({ region: REGION });
  const ssm = mockClient(ssmClient);
  const autoScaling = mockClient(asgClient);
  const records: any[] = [];
  const sleeps: number[] = [];
  const clock = { ms: Date.parse('2026-11-20T22:30:01Z') };
  const handler = createRescueHandler({
    ssm: ssmClient,
    autoScaling: asgClient,
    settings: { ...SETTINGS, ...opts.settings },
    log: (r) => records.push(JSON.parse(JSON.stringify(r))),
    now: () => clock.ms,
    sleep: async (ms) => { sleeps.push(ms); clock.ms += ms; },
    random: opts.random ?? (() => 0.5),
  });
  return {
    handler, ssm, autoScaling, records, sleeps, clock,
    metrics: () => records.filter((r) => r._aws),
    logs: () => records.filter((r) => !r._aws),
    awsCalls: () => ssm.calls().length + autoScaling.calls().length,
  };
}

/** The EMF record CloudWatch needs for one metric, exactly. */
export function emf(name: string, unit: 'Count' | 'Seconds', value: number, reason?: string, timestamp?: number) {
  return {
    _aws: {
      Timestamp: timestamp ?? expect.any(Number),
      CloudWatchMetrics: [{
        Namespace: 'LogRescue',
        Dimensions: reason === undefined ? [['Stack']] : [['Stack'], ['Stack', 'Reason']],
        Metrics: [{ Name: name, Unit: unit }],
      }],
    },
    Stack: SETTINGS.stackId,
    ...(reason === undefined ? {} : { Reason: reason }),
    [name]: value,
  };
}
