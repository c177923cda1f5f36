/**
 * A simulated Auto Scaling group in a scale-in: instances enter Terminating:Wait, each with a
 * lifecycle action that expires after the heartbeat timeout (the group then terminates it anyway)
 * unless a recorded heartbeat restarts that timeout, and the API calls the handler makes, behind the
 * SDK client's `send(command)`.
 *
 * CompleteLifecycleAction and RecordLifecycleActionHeartbeat share one rate limit (`completeRate`).
 */
import {
  CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand, RecordLifecycleActionHeartbeatCommand,
  type CompleteLifecycleActionCommandOutput, type DescribeAutoScalingInstancesCommandOutput,
  type RecordLifecycleActionHeartbeatCommandOutput,
} from '@aws-sdk/client-auto-scaling';
import { autoScalingErrors } from './aws-errors';
import { lifecycleActionEvent, type BusEvent } from './event-shapes';
import type { Random } from './random';
import { okMetadata, stamp, type InstanceRecord, type World } from './world';

export class SimulatedAutoScaling {
  completions = 0;
  heartbeats = 0;
  noActiveAction = 0;
  private readonly eventRng: Random;

  constructor(private readonly w: World, private readonly publish: (event: BusEvent) => void) {
    this.eventRng = w.rng.fork('lifecycle-event-delay');
  }

  /** Every instance enters Terminating:Wait at its `enterAt`. */
  startScaleIn(): void {
    for (const rec of this.w.instances.values()) {
      this.w.clock.at(rec.enterAt, () => this.enterWait(rec));
    }
  }

  private enterWait(rec: InstanceRecord): void {
    const o = this.w.options;
    rec.state = 'Terminating:Wait';
    const token = this.w.rng.uuid();
    rec.lifecycleActionToken = token;
    rec.actionExpiresAt = this.w.now() + o.heartbeatTimeoutSeconds * 1000;
    this.scheduleExpiry(rec, token);
    const delay = o.lifecycleEventDelayMs * Math.exp(0.5 * this.eventRng.normal());
    this.w.clock.after(delay, () => {
      stamp(rec, 'lifecycleEvent', this.w.now());
      this.publish(lifecycleActionEvent(this.w, { asgName: o.asgName, hookName: o.hookName, instanceId: rec.id, token }));
    });
  }

  /** At the action's expiry; a heartbeat recorded meanwhile moved it, so look again then. */
  private scheduleExpiry(rec: InstanceRecord, token: string): void {
    this.w.clock.at(rec.actionExpiresAt!, () => {
      if (rec.state !== 'Terminating:Wait' || rec.lifecycleActionToken !== token) return;
      // The default result (CONTINUE or ABANDON) terminates the instance either way.
      if (this.w.now() >= rec.actionExpiresAt!) this.release(rec, 'expired');
      else this.scheduleExpiry(rec, token);
    });
  }

  private release(rec: InstanceRecord, how: 'completed' | 'expired'): void {
    rec.state = 'Terminating:Proceed';
    rec.release = how;
    rec.releasedAt = this.w.now();
    this.w.clock.after(this.w.options.shutdownSeconds * 1000, () => {
      rec.state = 'Terminated';
      rec.terminatedAt = this.w.now();
    });
  }

  send(command: unknown): Promise<unknown> {
    if (command instanceof CompleteLifecycleActionCommand) return this.w.apiCall((rid) => this.complete(command, rid));
    if (command instanceof DescribeAutoScalingInstancesCommand) return this.w.apiCall((rid) => this.describe(command, rid));
    if (command instanceof RecordLifecycleActionHeartbeatCommand) return this.w.apiCall((rid) => this.heartbeat(command, rid));
    return this.w.apiCall((rid) => { throw autoScalingErrors.validation(rid, `${(command as object)?.constructor?.name} is not simulated`); });
  }

  private complete(command: CompleteLifecycleActionCommand, requestId: string): CompleteLifecycleActionCommandOutput {
    const input = command.input;
    if (!this.w.buckets.complete.take(this.w.now())) throw autoScalingErrors.throttling(requestId);
    if (input.LifecycleActionResult !== 'CONTINUE' && input.LifecycleActionResult !== 'ABANDON') {
      throw autoScalingErrors.validation(requestId, 'LifecycleActionResult must be CONTINUE or ABANDON');
    }
    const rec = this.activeAction(input, requestId);
    this.completions++;
    this.release(rec, 'completed');
    return { $metadata: okMetadata(requestId) };
  }

  /**
   * Restarts the action's heartbeat timeout, up to the overall limit of 100 heartbeat timeouts or
   * 48 hours from entering Terminating:Wait, whichever is shorter.
   */
  private heartbeat(command: RecordLifecycleActionHeartbeatCommand, requestId: string): RecordLifecycleActionHeartbeatCommandOutput {
    if (!this.w.buckets.complete.take(this.w.now())) throw autoScalingErrors.throttling(requestId);
    const rec = this.activeAction(command.input, requestId);
    const h = this.w.options.heartbeatTimeoutSeconds;
    const limit = rec.enterAt + Math.min(100 * h, 48 * 3600) * 1000;
    rec.actionExpiresAt = Math.min(this.w.now() + h * 1000, limit);
    rec.heartbeats = (rec.heartbeats ?? 0) + 1;
    this.heartbeats++;
    return { $metadata: okMetadata(requestId) };
  }

  /** The instance whose lifecycle action the input names, or the error Auto Scaling answers. */
  private activeAction(input: {
    AutoScalingGroupName: string | undefined; LifecycleHookName: string | undefined; InstanceId?: string; LifecycleActionToken?: string;
  }, requestId: string): InstanceRecord {
    const o = this.w.options;
    if (input.AutoScalingGroupName !== o.asgName) {
      throw autoScalingErrors.validation(requestId, `AutoScalingGroup name not found - AutoScalingGroup ${input.AutoScalingGroupName} not found`);
    }
    if (!input.InstanceId && !input.LifecycleActionToken) {
      throw autoScalingErrors.validation(requestId, 'Either InstanceId or LifecycleActionToken must be specified');
    }
    const rec = input.InstanceId
      ? this.w.instances.get(input.InstanceId)
      : [...this.w.instances.values()].find((r) => r.lifecycleActionToken === input.LifecycleActionToken);
    const instanceId = input.InstanceId ?? rec?.id ?? '';
    if (!rec || rec.state !== 'Terminating:Wait' || input.LifecycleHookName !== o.hookName
      || (input.LifecycleActionToken !== undefined && input.LifecycleActionToken !== rec.lifecycleActionToken)) {
      this.noActiveAction++;
      throw autoScalingErrors.noActiveAction(requestId, instanceId);
    }
    return rec;
  }

  private describe(command: DescribeAutoScalingInstancesCommand, requestId: string): DescribeAutoScalingInstancesCommandOutput {
    const ids = command.input.InstanceIds ?? [...this.w.instances.keys()];
    const found = ids.map((id) => this.w.instances.get(id)).filter((r): r is InstanceRecord => !!r && r.state !== 'Terminated');
    return {
      $metadata: okMetadata(requestId),
      AutoScalingInstances: found.map((r) => ({
        InstanceId: r.id,
        InstanceType: 'm7g.large',
        AutoScalingGroupName: this.w.options.asgName,
        AvailabilityZone: 'us-east-1a',
        LifecycleState: r.state,
        HealthStatus: 'HEALTHY',
        LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', LaunchTemplateName: 'web-fleet', Version: '3' },
        ProtectedFromScaleIn: false,
      })),
    };
  }
}
