import { Construct } from 'constructs';
import { Fn, TerraformIterator } from 'cdktf';
import { AutoscalingLifecycleHook } from '@cdktf/provider-aws/lib/autoscaling-lifecycle-hook';
import { ASG_NAME_PATTERN } from '../../config/patterns';
import { FromRemoteState } from '../../config/schema';
import { RemoteStates } from '../shared/remote-states';
import { named, addressName } from '../shared/addresses';

export interface LifecycleHooksProps {
  /** The groups to protect: literal names, and lists of names read from other states' outputs. */
  readonly autoScalingGroups: ReadonlyArray<string | { readonly fromRemoteState: FromRemoteState }>;
  /** Where `fromRemoteState` references are read. */
  readonly remoteStates: RemoteStates;
  /** Name of the hook on every group. */
  readonly hookName: string;
  /** How long a terminating instance may wait for its upload. */
  readonly heartbeatTimeoutSeconds: number;
  /** What Auto Scaling does when the heartbeat runs out. */
  readonly defaultResult: 'CONTINUE' | 'ABANDON';
}

/**
 * A termination lifecycle hook on every configured Auto Scaling group, so a terminating instance
 * waits in Terminating:Wait until its logs are uploaded (or the heartbeat runs out).
 */
export class LifecycleHooks extends Construct {
  /** Every protected group's name: literal names, then names read from other states. */
  readonly groupNames: string[];
  readonly hookName: string;

  constructor(scope: Construct, id: string, props: LifecycleHooksProps) {
    super(scope, id);
    const { autoScalingGroups, remoteStates } = props;
    this.hookName = props.hookName;
    const literal = autoScalingGroups.filter((g): g is string => typeof g === 'string');
    const fromStates = autoScalingGroups.flatMap((g) => (typeof g === 'string' ? [] : [remoteStates.list(g.fromRemoteState)]));
    const hookArgs = {
      name: props.hookName,
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeout: props.heartbeatTimeoutSeconds,
      defaultResult: props.defaultResult,
      notificationMetadata: JSON.stringify({ purpose: 'log-rescue' }),
    };

    // One resource per literal name keeps addresses readable in plans; names from other states are
    // only known at plan time, so they get one for_each resource.
    for (const name of literal) {
      named(new AutoscalingLifecycleHook(this, `hook-${name}`, { ...hookArgs, autoscalingGroupName: name }), addressName(name));
    }
    if (fromStates.length > 0) {
      // A name both listed and read from a state gets one hook, not two conflicting ones.
      const remoteOnly = Fn.setsubtract(Fn.toset(Fn.concat(fromStates)), literal) as unknown as string[];
      // Names from another state skip config validation, and the handler and the document accept
      // only ASG_NAME_PATTERN. regex() fails the plan on any other name (naming it), which a
      // lifecycle precondition would do more politely, but cdktf 0.21 cannot render those as HCL.
      const checked = TerraformIterator.fromList(remoteOnly).forExpressionForList(`regex(${JSON.stringify(ASG_NAME_PATTERN)}, val)`);
      const each = TerraformIterator.fromList(Fn.toset(checked) as unknown as string[]);
      named(new AutoscalingLifecycleHook(this, 'hook-from-remote-state', { ...hookArgs, forEach: each, autoscalingGroupName: each.value }), 'from_remote_state');
      this.groupNames = Fn.concat([literal, Fn.tolist(remoteOnly)]) as unknown as string[];
    } else {
      this.groupNames = literal;
    }
  }
}
