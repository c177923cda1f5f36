/**
 * Simulated Systems Manager: the agents' ping status, SendCommand validated against the real
 * rescue document, the document running on the instance (upload time, failure, timeout), and the
 * command-level "EC2 Command Status-change Notification" events it emits.
 *
 * A command to an agent that is not Online waits for delivery until its TimeoutSeconds, then ends
 * TimedOut. An instance terminated mid-run never reports; SSM ends the command TimedOut when its
 * execution timeout passes.
 */
import {
  DescribeInstanceInformationCommand, SendCommandCommand,
  type DescribeInstanceInformationCommandOutput, type SendCommandCommandOutput,
} from '@aws-sdk/client-ssm';
import { ssmErrors } from './aws-errors';
import { loadRescueDocument, parameterProblem, type SimulatedDocument } from './document';
import { commandStatusEvent, type BusEvent } from './event-shapes';
import type { Random } from './random';
import { okMetadata, stamp, type InstanceRecord, type World } from './world';

const INSTANCE_ID = /^(mi|i)-[0-9a-f]{8,17}$/;

interface CommandRun {
  readonly commandId: string;
  readonly rec: InstanceRecord;
  readonly parameters: Record<string, string[]>;
  readonly requestedAt: number;
  readonly expiresAt: number;
}

export class SimulatedSsm {
  readonly document: SimulatedDocument;
  commandsAccepted = 0;
  private readonly delayRng: Random;

  constructor(private readonly w: World, private readonly publish: (event: BusEvent) => void) {
    const o = w.options;
    this.document = loadRescueDocument({
      name: o.documentName, prefix: o.prefix, logGlobs: o.logGlobs, includeJournal: o.includeJournal,
      executionTimeoutSeconds: o.executionTimeoutSeconds,
    });
    this.delayRng = w.rng.fork('ssm-delays');
  }

  pingStatus(rec: InstanceRecord | undefined): 'Online' | 'ConnectionLost' | undefined {
    if (!rec || rec.agent === 'not-registered') return undefined;
    if (rec.agent === 'connection-lost' || rec.state === 'Terminated') return 'ConnectionLost';
    return 'Online';
  }

  send(command: unknown): Promise<unknown> {
    if (command instanceof DescribeInstanceInformationCommand) return this.w.apiCall((rid) => this.describe(command, rid));
    if (command instanceof SendCommandCommand) return this.w.apiCall((rid) => this.sendCommand(command, rid));
    return this.w.apiCall((rid) => { throw ssmErrors.validation(rid, `${(command as object)?.constructor?.name} is not simulated`); });
  }

  private describe(command: DescribeInstanceInformationCommand, requestId: string): DescribeInstanceInformationCommandOutput {
    if (!this.w.buckets.describe.take(this.w.now())) throw ssmErrors.throttling(requestId);
    const filters = command.input.Filters ?? [];
    let ids: string[] | undefined;
    for (const f of filters) {
      if (f.Key !== 'InstanceIds') throw ssmErrors.validation(requestId, `filter key ${f.Key} is not simulated`);
      for (const v of f.Values ?? []) if (!INSTANCE_ID.test(v)) throw ssmErrors.invalidFilterValue(requestId, v);
      ids = f.Values;
    }
    const recs = (ids ?? [...this.w.instances.keys()]).map((id) => this.w.instances.get(id));
    const list = recs.flatMap((rec) => {
      const ping = this.pingStatus(rec);
      if (!rec || !ping) return [];
      return [{
        InstanceId: rec.id,
        PingStatus: ping,
        LastPingDateTime: new Date(ping === 'Online' ? this.w.now() : rec.enterAt - 600_000),
        AgentVersion: '3.3.1957.0',
        IsLatestVersion: false,
        PlatformType: 'Linux' as const,
        PlatformName: 'Amazon Linux',
        PlatformVersion: '2023',
        ResourceType: 'EC2Instance' as const,
        IPAddress: '10.0.1.23',
        ComputerName: `ip-10-0-1-23.ec2.internal`,
      }];
    });
    return { $metadata: okMetadata(requestId), InstanceInformationList: list };
  }

  private sendCommand(command: SendCommandCommand, requestId: string): SendCommandCommandOutput {
    const input = command.input;
    if (!this.w.buckets.sendCommand.take(this.w.now())) throw ssmErrors.throttling(requestId);
    if (input.DocumentName !== this.document.name) throw ssmErrors.invalidDocument(requestId, input.DocumentName ?? '');
    const ids = input.InstanceIds ?? [];
    if (ids.length < 1 || ids.length > 50) throw ssmErrors.validation(requestId, 'InstanceIds must name 1..50 instances');
    const timeout = input.TimeoutSeconds ?? 3600;
    if (timeout < 30 || timeout > 2_592_000) throw ssmErrors.validation(requestId, 'TimeoutSeconds must be 30..2592000');
    const problem = parameterProblem(this.document, input.Parameters as Record<string, string[]> | undefined);
    if (problem) throw ssmErrors.invalidParameters(requestId, problem);
    const recs = ids.map((id) => this.w.instances.get(id));
    for (let i = 0; i < ids.length; i++) {
      // An instance SSM never saw (or one that is not EC2-managed) is refused outright.
      if (!recs[i] || recs[i]!.agent === 'not-registered') throw ssmErrors.invalidInstanceId(requestId, ids[i]);
    }
    if (ids.length !== 1) throw ssmErrors.validation(requestId, 'the simulation runs one instance per command, as the handler does');

    const now = this.w.now();
    const commandId = this.w.rng.uuid();
    const parameters = structuredClone((input.Parameters ?? {}) as Record<string, string[]>);
    const run: CommandRun = { commandId, rec: recs[0]!, parameters, requestedAt: now, expiresAt: now + timeout * 1000 };
    run.rec.commandsSent++;
    stamp(run.rec, 'commandAccepted', now);
    this.commandsAccepted++;
    this.deliver(run);
    return {
      $metadata: okMetadata(requestId),
      Command: {
        CommandId: commandId,
        DocumentName: input.DocumentName,
        DocumentVersion: '$DEFAULT',
        Comment: input.Comment,
        ExpiresAfter: new Date(run.expiresAt),
        Parameters: parameters,
        InstanceIds: ids,
        Targets: [],
        RequestedDateTime: new Date(now),
        Status: 'Pending',
        StatusDetails: 'Pending',
        MaxConcurrency: '50',
        MaxErrors: '0',
        TargetCount: 1,
        CompletedCount: 0,
        ErrorCount: 0,
        DeliveryTimedOutCount: 0,
        ServiceRole: '',
        TimeoutSeconds: timeout,
      },
    };
  }

  private deliver(run: CommandRun): void {
    const delay = this.w.options.agentDeliveryMs * Math.exp(0.5 * this.delayRng.normal());
    this.w.clock.after(delay, () => {
      if (this.pingStatus(run.rec) === 'Online' && this.w.now() < run.expiresAt) {
        this.execute(run);
      } else {
        this.w.clock.at(run.expiresAt, () => this.finish(run, 'TimedOut'));
      }
    });
  }

  private execute(run: CommandRun): void {
    const o = this.w.options;
    const rec = run.rec;
    const started = this.w.now();
    rec.commandsRun++;
    stamp(rec, 'commandStarted', started);
    this.emit(run, 'InProgress');
    // A repeated command on the same instance takes about as long as the first.
    const seconds = rec.commandsRun === 1 ? rec.uploadSeconds : rec.uploadSeconds * Math.exp(0.1 * rec.rng.normal());
    const timeoutMs = o.executionTimeoutSeconds * 1000;
    let endsAt: number;
    let status: string;
    if (rec.outcome === 'timed-out' || seconds * 1000 >= timeoutMs) {
      endsAt = started + timeoutMs;
      status = 'TimedOut';
    } else if (rec.outcome === 'failed') {
      endsAt = started + seconds * 1000 * rec.rng.uniform(0.2, 1);
      status = 'Failed';
    } else {
      endsAt = started + seconds * 1000;
      status = 'Success';
    }
    this.w.clock.at(endsAt, () => {
      if (rec.state === 'Terminated') {
        // The agent died with the instance: nothing uploaded, nothing reported.
        this.w.clock.at(started + timeoutMs, () => this.finish(run, 'TimedOut'));
        return;
      }
      if (status === 'Success' && rec.uploadedAt === undefined) rec.uploadedAt = this.w.now();
      stamp(rec, 'commandEnded', this.w.now());
      this.finish(run, status);
    });
  }

  private finish(run: CommandRun, status: string): void {
    run.rec.statuses.push(status);
    this.emit(run, status);
  }

  private emit(run: CommandRun, status: string): void {
    const delay = this.w.options.statusEventDelayMs * Math.exp(0.5 * this.delayRng.normal());
    this.w.clock.after(delay, () => {
      if (status !== 'InProgress') stamp(run.rec, 'statusEvent', this.w.now());
      this.publish(commandStatusEvent(this.w, {
        commandId: run.commandId, documentName: this.document.name, instanceId: run.rec.id, status,
        parameters: run.parameters, requestedAt: run.requestedAt, expiresAt: run.expiresAt,
      }));
    });
  }
}
