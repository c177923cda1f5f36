/**
 * Proves the parser of the handler's events (handlers/log-rescue/events.ts), without the handler:
 * the four EventBridge events as AWS documents them (Auto Scaling's "EC2 Instance-terminate
 * Lifecycle Action", Systems Manager's "EC2 Command Status-change Notification" and "EC2 Command
 * Invocation Status-change Notification", EC2's "EC2 Spot Instance Interruption Warning") parse to
 * exactly the fields the handler acts on, also as the body of the SQS message the event queue
 * delivers; anything else is rejected with the first problem as a field path; the rescue's own
 * command parameters are read back strictly; and event times convert to and from the compact UTC
 * form of the archive keys.
 * @lane unit
 */
import {
  compactUtc, compactUtcMs, parseEvent, readRescueParameters, type LifecycleActionEvent, type RescueEvent,
} from '../../../handlers/log-rescue/events';
import { LIFECYCLE_PARAMETERS, commandStatusEvent, invocationEvent, lifecycleEvent, spotEvent, sqsRecord } from './fixtures';

/*
 * The examples of the AWS documentation, as published (Amazon EC2 Auto Scaling User Guide, "Amazon
 * EC2 Auto Scaling event reference"; AWS Systems Manager User Guide, "Amazon EventBridge event
 * examples for Systems Manager", Run Command; Amazon EC2 User Guide, "Spot Instance interruption
 * notices"), except where a field is a placeholder there: the lifecycle and Spot examples' time
 * ("yyyy-mm-ddThh:mm:ssZ") is a real time here.
 */
const DOC_LIFECYCLE = {
  version: '0',
  id: '12345678-1234-1234-1234-123456789012',
  'detail-type': 'EC2 Instance-terminate Lifecycle Action',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2026-11-20T22:30:00Z',
  region: 'us-west-2',
  resources: ['auto-scaling-group-arn'],
  detail: {
    LifecycleActionToken: '87654321-4321-4321-4321-210987654321',
    AutoScalingGroupName: 'my-asg',
    LifecycleHookName: 'my-lifecycle-hook',
    EC2InstanceId: 'i-1234567890abcdef0',
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    NotificationMetadata: 'additional-info',
    Origin: 'AutoScalingGroup',
    Destination: 'EC2',
  },
};
/** What the two Run Command examples share: they differ in id, detail-type and detail. */
const DOC_RUN_COMMAND = {
  version: '0',
  source: 'aws.ssm',
  account: '123456789012',
  time: '2016-07-10T21:51:32Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
};
const DOC_COMMAND_STATUS = {
  ...DOC_RUN_COMMAND,
  id: '51c0891d-0e34-45b1-83d6-95db273d1602',
  'detail-type': 'EC2 Command Status-change Notification',
  detail: {
    'command-id': 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b',
    'document-name': 'AWS-RunPowerShellScript',
    'expire-after': '2016-07-14T22:01:30.049Z',
    parameters: { executionTimeout: ['3600'], commands: ['date'] },
    'requested-date-time': '2016-07-10T21:51:30.049Z',
    status: 'Success',
  },
};
const DOC_INVOCATION = {
  ...DOC_RUN_COMMAND,
  id: '4780e1b8-f56b-4de5-95f2-95db273d1602',
  'detail-type': 'EC2 Command Invocation Status-change Notification',
  detail: {
    'command-id': 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b',
    'document-name': 'AWS-RunPowerShellScript',
    'instance-id': 'i-9bb89e2b',
    'requested-date-time': '2016-07-10T21:51:30.049Z',
    status: 'Success',
  },
};
const DOC_SPOT = {
  version: '0',
  id: '12345678-1234-1234-1234-123456789012',
  'detail-type': 'EC2 Spot Instance Interruption Warning',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2026-11-20T23:05:40Z',
  region: 'us-east-2',
  // The interruption warning's ARN names the Availability Zone and no account, as documented.
  resources: ['arn:aws:ec2:us-east-2a:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', 'instance-action': 'terminate' },
};

const parsed = (event: unknown): RescueEvent => {
  const p = parseEvent(event);
  if (!p.ok) throw new Error(`rejected: ${p.reason}`);
  return p.value;
};
const reasonOf = (event: unknown): string => {
  const p = parseEvent(event);
  if (p.ok) throw new Error(`accepted as ${p.value.kind}`);
  return p.reason;
};
const with_ = (event: object, path: string[], value: unknown): any => {
  const copy = JSON.parse(JSON.stringify(event));
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key];
  if (value === undefined) delete at[path[path.length - 1]];
  else at[path[path.length - 1]] = value;
  return copy;
};

describe('the events as AWS documents them', () => {
  test('EC2 Instance-terminate Lifecycle Action', () => {
    expect(parsed(DOC_LIFECYCLE)).toEqual({
      kind: 'lifecycle', id: '12345678-1234-1234-1234-123456789012', time: '2026-11-20T22:30:00Z', timeMs: Date.UTC(2026, 10, 20, 22, 30, 0),
      account: '123456789012', region: 'us-west-2', resources: ['auto-scaling-group-arn'],
      asgName: 'my-asg', hookName: 'my-lifecycle-hook', instanceId: 'i-1234567890abcdef0',
      lifecycleActionToken: '87654321-4321-4321-4321-210987654321', notificationMetadata: 'additional-info', origin: 'AutoScalingGroup', destination: 'EC2',
    });
  });

  test('EC2 Command Status-change Notification: its instances from resources, its parameters as sent', () => {
    expect(parsed(DOC_COMMAND_STATUS)).toEqual({
      kind: 'command-status', id: '51c0891d-0e34-45b1-83d6-95db273d1602', time: '2016-07-10T21:51:32Z', timeMs: Date.UTC(2016, 6, 10, 21, 51, 32),
      account: '123456789012', region: 'us-east-1', resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
      commandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b', documentName: 'AWS-RunPowerShellScript', status: 'Success', terminal: true,
      parameters: { executionTimeout: ['3600'], commands: ['date'] },
      requestedTime: '2016-07-10T21:51:30.049Z', requestedTimeMs: Date.UTC(2016, 6, 10, 21, 51, 30, 49),
      instanceIds: ['i-abcd1111'],
    });
  });

  test('EC2 Command Invocation Status-change Notification: its instance from detail', () => {
    expect(parsed(DOC_INVOCATION)).toEqual({
      kind: 'command-invocation', id: '4780e1b8-f56b-4de5-95f2-95db273d1602', time: '2016-07-10T21:51:32Z', timeMs: Date.UTC(2016, 6, 10, 21, 51, 32),
      account: '123456789012', region: 'us-east-1', resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
      commandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b', documentName: 'AWS-RunPowerShellScript', status: 'Success', terminal: true,
      requestedTime: '2016-07-10T21:51:30.049Z', requestedTimeMs: Date.UTC(2016, 6, 10, 21, 51, 30, 49),
      instanceId: 'i-9bb89e2b',
    });
  });

  test.each(['terminate', 'stop', 'hibernate'])('EC2 Spot Instance Interruption Warning, instance-action %s', (action) => {
    expect(parsed(with_(DOC_SPOT, ['detail', 'instance-action'], action))).toEqual({
      kind: 'spot', id: '12345678-1234-1234-1234-123456789012', time: '2026-11-20T23:05:40Z', timeMs: Date.UTC(2026, 10, 20, 23, 5, 40),
      account: '123456789012', region: 'us-east-2', resources: ['arn:aws:ec2:us-east-2a:instance/i-1234567890abcdef0'],
      instanceId: 'i-1234567890abcdef0', instanceAction: action,
    });
  });

  test.each<[string, any, object]>([
    ['lifecycle', lifecycleEvent(), { kind: 'lifecycle', id: '468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f', instanceId: 'i-1234567890abcdef0' }],
    ['command status', commandStatusEvent(), { kind: 'command-status', id: '51c0891d-0e34-45b1-b70c-2d4bb9f1a3e8', instanceIds: ['i-1234567890abcdef0'] }],
    ['invocation status', invocationEvent(), { kind: 'command-invocation', id: '7f3c2a1e-5b9d-4c8e-a2f1-0e6d4b3c2a19', instanceId: 'i-1234567890abcdef0' }],
    ['Spot warning', spotEvent(), { kind: 'spot', id: '12345678-1234-1234-1234-123456789012', instanceId: 'i-1234567890abcdef0' }],
  ])('%s as the body of the SQS message the event queue delivers: the same event', (_kind, event, fields) => {
    const record = sqsRecord(JSON.stringify(event), '059f36b4-87a3-44ab-83d2-661975830a7d');
    const fromQueue = parsed(JSON.parse(record.body));
    expect(fromQueue).toMatchObject(fields);
    expect(fromQueue).toEqual(parsed(event));
  });
});

describe('fields the documented examples leave out', () => {
  test('a lifecycle event without NotificationMetadata, Origin and Destination (older events)', () => {
    const e = parsed(with_(with_(with_(DOC_LIFECYCLE, ['detail', 'NotificationMetadata'], undefined), ['detail', 'Origin'], undefined), ['detail', 'Destination'], undefined));
    expect(e).toMatchObject({ kind: 'lifecycle', instanceId: 'i-1234567890abcdef0', asgName: 'my-asg' });
    const { notificationMetadata, origin, destination } = e as LifecycleActionEvent;
    expect([notificationMetadata, origin, destination]).toEqual([undefined, undefined, undefined]);
  });

  test('a time with milliseconds keeps them', () => {
    expect(parsed(with_(DOC_LIFECYCLE, ['time'], '2026-11-20T22:30:00.250Z')).timeMs).toBe(Date.UTC(2026, 10, 20, 22, 30, 0, 250));
  });

  test('a command of several instances: each instance once, in the order of resources; China and GovCloud ARNs too', () => {
    const e = parsed(with_(DOC_COMMAND_STATUS, ['resources'], [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111',
      'arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0123456789abcdef0',
      'arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/i-0fedcba9876543210',
      'arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111',
    ]));
    expect(e).toMatchObject({ instanceIds: ['i-abcd1111', 'i-0123456789abcdef0', 'i-0fedcba9876543210'] });
  });

  test.each<[string, boolean]>([
    ['Pending', false], ['InProgress', false], ['Delayed', false], ['Cancelling', false],
    ['Success', true], ['Failed', true], ['TimedOut', true], ['Cancelled', true],
  ])('command status %s: terminal %s', (status, terminal) => {
    expect(parsed(with_(DOC_COMMAND_STATUS, ['detail', 'status'], status))).toMatchObject({ status, terminal });
    expect(parsed(with_(DOC_INVOCATION, ['detail', 'status'], status))).toMatchObject({ status, terminal });
  });

  test('NotificationMetadata up to 1023 characters, the Auto Scaling API\'s limit', () => {
    expect(parsed(with_(DOC_LIFECYCLE, ['detail', 'NotificationMetadata'], 'm'.repeat(1023)))).toMatchObject({ notificationMetadata: 'm'.repeat(1023) });
    expect(reasonOf(with_(DOC_LIFECYCLE, ['detail', 'NotificationMetadata'], 'm'.repeat(1024)))).toBe('detail.NotificationMetadata: length 1024 over 1023');
  });
});

describe('rejected, with the first problem as a field path', () => {
  test.each<[string, unknown, string]>([
    ['not an object', null, 'event: not an object'],
    ['an array', [DOC_LIFECYCLE], 'event: not an object'],
    ['no source', {}, 'source: missing'],
    ['no detail-type', with_(DOC_LIFECYCLE, ['detail-type'], undefined), 'detail-type: missing'],
    ['an event of another kind', { ...DOC_SPOT, 'detail-type': 'EC2 Instance State-change Notification' }, 'source/detail-type: not an event this handler takes'],
    ['the launching transition', with_(DOC_LIFECYCLE, ['detail', 'LifecycleTransition'], 'autoscaling:EC2_INSTANCE_LAUNCHING'),
      'detail.LifecycleTransition: not autoscaling:EC2_INSTANCE_TERMINATING'],
    ['a time with an offset', with_(DOC_LIFECYCLE, ['time'], '2026-11-20T23:30:00+01:00'), 'time: not an ISO 8601 UTC time'],
    ['month 13', with_(DOC_LIFECYCLE, ['time'], '2026-13-20T22:30:00Z'), 'time: not a valid time'],
    ['30 February (Date.parse would roll it over to 2 March)', with_(DOC_LIFECYCLE, ['time'], '2026-02-30T22:30:00Z'), 'time: not a valid time'],
    ['invocation: hour 24', with_(DOC_INVOCATION, ['detail', 'requested-date-time'], '2016-07-10T24:00:00.000Z'), 'detail.requested-date-time: not a valid time'],
    ['no resources', with_(DOC_LIFECYCLE, ['resources'], undefined), 'resources: missing'],
    ['a resource that is not a string', with_(DOC_LIFECYCLE, ['resources'], ['arn', 7]), 'resources[1]: not a string'],
    ['51 resources', with_(DOC_LIFECYCLE, ['resources'], new Array(51).fill('arn')), 'resources: more than 50 entries'],
    ['an account that is not 12 digits', with_(DOC_LIFECYCLE, ['account'], '12345'), 'account: not a 12-digit account id'],
    ['an upper-case region', with_(DOC_LIFECYCLE, ['region'], 'US-WEST-2'), 'region: not a region name'],
    ['no detail', with_(DOC_LIFECYCLE, ['detail'], undefined), 'detail: missing'],
    ['detail an array', with_(DOC_LIFECYCLE, ['detail'], []), 'detail: not an object'],
    ['an instance id with a shell metacharacter', with_(DOC_LIFECYCLE, ['detail', 'EC2InstanceId'], 'i-12345678;reboot'), 'detail.EC2InstanceId: not an instance id'],
    ['a token that is not a token', with_(DOC_LIFECYCLE, ['detail', 'LifecycleActionToken'], 'a b'), 'detail.LifecycleActionToken: not a lifecycle action token'],
    ['command: an unknown status', with_(DOC_COMMAND_STATUS, ['detail', 'status'], 'Exploded'), 'detail.status: not a known command status'],
    ['command: no instance ARN', with_(DOC_COMMAND_STATUS, ['resources'], []), 'resources: no instance ARN'],
    ['command: a volume ARN', with_(DOC_COMMAND_STATUS, ['resources'], ['arn:aws:ec2:us-east-1:123456789012:volume/vol-1234567890abcdef0']),
      'resources[0]: not an EC2 instance ARN'],
    ['command: no parameters', with_(DOC_COMMAND_STATUS, ['detail', 'parameters'], undefined), 'detail.parameters: missing'],
    ['command: a parameter name with a space', with_(DOC_COMMAND_STATUS, ['detail', 'parameters'], { 'a b': ['x'] }),
      'detail.parameters: a parameter name is not letters, digits, _ . -'],
    ['command: a parameter value that is not a string', with_(DOC_COMMAND_STATUS, ['detail', 'parameters'], { commands: ['date', 1] }),
      'detail.parameters.commands[1]: not a string'],
    ['command: a command id that is not one', with_(DOC_COMMAND_STATUS, ['detail', 'command-id'], '../../etc/passwd'), 'detail.command-id: not a command id'],
    ['invocation: no instance-id', with_(DOC_INVOCATION, ['detail', 'instance-id'], undefined), 'detail.instance-id: missing'],
    ['invocation: a requested time that is not a time', with_(DOC_INVOCATION, ['detail', 'requested-date-time'], 'now'),
      'detail.requested-date-time: not an ISO 8601 UTC time'],
    ['spot: an action EC2 does not take', with_(DOC_SPOT, ['detail', 'instance-action'], 'reboot'), 'detail.instance-action: not one of terminate, stop, hibernate'],
  ])('%s', (_case, event, reason) => {
    expect(reasonOf(event)).toBe(reason);
  });

  test('a 100 KB value is measured, never matched, and never echoed', () => {
    const reason = reasonOf(with_(DOC_LIFECYCLE, ['detail', 'AutoScalingGroupName'], 'a'.repeat(100 * 1024)));
    expect(reason).toBe('detail.AutoScalingGroupName: length 102400 outside 1..256');
  });
});

describe('readRescueParameters: the rescue\'s own command parameters', () => {
  test('as SendCommand sent them; the document\'s other parameters are not read', () => {
    expect(readRescueParameters({ ...LIFECYCLE_PARAMETERS, executionTimeout: ['600'] })).toEqual({
      ok: true, value: { asgName: 'web-asg', hookName: 'log-rescue', trigger: 'lifecycle', eventTime: '20261120T223000Z' },
    });
  });

  test.each<[string, Record<string, string[]>, string]>([
    ['no trigger', { asgName: ['web-asg'], hookName: ['log-rescue'], eventTime: ['20261120T223000Z'] }, 'detail.parameters.trigger: missing'],
    ['two groups', { ...LIFECYCLE_PARAMETERS, asgName: ['web-asg', 'batch-asg'] }, 'detail.parameters.asgName: not exactly one value'],
    ['no value', { ...LIFECYCLE_PARAMETERS, hookName: [] }, 'detail.parameters.hookName: not exactly one value'],
    ['a manual trigger', { ...LIFECYCLE_PARAMETERS, trigger: ['manual'] }, 'detail.parameters.trigger: not lifecycle or spot'],
    ['an ISO event time', { ...LIFECYCLE_PARAMETERS, eventTime: ['2026-11-20T22:30:00Z'] }, 'detail.parameters.eventTime: not a compact UTC time'],
    ['a hook name with a space', { ...LIFECYCLE_PARAMETERS, hookName: ['log rescue'] }, 'detail.parameters.hookName: not a lifecycle hook name'],
  ])('%s: rejected', (_case, params, reason) => {
    expect(readRescueParameters(params)).toEqual({ ok: false, reason });
  });
});

describe('compact UTC times (archive keys)', () => {
  test('compactUtc keeps the event time, to the second, as the archive key part', () => {
    expect(compactUtc('2026-11-20T22:30:00Z')).toBe('20261120T223000Z');
    expect(compactUtc('2026-11-20T22:30:00.999Z')).toBe('20261120T223000Z');
    expect(() => compactUtc('2026-11-20 22:30:00')).toThrow('not an ISO 8601 UTC time');
  });

  test.each<[string, number]>([
    ['20261120T223000Z', Date.UTC(2026, 10, 20, 22, 30, 0)],
    ['20260101T000000Z', Date.UTC(2026, 0, 1, 0, 0, 0)],
    ['20291231T235959Z', Date.UTC(2029, 11, 31, 23, 59, 59)],
  ])('compactUtcMs(%s)', (compact, ms) => {
    expect(compactUtcMs(compact)).toBe(ms);
    // And back: the event time of a lifecycle event is the eventTime parameter of its command.
    expect(compactUtc(new Date(ms).toISOString())).toBe(compact);
  });

  test('compactUtcMs refuses anything else', () => {
    expect(() => compactUtcMs('2026-11-20T22:30:00Z')).toThrow('not a compact UTC time: 2026-11-20T22:30:00Z');
    expect(() => compactUtcMs('x'.repeat(100))).toThrow(`not a compact UTC time: ${'x'.repeat(64)}`);
  });
});
