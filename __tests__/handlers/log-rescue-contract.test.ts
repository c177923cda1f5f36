/**
 * The handler against the other halves of the flow: the SSM document it runs (parameter names and
 * allowedPatterns SSM enforces) and the EventBridge rule that feeds it command statuses.
 */
import { DescribeInstanceInformationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  NO_LIFECYCLE_HOOK, RESCUE_DOCUMENT_PARAMETERS, RESCUE_PARAMETER_PATTERNS, type RescueDocumentParameter,
} from '../../modules/rescue-document';
import { TERMINAL_COMMAND_STATUSES as RULE_STATUSES } from '../../modules/rescue-events';
import { NO_HOOK, TERMINAL_COMMAND_STATUSES } from '../../handlers/log-rescue/events';
import { ASG, COMMAND_ID, INSTANCE, harness, instanceInfo, lifecycleEvent, spotEvent } from './fixtures';

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

test('the Spot hook placeholder is the one the document allows', () => {
  expect(NO_HOOK).toBe(NO_LIFECYCLE_HOOK);
});

test('the command-status rule delivers exactly the statuses the handler treats as terminal', () => {
  expect([...RULE_STATUSES].sort()).toEqual([...TERMINAL_COMMAND_STATUSES].sort());
});
