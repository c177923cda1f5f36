/**
 * Terraform accepts every stack of config/demo.json: offline init, validate and plan against the
 * provider mirror (no AWS data source beyond the STS stand-in). Fails, never skips, without tools.
 *
 * @lane plan
 */
import * as path from 'node:path';
import { loadConfig } from '../../config/load';
import { useOfflineTerraform } from '../support/plan';

const planAll = useOfflineTerraform();
const planned = (plan: any, type: string) => plan.resource_changes.filter((r: any) => r.type === type).map((r: any) => r.change.after);

it('plans session-logs, demo-fleet and log-rescue of config/demo.json offline', async () => {
  // Each stack plans alone: the stacks share names, not state.
  const plans = await planAll(loadConfig({ LOG_RESCUE_CONFIG: path.join(__dirname, '../../config/demo.json') }));
  expect(Object.keys(plans).sort()).toEqual(['demo-fleet', 'log-rescue', 'session-logs']);
  for (const plan of Object.values(plans)) {
    expect(plan.resource_changes.every((r: any) => r.change.actions.every((a: string) => a === 'create'))).toBe(true);
  }

  const fleet = plans['demo-fleet'];
  expect(planned(fleet, 'aws_autoscaling_group')).toEqual([expect.objectContaining({
    name: 'logrescue-sandbox-demo-fleet', min_size: 0, max_size: 4, desired_capacity: 2,
  })]);
  expect(planned(fleet, 'aws_launch_template')).toEqual([expect.objectContaining({
    key_name: null,
    metadata_options: [expect.objectContaining({ http_tokens: 'required', http_put_response_hop_limit: 1 })],
  })]);
  expect(planned(fleet, 'aws_vpc_endpoint')).toHaveLength(6);
  expect(planned(fleet, 'aws_internet_gateway')).toEqual([]);
  expect(planned(fleet, 'aws_nat_gateway')).toEqual([]);

  expect(planned(plans['log-rescue'], 'aws_autoscaling_lifecycle_hook')).toEqual([expect.objectContaining({ autoscaling_group_name: 'logrescue-sandbox-demo-fleet' })]);
  expect(planned(plans['log-rescue'], 'aws_iam_role_policy_attachment')).toEqual([expect.objectContaining({ role: 'logrescue-sandbox-session-instance' })]);
  expect(planned(plans['session-logs'], 'aws_iam_instance_profile')).toEqual([expect.objectContaining({ name: 'logrescue-sandbox-session-instance' })]);
});
