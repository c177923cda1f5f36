/**
 * Run Command's status events: a command finished on an instance (or on all of them), so count it
 * rescued or not, and release the instance its lifecycle action still holds. Nobody polls.
 *
 * - Invocation status: one instance's copy of the command finished (any way); release that
 *   instance. The event carries no parameters: the command's (group, hook, trigger) come from
 *   `ListCommands`, once per command per container.
 * - Command status: the backstop for an invocation status that never arrived or never went
 *   through (an agent that never answered, a status event dead-lettered). Retried later once
 *   through the queue, it then releases, with each invocation's own status, the instances their
 *   lifecycle actions still hold.
 *
 * Rescued / NotRescued count instances, not event deliveries: the delivery that releases the
 * instance counts it; a repeated or late delivery that finds it already released counts nothing.
 */
import { allSettledOrThrow, groupBy, type Context, type InvocationResult } from './aws';
import { commandStatusScope, countFinished, invocationCommand, invocationScope, stillHeld } from './decisions';
import { compactUtcMs, type CommandInvocationEvent, type CommandStatusEvent, type Trigger } from './events';
import {
  all, attempt, firstPerInstance, ignored, info, ok, rejected, retryLater, warn,
  type Batch, type EventRef, type Indexed, type RescueResult, type Settled, type Tools,
} from './outcomes';
import { DeadlineReached, errorMessage, errorName } from './retry';

/** Release (for a lifecycle rescue) and count one instance whose copy of the command finished. */
async function finish(b: Tools, ctx: Context, p: {
  instanceId: string; commandId: string; status: string; asgName: string; hookName: string; trigger: Trigger; durationSeconds: number;
  /** From the lifecycle event (the rescue's eventTime parameter) to the status event that ends it. */
  holdSeconds: number;
  /** The script's exit code(s), read for a Failed copy: nothing collected is its own reason. */
  responseCodes?: readonly number[];
}): Promise<RescueResult> {
  // The hook name the command carried, not the configured one: the action belongs to that hook.
  const completion = p.trigger === 'lifecycle' ? await b.aws.complete(ctx, p.asgName, p.hookName, p.instanceId) : 'none';
  const d = countFinished(p, completion);
  if (d.kind === 'ignore') return ignored(b, ctx, d);
  const { rescued, reason } = d;
  (rescued ? info : warn)(b, ctx, rescued ? 'logs rescued' : 'logs not rescued', {
    trigger: p.trigger, commandId: p.commandId, status: p.status, reason, durationSeconds: p.durationSeconds, completion,
    ...(p.responseCodes === undefined ? {} : { responseCodes: p.responseCodes }),
  });
  if (rescued) b.metrics.rescued();
  else b.metrics.notRescued(reason!);
  b.metrics.duration(p.durationSeconds);
  // Only a lifecycle rescue holds its instance; a Spot instance goes when EC2 says.
  if (p.trigger === 'lifecycle' && completion === 'completed') b.metrics.hold(p.holdSeconds);
  return {
    action: 'command-finished', trigger: p.trigger, instanceId: p.instanceId, asgName: p.asgName, commandId: p.commandId, status: p.status,
    rescued, ...(reason ? { reason } : {}), completion, durationSeconds: p.durationSeconds,
  };
}

export async function onInvocations(b: Batch, items: Indexed<CommandInvocationEvent>[]): Promise<Settled[]> {
  const out: Settled[] = [];
  const wanted = items.filter(({ index, e }) => {
    const d = invocationScope(e, b.settings);
    if (d) out.push(ok(index, ignored(b, { eventId: e.id, instanceId: e.instanceId }, d)));
    return d === undefined;
  });
  // A repeated delivery in the same batch: for a Spot rescue nothing else would stop a second count.
  const { first: unique, repeats } = firstPerInstance(b, wanted, (e) => `${e.commandId}/${e.instanceId}`);
  out.push(...repeats);
  const byCommand = groupBy(unique, ({ e }) => e.commandId);
  // Statuses of several commands this container has not read yet (a storm's batch spans many):
  // one listing of the document's recent commands reads them all, rather than one ListCommands
  // each, which in a storm of 1,000 throttled against SSM's rate and held up the completions.
  const unknown = byCommand.filter((g) => !b.aws.knowsCommand(g[0].e.commandId));
  if (unknown.length > 1) {
    await b.aws.ourCommandsSince({ instances: unique.length }, Math.min(...unknown.map((g) => g[0].e.requestedTimeMs))).catch((err: unknown) => {
      if (err instanceof DeadlineReached) return;
      warn(b, { instances: unique.length }, 'could not list the recent commands; reading each', { error: errorName(err), detail: errorMessage(err) });
    });
  }
  return [...out, ...await all(byCommand.map((group) => attempt(b, group.map(refOf), () => onCommand(b, group))))];
}

const refOf = ({ index, e }: Indexed<CommandInvocationEvent>): EventRef => ({ index, eventId: e.id, instanceId: e.instanceId });

/** This batch's invocation statuses of one command. */
async function onCommand(b: Batch, group: Indexed<CommandInvocationEvent>[]): Promise<Settled[]> {
  const first = group[0].e;
  const firstCtx: Context = { eventId: first.id, instanceId: first.instanceId };
  const d = invocationCommand(await b.aws.commandOf(firstCtx, first.commandId), first.commandId, b.settings);
  if (d.kind === 'reject') return group.map(({ index, e }) => ok(index, rejected(b, d.reason, { eventId: e.id, instanceId: e.instanceId })));
  if (d.kind === 'ignore') return group.map(({ index, e }) => ok(index, ignored(b, { eventId: e.id, instanceId: e.instanceId }, d)));
  const { asgName, hookName, trigger, eventTime } = d.params;
  // A Failed copy may be the script saying it found nothing (its exit code), which the event does
  // not carry: one listing of the command's invocations answers for all of this batch's Failed
  // copies of it (filtered to the instance when there is one).
  const failedCopies = group.filter(({ e }) => e.status === 'Failed');
  const codes = failedCopies.length === 0
    ? new Map<string, InvocationResult>()
    : await b.aws.responseCodesOf({ ...firstCtx, asgName }, first.commandId, failedCopies.length === 1 ? failedCopies[0].e.instanceId : undefined);
  return all(group.map(({ index, e }) => attempt(b, [refOf({ index, e })], async () => [ok(index, await finish(
    b, { eventId: e.id, instanceId: e.instanceId, asgName },
    {
      instanceId: e.instanceId, commandId: e.commandId, status: e.status, asgName, hookName, trigger,
      durationSeconds: Math.max(0, (e.timeMs - e.requestedTimeMs) / 1000),
      holdSeconds: Math.max(0, (e.timeMs - compactUtcMs(eventTime)) / 1000),
      ...(e.status === 'Failed' ? { responseCodes: codes.get(e.instanceId)?.responseCodes ?? [] } : {}),
    },
  ))])));
}

/**
 * The command-level status: every invocation of the command has ended. The invocation statuses
 * normally released each instance already; this releases any instance still held (an invocation
 * whose status never came), counting it with its invocation's own status.
 */
export async function onCommandStatus(b: Batch, index: number, e: CommandStatusEvent): Promise<Settled[]> {
  const ctx: Context = { eventId: e.id, ...(e.instanceIds.length === 1 ? { instanceId: e.instanceIds[0] } : { instances: e.instanceIds.length }) };
  const ref: EventRef = { index, eventId: e.id, instanceId: e.instanceIds[0] };
  const d = commandStatusScope(e, b.settings, b.now());
  if (d.kind === 'ignore') return [ok(index, ignored(b, ctx, d))];
  if (d.kind === 'reject') return [ok(index, rejected(b, d.reason, ctx))];
  if (d.kind === 'retry-later') return [retryLater(b, ref, d.detail)];
  const { asgName, hookName, trigger, eventTime } = d.params;
  const held = { ...ctx, asgName };
  return attempt(b, [ref], async () => {
    const member = await b.aws.groupMembership(held, e.instanceIds);
    const holding = stillHeld(e.instanceIds, (id) => member.get(id)?.state);
    if (holding.length === 0) return [ok(index, ignored(b, held, { kind: 'ignore', reason: 'already-counted', detail: { commandId: e.commandId, status: e.status } }))];
    // A Success command succeeded on every instance; otherwise each invocation says how it ended
    // (and, Failed, with what exit code).
    const invocations = e.status === 'Success' ? new Map<string, InvocationResult>() : await b.aws.invocationResults(held, e.commandId);
    warn(b, held, 'command finished with instances still held; releasing them', { commandId: e.commandId, status: e.status, held: holding.length });
    const durationSeconds = Math.max(0, (e.timeMs - e.requestedTimeMs) / 1000);
    const results = await allSettledOrThrow(holding.map((instanceId) => finish(b, { ...held, instanceId, instances: undefined }, {
      instanceId, commandId: e.commandId, status: invocations.get(instanceId)?.status ?? e.status, asgName, hookName, trigger, durationSeconds,
      holdSeconds: Math.max(0, (e.timeMs - compactUtcMs(eventTime)) / 1000),
      ...(invocations.has(instanceId) ? { responseCodes: invocations.get(instanceId)!.responseCodes } : {}),
    })));
    return [ok(index, { action: 'backstop', commandId: e.commandId, status: e.status, results })];
  });
}
