/**
 * Proves the handler agrees with the other halves of the flow: the SSM document it runs (parameter
 * names and allowedPatterns SSM enforces), the EventBridge rules that feed it (matched with the
 * simulator's EventBridge matcher), and its own commands read back from ListCommands.
 * @lane unit
 */
import { DescribeInstanceInformationCommand, ListCommandsCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  RESCUE_DOCUMENT_PARAMETERS, RESCUE_PARAMETER_PATTERNS, type RescueDocumentParameter,
} from '../../../modules/log-rescue/document';
import { rescueEventPatterns, TERMINAL_COMMAND_STATUSES as RULE_STATUSES } from '../../../modules/log-rescue/events';
import { matches } from '../../../scripts/sim/eventbridge';
import { parseEvent, PENDING_COMMAND_STATUSES, TERMINAL_COMMAND_STATUSES } from '../../../handlers/log-rescue/events';
import {
  ASG, COMMAND_ID, DOCUMENT, HOOK, INSTANCE,
  commandStatusEvent, harness, instanceId, instanceInfo, invocationEvent, lifecycleEvent, listedCommand, spotEvent,
} from './fixtures';

async function sentParameters(event: any): Promise<Record<string, string[]>> {
  const h = harness();
  h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
  h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
  h.autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances: [{ InstanceId: INSTANCE, AutoScalingGroupName: ASG, AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'HEALTHY', ProtectedFromScaleIn: false }],
  });
  await h.handler(event);
  const [call] = h.ssm.commandCalls(SendCommandCommand);
  return call.args[0].input.Parameters as Record<string, string[]>;
}

test.each([
  ['lifecycle', lifecycleEvent()],
  ['spot', spotEvent()],
])('%s: every SendCommand parameter is a document parameter and passes its allowedPattern', async (_kind, event) => {
  const params = await sentParameters(event);
  expect(Object.keys(params).length).toBeGreaterThan(0);
  for (const [name, values] of Object.entries(params)) {
    expect(RESCUE_DOCUMENT_PARAMETERS).toContain(name);
    expect(values).toHaveLength(1);
    expect(values[0]).toMatch(new RegExp(RESCUE_PARAMETER_PATTERNS[name as RescueDocumentParameter]));
  }
  // The event's own time, compact UTC: a repeated event writes the same key.
  expect(params.eventTime).toEqual([new Date(event.time).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')]);
});

test('the command-status rule delivers exactly the statuses the handler treats as terminal', () => {
  expect([...RULE_STATUSES].sort()).toEqual([...TERMINAL_COMMAND_STATUSES].sort());
});

describe('the rules deliver what the handler acts on, and only that', () => {
  const rules = rescueEventPatterns({ groupNames: [ASG, 'api asg'], hookName: HOOK, documentName: DOCUMENT, spotInterruption: true });
  const ruleFor = (event: unknown) => rules.filter((r) => matches(r.pattern, event)).map((r) => r.id);

  test.each<[string, unknown, string]>([
    ['a lifecycle action', lifecycleEvent(), 'lifecycle'],
    ['an invocation status', invocationEvent(), 'command-invocation'],
    ['a command status of 50 instances', commandStatusEvent({ status: 'Failed', instances: Array.from({ length: 50 }, (_, k) => instanceId(k)) }), 'command-status'],
    ['a Spot warning', spotEvent(), 'spot-warning'],
  ])('%s: delivered by exactly one rule, and parsed by the handler', (_name, event, rule) => {
    expect(ruleFor(event)).toEqual([rule]);
    expect(parseEvent(event)).toMatchObject({ ok: true });
  });

  test.each(TERMINAL_COMMAND_STATUSES)('invocation and command status %s: delivered', (status) => {
    expect(ruleFor(invocationEvent({ status }))).toEqual(['command-invocation']);
    expect(ruleFor(commandStatusEvent({ status }))).toEqual(['command-status']);
  });

  test.each(PENDING_COMMAND_STATUSES)('invocation and command status %s: not delivered', (status) => {
    expect(ruleFor(invocationEvent({ status }))).toEqual([]);
    expect(ruleFor(commandStatusEvent({ status }))).toEqual([]);
  });

  test('another document, another hook, another group: not delivered', () => {
    expect(ruleFor(invocationEvent({ document: 'AWS-RunShellScript' }))).toEqual([]);
    expect(ruleFor(commandStatusEvent({ document: 'AWS-RunShellScript' }))).toEqual([]);
    expect(ruleFor(lifecycleEvent({ LifecycleHookName: 'drain-connections' }))).toEqual([]);
    expect(ruleFor(lifecycleEvent({ AutoScalingGroupName: 'batch-asg' }))).toEqual([]);
  });
});

test('an invocation status of a command the handler sent: read back from ListCommands, it releases the instance the command was for', async () => {
  const h = harness();
  h.ssm.on(DescribeInstanceInformationCommand).resolves(instanceInfo('Online'));
  h.ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
  await h.handler(lifecycleEvent({ AutoScalingGroupName: 'api asg' }));
  const sent = h.ssm.commandCalls(SendCommandCommand)[0].args[0].input;

  // SSM lists the command with the parameters it was sent with.
  h.ssm.on(ListCommandsCommand).resolves(listedCommand({ parameters: sent.Parameters as Record<string, string[]>, instances: sent.InstanceIds }));
  h.autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  const result = await h.handler(invocationEvent({ document: sent.DocumentName }));

  expect(h.autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([{
    AutoScalingGroupName: 'api asg', LifecycleHookName: HOOK, InstanceId: INSTANCE, LifecycleActionResult: 'CONTINUE',
  }]);
  expect(result).toMatchObject({ action: 'command-finished', asgName: 'api asg', rescued: true, completion: 'completed' });
});
