/**
 * Simulated Systems Manager: the agents' ping status, SendCommand (up to 50 instances) validated
 * against the real rescue document, the document running on each instance (upload time, failure,
 * timeout), the invocation-level "EC2 Command Invocation Status-change Notification" event of each
 * instance's copy, the command-level "EC2 Command Status-change Notification" once every copy has
 * ended, and ListCommands / ListCommandInvocations.
 *
 * A copy for an agent that is not Online waits for delivery until the command's TimeoutSeconds,
 * then ends TimedOut. An instance terminated mid-run never reports; SSM ends its copy TimedOut when
 * the execution timeout passes.
 */
import {
  DescribeInstanceInformationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand,
  type Command, type DescribeInstanceInformationCommandOutput, type ListCommandInvocationsCommandOutput,
  type ListCommandsCommandOutput, type SendCommandCommandOutput,
} from '@aws-sdk/client-ssm';
import { NOTHING_COLLECTED_EXIT_CODE } from '../../config/patterns';
import { ssmErrors } from './aws-errors';
import { loadRescueDocument, parameterProblem, type SimulatedDocument } from './document';
import { commandInvocationEvent, commandStatusEvent, type BusEvent } from './event-shapes';
import type { Random } from './random';
import { okMetadata, stamp, type InstanceRecord, type World } from './world';

const INSTANCE_ID = /^(mi|i)-[0-9a-f]{8,17}$/;

interface CommandState {
  readonly commandId: string;
  readonly documentName: string;
  readonly parameters: Record<string, string[]>;
  readonly requestedAt: number;
  readonly expiresAt: number;
  readonly timeoutSeconds: number;
  readonly comment?: string;
  readonly invocations: Invocation[];
}

/** One instance's copy of a command. */
interface Invocation {
  readonly command: CommandState;
  readonly rec: InstanceRecord;
  status: string;
  /** The step's exit code once it ran; -1 until then, or when it never did (SSM's convention). */
  responseCode: number;
}

/** The document's one step: the plugin name ListCommandInvocations reports with Details. */
const STEP_NAME = 'uploadLogs';
/** ListCommands' filter keys (SSM API reference, CommandFilter). */
const COMMAND_FILTER_KEYS = new Set(['InvokedAfter', 'InvokedBefore', 'Status', 'ExecutionStage', 'DocumentName']);

const TERMINAL = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);

export class SimulatedSsm {
  readonly document: SimulatedDocument;
  commandsAccepted = 0;
  /** Instances over all accepted commands. */
  invocationsAccepted = 0;
  /** Requests made to each operation (throttled ones included). */
  readonly calls = new Map<string, number>();
  private readonly commands = new Map<string, CommandState>();
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
    const op = ((command as object)?.constructor?.name ?? 'unknown').replace(/Command$/, '');
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    if (command instanceof DescribeInstanceInformationCommand) return this.w.apiCall((rid) => this.describe(command, rid));
    if (command instanceof SendCommandCommand) return this.w.apiCall((rid) => this.sendCommand(command, rid));
    if (command instanceof ListCommandsCommand) return this.w.apiCall((rid) => this.listCommands(command, rid));
    if (command instanceof ListCommandInvocationsCommand) return this.w.apiCall((rid) => this.listInvocations(command, rid));
    return this.w.apiCall((rid) => { throw ssmErrors.validation(rid, `${(command as object)?.constructor?.name} is not simulated`); });
  }

  private describe(command: DescribeInstanceInformationCommand, requestId: string): DescribeInstanceInformationCommandOutput {
    if (!this.w.buckets.describe.take(this.w.now())) throw ssmErrors.throttling(requestId);
    const filters = command.input.Filters ?? [];
    const max = command.input.MaxResults ?? 10;
    if (max < 5 || max > 50) throw ssmErrors.validation(requestId, 'MaxResults must be 5..50');
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
        PlatformType: rec.platform,
        PlatformName: rec.platform === 'Linux' ? 'Amazon Linux' : 'Microsoft Windows Server 2022 Datacenter',
        PlatformVersion: rec.platform === 'Linux' ? '2023' : '10.0.20348',
        ResourceType: 'EC2Instance' as const,
        IPAddress: '10.0.1.23',
        ComputerName: `ip-10-0-1-23.ec2.internal`,
      }];
    });
    // Pages of MaxResults, the token being the offset.
    const from = command.input.NextToken ? Number(command.input.NextToken) : 0;
    const page = list.slice(from, from + max);
    return {
      $metadata: okMetadata(requestId), InstanceInformationList: page,
      ...(from + max < list.length ? { NextToken: String(from + max) } : {}),
    };
  }

  private sendCommand(command: SendCommandCommand, requestId: string): SendCommandCommandOutput {
    const input = command.input;
    if (!this.w.buckets.sendCommand.take(this.w.now())) throw ssmErrors.throttling(requestId);
    if (input.DocumentName !== this.document.name) throw ssmErrors.invalidDocument(requestId, input.DocumentName ?? '');
    const ids = input.InstanceIds ?? [];
    if (ids.length < 1 || ids.length > 50) throw ssmErrors.validation(requestId, 'InstanceIds must name 1..50 instances');
    if (new Set(ids).size !== ids.length) throw ssmErrors.validation(requestId, 'InstanceIds has duplicates');
    const timeout = input.TimeoutSeconds ?? 3600;
    if (timeout < 30 || timeout > 2_592_000) throw ssmErrors.validation(requestId, 'TimeoutSeconds must be 30..2592000');
    // With the defaults (MaxErrors 0), the first failed copy would stop the rest of a multi-instance command.
    if (ids.length > 1 && (input.MaxErrors !== '100%' || input.MaxConcurrency !== '100%')) {
      throw ssmErrors.validation(requestId, 'a multi-instance rescue must set MaxConcurrency and MaxErrors to 100%');
    }
    const problem = parameterProblem(this.document, input.Parameters as Record<string, string[]> | undefined);
    if (problem) throw ssmErrors.invalidParameters(requestId, problem);
    const recs = ids.map((id) => this.w.instances.get(id));
    for (let i = 0; i < ids.length; i++) {
      // An instance SSM never saw (or one that is not EC2-managed) refuses the whole command.
      if (!recs[i] || recs[i]!.agent === 'not-registered') throw ssmErrors.invalidInstanceId(requestId, ids[i]);
    }

    const now = this.w.now();
    const state: CommandState = {
      commandId: this.w.rng.uuid(), documentName: this.document.name,
      parameters: structuredClone((input.Parameters ?? {}) as Record<string, string[]>),
      requestedAt: now, expiresAt: now + timeout * 1000, timeoutSeconds: timeout, comment: input.Comment, invocations: [],
    };
    for (const rec of recs) state.invocations.push({ command: state, rec: rec!, status: 'Pending', responseCode: -1 });
    this.commands.set(state.commandId, state);
    this.commandsAccepted++;
    this.invocationsAccepted += ids.length;
    for (const inv of state.invocations) {
      inv.rec.commandsSent++;
      stamp(inv.rec, 'commandAccepted', now);
      this.deliver(inv);
    }
    return { $metadata: okMetadata(requestId), Command: this.describeCommand(state) };
  }

  private describeCommand(c: CommandState): Command {
    const ended = c.invocations.filter((i) => TERMINAL.has(i.status));
    return {
      CommandId: c.commandId,
      DocumentName: c.documentName,
      DocumentVersion: '$DEFAULT',
      Comment: c.comment,
      ExpiresAfter: new Date(c.expiresAt),
      Parameters: structuredClone(c.parameters),
      InstanceIds: c.invocations.map((i) => i.rec.id),
      Targets: [],
      RequestedDateTime: new Date(c.requestedAt),
      Status: this.commandStatus(c) as Command['Status'],
      StatusDetails: this.commandStatus(c),
      MaxConcurrency: '100%',
      MaxErrors: '100%',
      TargetCount: c.invocations.length,
      CompletedCount: ended.length,
      ErrorCount: ended.filter((i) => i.status !== 'Success').length,
      DeliveryTimedOutCount: 0,
      ServiceRole: '',
      TimeoutSeconds: c.timeoutSeconds,
    };
  }

  /** All copies Success: Success; otherwise the worst of them once all have ended. */
  private commandStatus(c: CommandState): string {
    const statuses = c.invocations.map((i) => i.status);
    if (statuses.some((st) => !TERMINAL.has(st))) return statuses.every((st) => st === 'Pending') ? 'Pending' : 'InProgress';
    for (const st of ['Failed', 'TimedOut', 'Cancelled']) if (statuses.includes(st)) return st;
    return 'Success';
  }

  /** MaxResults 1..50 and NextToken (here an offset), as ListCommands and ListCommandInvocations take them. */
  private page<T>(items: T[], input: { MaxResults?: number; NextToken?: string }, requestId: string): { page: T[]; NextToken?: string } {
    const max = input.MaxResults ?? 50;
    if (!Number.isInteger(max) || max < 1 || max > 50) throw ssmErrors.validation(requestId, 'MaxResults must be 1..50');
    const from = input.NextToken === undefined ? 0 : Number(input.NextToken);
    if (!Number.isInteger(from) || from < 0) throw ssmErrors.validation(requestId, 'The NextToken is not valid');
    return { page: items.slice(from, from + max), ...(from + max < items.length ? { NextToken: String(from + max) } : {}) };
  }

  /**
   * By CommandId, InstanceId, and 1..5 filters (each key once here; InvokedAfter/InvokedBefore an
   * ISO 8601 time, DocumentName, Status), newest first, in pages. InstanceId with Status Pending is
   * refused, as SSM documents.
   */
  private listCommands(command: ListCommandsCommand, requestId: string): ListCommandsCommandOutput {
    if (!this.w.buckets.describe.take(this.w.now())) throw ssmErrors.throttling(requestId);
    const input = command.input;
    const c = input.CommandId ? this.commands.get(input.CommandId) : undefined;
    if (input.CommandId && !c) throw ssmErrors.invalidCommandId(requestId);
    const filters = input.Filters ?? [];
    if (input.Filters !== undefined && (filters.length < 1 || filters.length > 5)) throw ssmErrors.validation(requestId, 'Filters must have 1..5 members');
    const value = new Map<string, string>();
    for (const f of filters) {
      if (!f.key || !COMMAND_FILTER_KEYS.has(f.key) || !f.value) throw ssmErrors.validation(requestId, `invalid filter ${String(f.key)}`);
      if (f.key === 'ExecutionStage') throw ssmErrors.validation(requestId, 'the ExecutionStage filter is not simulated');
      if (value.has(f.key)) throw ssmErrors.validation(requestId, `the ${f.key} filter twice is not simulated`);
      if ((f.key === 'InvokedAfter' || f.key === 'InvokedBefore') && !Number.isFinite(Date.parse(f.value))) {
        throw ssmErrors.validation(requestId, `${f.key}: not a timestamp`);
      }
      value.set(f.key, f.value);
    }
    if (input.InstanceId && value.get('Status') === 'Pending') throw ssmErrors.validation(requestId, 'InstanceId cannot be combined with Status Pending');
    const after = value.has('InvokedAfter') ? Date.parse(value.get('InvokedAfter')!) : -Infinity;
    const before = value.has('InvokedBefore') ? Date.parse(value.get('InvokedBefore')!) : Infinity;
    const listed = (c ? [c] : [...this.commands.values()].reverse()).filter((x) => x.requestedAt >= after && x.requestedAt <= before
      && (!value.has('DocumentName') || x.documentName === value.get('DocumentName'))
      && (!value.has('Status') || this.commandStatus(x) === value.get('Status'))
      && (!input.InstanceId || x.invocations.some((i) => i.rec.id === input.InstanceId)));
    const { page, NextToken } = this.page(listed, input, requestId);
    return { $metadata: okMetadata(requestId), Commands: page.map((x) => this.describeCommand(x)), ...(NextToken ? { NextToken } : {}) };
  }

  /** One command's copies (or one instance's), in pages; with Details, each with its step and the step's ResponseCode. */
  private listInvocations(command: ListCommandInvocationsCommand, requestId: string): ListCommandInvocationsCommandOutput {
    if (!this.w.buckets.describe.take(this.w.now())) throw ssmErrors.throttling(requestId);
    const input = command.input;
    const c = input.CommandId ? this.commands.get(input.CommandId) : undefined;
    if (!c) throw ssmErrors.invalidCommandId(requestId);
    const copies = c.invocations.filter((i) => !input.InstanceId || i.rec.id === input.InstanceId);
    const { page, NextToken } = this.page(copies, input, requestId);
    return {
      $metadata: okMetadata(requestId),
      CommandInvocations: page.map((i) => ({
        CommandId: c.commandId, InstanceId: i.rec.id, DocumentName: c.documentName, RequestedDateTime: new Date(c.requestedAt),
        Status: i.status as 'Success', StatusDetails: i.status,
        ...(input.Details ? {
          CommandPlugins: [{ Name: STEP_NAME, Status: i.status as 'Success', StatusDetails: i.status, ResponseCode: i.responseCode, Output: '' }],
        } : {}),
      })),
      ...(NextToken ? { NextToken } : {}),
    };
  }

  private deliver(inv: Invocation): void {
    const delay = this.w.options.agentDeliveryMs * Math.exp(0.5 * this.delayRng.normal());
    this.w.clock.after(delay, () => {
      if (this.pingStatus(inv.rec) === 'Online' && this.w.now() < inv.command.expiresAt) {
        this.execute(inv);
      } else {
        this.w.clock.at(inv.command.expiresAt, () => this.finish(inv, 'TimedOut'));
      }
    });
  }

  private execute(inv: Invocation): void {
    const o = this.w.options;
    const rec = inv.rec;
    const started = this.w.now();
    rec.commandsRun++;
    stamp(rec, 'commandStarted', started);
    inv.status = 'InProgress';
    this.emitInvocation(inv, 'InProgress');
    // A repeated command on the same instance takes about as long as the first.
    const seconds = rec.commandsRun === 1 ? rec.uploadSeconds : rec.uploadSeconds * Math.exp(0.1 * rec.rng.normal());
    const timeoutMs = o.executionTimeoutSeconds * 1000;
    let endsAt: number;
    let status: string;
    let code = 0;
    if (rec.platform !== 'Linux') {
      // The step's precondition (platformType Linux) skips it: the copy succeeds, having uploaded nothing.
      this.w.clock.after(100, () => { inv.responseCode = 0; this.finish(inv, 'Success'); });
      return;
    }
    if (rec.outcome === 'nothing-collected') {
      // It looks, finds nothing, uploads the manifest and exits NOTHING_COLLECTED_EXIT_CODE.
      endsAt = started + Math.min(seconds, 2) * 1000;
      status = 'Failed';
      code = NOTHING_COLLECTED_EXIT_CODE;
    } else if (rec.outcome === 'timed-out' || seconds * 1000 >= timeoutMs) {
      endsAt = started + timeoutMs;
      status = 'TimedOut';
    } else if (rec.outcome === 'failed') {
      endsAt = started + seconds * 1000 * rec.rng.uniform(0.2, 1);
      status = 'Failed';
      code = 1;
    } else {
      endsAt = started + seconds * 1000;
      status = 'Success';
    }
    this.w.clock.at(endsAt, () => {
      if (rec.state === 'Terminated') {
        // The agent died with the instance: nothing uploaded, nothing reported.
        this.w.clock.at(started + timeoutMs, () => this.finish(inv, 'TimedOut'));
        return;
      }
      if (status === 'Success' && rec.uploadedAt === undefined) rec.uploadedAt = this.w.now();
      stamp(rec, 'commandEnded', this.w.now());
      if (status !== 'TimedOut') inv.responseCode = code;
      this.finish(inv, status);
    });
  }

  private finish(inv: Invocation, status: string): void {
    inv.status = status;
    inv.rec.statuses.push(status);
    this.emitInvocation(inv, status);
    const c = inv.command;
    if (c.invocations.every((i) => TERMINAL.has(i.status))) {
      const overall = this.commandStatus(c);
      this.emit(() => commandStatusEvent(this.w, {
        commandId: c.commandId, documentName: c.documentName, instanceIds: c.invocations.map((i) => i.rec.id), status: overall,
        parameters: c.parameters, requestedAt: c.requestedAt, expiresAt: c.expiresAt,
      }));
    }
  }

  private emitInvocation(inv: Invocation, status: string): void {
    this.emit(() => {
      if (status !== 'InProgress') stamp(inv.rec, 'statusEvent', this.w.now());
      return commandInvocationEvent(this.w, {
        commandId: inv.command.commandId, documentName: inv.command.documentName, instanceId: inv.rec.id, status,
        requestedAt: inv.command.requestedAt,
      });
    });
  }

  /** SSM's events reach EventBridge a little after the change. */
  private emit(make: () => BusEvent): void {
    const delay = this.w.options.statusEventDelayMs * Math.exp(0.5 * this.delayRng.normal());
    this.w.clock.after(delay, () => this.publish(make()));
  }
}
