/**
 * LifecycleHooks on a bare stack: one termination hook per listed group at its own address, one
 * for_each hook for the names read from other states (minus listed ones, each checked against the
 * group name pattern), every hook with the name, heartbeat and default result it is given; and the
 * group names it exposes for the rules and the function.
 * @lane unit
 */
import { TerraformOutput } from 'cdktf';
import { resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { RemoteStates } from '../../../modules/shared/remote-states';
import { LifecycleHooks, LifecycleHooksProps } from '../../../modules/log-rescue/lifecycle-hooks';

type Props = Omit<LifecycleHooksProps, 'remoteStates'>;

const PROPS: Props = { autoScalingGroups: ['web-fleet', 'worker-fleet'], hookName: 'log-rescue', heartbeatTimeoutSeconds: 900, defaultResult: 'CONTINUE' };

const FLEET_STATE = { type: 's3' as const, bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' };
const FROM_FLEET = { fromRemoteState: { state: 'fleet', output: 'asg_names' } };

/** The hooks (construct id `hooks`) on a bare stack that may read state `fleet`; output `group_names` is their `groupNames`. */
function synth(over: Partial<Props> = {}): StackJson {
  const b = bareStack();
  const remoteStates = new RemoteStates(b.stack, 'remote-states', { states: { fleet: FLEET_STATE } });
  const hooks = new LifecycleHooks(b.stack, 'hooks', { ...PROPS, ...over, remoteStates });
  new TerraformOutput(b.stack, 'group_names', { value: hooks.groupNames });
  return synthBare(b.stack);
}

const hooksOf = (s: StackJson) => resourcesOf(s, 'aws_autoscaling_lifecycle_hook');

describe('LifecycleHooks', () => {
  it('puts a termination hook with the given name, heartbeat and default result on every listed group, at the group\'s address name', () => {
    const s = synth();
    expect(hooksOf(s)).toEqual({
      web_fleet: {
        autoscaling_group_name: 'web-fleet', name: 'log-rescue', lifecycle_transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        heartbeat_timeout: 900, default_result: 'CONTINUE', notification_metadata: '{"purpose":"log-rescue"}',
      },
      worker_fleet: {
        autoscaling_group_name: 'worker-fleet', name: 'log-rescue', lifecycle_transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        heartbeat_timeout: 900, default_result: 'CONTINUE', notification_metadata: '{"purpose":"log-rescue"}',
      },
    });
    // No state is read unless a group comes from one.
    expect(s.data?.terraform_remote_state).toBeUndefined();
    expect(s.output!.group_names.value).toEqual(['web-fleet', 'worker-fleet']);
  });

  it('takes hook name, heartbeat and default result from its props', () => {
    const s = synth({ autoScalingGroups: ['Batch.Workers 2'], hookName: 'rescue-hook', heartbeatTimeoutSeconds: 7200, defaultResult: 'ABANDON' });
    expect(Object.keys(hooksOf(s))).toEqual(['batch_workers_2']);
    expect(at(s, 'aws_autoscaling_lifecycle_hook', 'batch_workers_2')).toMatchObject({
      autoscaling_group_name: 'Batch.Workers 2', name: 'rescue-hook', heartbeat_timeout: 7200, default_result: 'ABANDON',
    });
  });

  it('reads group names from another state into one for_each hook, without a second hook for a listed group', () => {
    const s = synth({ autoScalingGroups: ['web-fleet', FROM_FLEET] });
    expect(s.data!.terraform_remote_state.fleet).toMatchObject({ backend: 's3', config: { bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' } });
    expect(Object.keys(hooksOf(s)).sort()).toEqual(['from_remote_state', 'web_fleet']);
    const remote = at(s, 'aws_autoscaling_lifecycle_hook', 'from_remote_state');
    // Names from the other state minus listed ones, each checked against the name pattern.
    expect(remote.for_each).toBe('${toset(toset([ for key, val in toset(setsubtract(toset(concat(flatten([data.terraform_remote_state.fleet.outputs.asg_names]))), ["web-fleet"])): ' +
      'regex("^[A-Za-z0-9._ -]{1,255}$", val)]))}');
    expect(remote).toMatchObject({
      autoscaling_group_name: '${each.value}', name: 'log-rescue', lifecycle_transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeat_timeout: 900, default_result: 'CONTINUE', notification_metadata: '{"purpose":"log-rescue"}',
    });
    // The listed names, then the other state's names not listed.
    expect(s.output!.group_names.value).toBe('${concat(["web-fleet"], tolist(setsubtract(toset(concat(flatten([data.terraform_remote_state.fleet.outputs.asg_names]))), ["web-fleet"])))}');
  });

  it('with only names from another state: the for_each hook alone, subtracting nothing', () => {
    const s = synth({ autoScalingGroups: [FROM_FLEET] });
    expect(Object.keys(hooksOf(s))).toEqual(['from_remote_state']);
    expect(at(s, 'aws_autoscaling_lifecycle_hook', 'from_remote_state').for_each).toContain('setsubtract(toset(concat(flatten([data.terraform_remote_state.fleet.outputs.asg_names]))), [])');
  });
});
