/**
 * Lifecycle actions and Spot warnings: look at the instances' SSM agents, then send the rescue
 * document, send the event back to the queue to look again later, or release the instance.
 *
 * - Lifecycle: the wait for an agent holds no invocation (an event whose agent is not Online yet
 *   goes back to the event queue with a delay); ONE command per group of up to 50 instances of the
 *   same group, hook and event second, recording a heartbeat first for an instance whose command
 *   could otherwise outlive its lifecycle action. An instance whose logs cannot be rescued is
 *   released at once instead of being held until the heartbeat expires.
 * - Spot: the same document with the 2-minute budget, no waiting; nothing to release.
 *
 * What to do with what was read is decisions.ts's; each step returns its events' outcomes.
 */
import { NO_LIFECYCLE_HOOK } from '../../config/patterns';
import { chunks, groupBy, rescueKey, type Context, type RescueTarget, type SentCommand } from './aws';
import {
  alreadySent, decideLook, lifecycleScope, needsReleasedCheck, spotScope,
  type LookInput, type NotRescuedReason, type Release, type Requeue,
} from './decisions';
import { compactUtc, type LifecycleActionEvent, type SpotWarningEvent } from './events';
import {
  all, attempt, firstPerInstance, ignored, info, messageOf, ok, waitStartedOf, warn, type Batch, type Indexed, type Settled,
} from './outcomes';
import { DeadlineReached, errorMessage, errorName } from './retry';
import { needsHeartbeat } from './timing';

/** One instance to rescue, from a lifecycle event or a Spot warning. */
interface Job extends RescueTarget {
  readonly index: number;
  readonly lifecycle?: LifecycleActionEvent;
  readonly spot?: SpotWarningEvent;
}

const jobCtx = (j: Job): Context => ({ eventId: j.eventId, instanceId: j.instanceId, asgName: j.asgName });

export async function onLifecycles(b: Batch, items: Indexed<LifecycleActionEvent>[]): Promise<Settled[]> {
  const out: Settled[] = [];
  const wanted = items.filter(({ index, e }) => {
    const d = lifecycleScope(e, b.settings);
    if (d) out.push(ok(index, ignored(b, { eventId: e.id, instanceId: e.instanceId, asgName: e.asgName }, d)));
    return d === undefined;
  });
  // A look-again copy before a first look of the same instance (a late EventBridge duplicate):
  // the copy's wait clock is the one that counts.
  const copiesFirst = [...wanted].sort((x, y) => (waitStartedOf(b, x.index) ?? Infinity) - (waitStartedOf(b, y.index) ?? Infinity));
  const { first, repeats } = firstPerInstance(b, copiesFirst);
  const jobs: Job[] = first.map(({ index, e }) => ({
    index, eventId: e.id, instanceId: e.instanceId, asgName: e.asgName, hookName: e.hookName, trigger: 'lifecycle',
    eventTime: compactUtc(e.time), timeMs: e.timeMs, lifecycle: e,
  }));
  return [...out, ...repeats, ...await rescue(b, jobs)];
}

export async function onSpots(b: Batch, items: Indexed<SpotWarningEvent>[]): Promise<Settled[]> {
  const { first, repeats } = firstPerInstance(b, items);
  const refs = first.map(({ index, e }) => ({ index, eventId: e.id, instanceId: e.instanceId }));
  return [...repeats, ...await attempt(b, refs, async () => {
    const member = await b.aws.groupMembership({ instances: first.length }, first.map(({ e }) => e.instanceId));
    const out: Settled[] = [];
    const jobs: Job[] = [];
    for (const { index, e } of first) {
      const d = spotScope(member.get(e.instanceId), b.settings);
      const ctx: Context = { eventId: e.id, instanceId: e.instanceId };
      if (d.kind === 'ignore') {
        out.push(ok(index, ignored(b, d.reason === 'lifecycle-hook-handles-it' ? { ...ctx, asgName: member.get(e.instanceId)?.asgName } : ctx, d)));
      } else {
        jobs.push({
          index, eventId: e.id, instanceId: e.instanceId, asgName: d.asgName, hookName: NO_LIFECYCLE_HOOK, trigger: 'spot',
          eventTime: compactUtc(e.time), timeMs: e.timeMs, spot: e,
        });
      }
    }
    // No waiting: the instance has two minutes left in all.
    return [...out, ...await rescue(b, jobs)];
  })];
}

const releasedAtOnce = (d: { kind: string; reason?: string }): d is Release => d.kind === 'release' && d.reason === 'unsupported-platform';

/**
 * One look at the jobs' agents, each then sent the rescue (Online), sent back to the queue to be
 * looked at again (`decideLook`: not Online, with wait left; nothing sleeps, so an offline agent
 * holds no invocation, and no concurrency the rest of a storm needs), or released. A lifecycle
 * rescue's first look at an agent not Online first reads the instance's lifecycle state (a
 * repeated or late event whose action let it go already should not wait, nor count it twice).
 */
async function rescue(b: Batch, jobs: Job[]): Promise<Settled[]> {
  if (jobs.length === 0) return [];
  const ctx: Context = { instances: jobs.length };
  const onlineWaitSeconds = b.settings.onlineWaitSeconds;
  return attempt(b, jobs, async () => {
    const { ping, platform } = await b.aws.agents(ctx, jobs.map((j) => j.instanceId));
    const answeredAt = b.now();
    const look = (j: Job): Omit<LookInput, 'now'> => ({
      agent: { managed: ping.has(j.instanceId), pingStatus: ping.get(j.instanceId), platformType: platform.get(j.instanceId) },
      trigger: j.trigger, answeredAt,
      ...(j.lifecycle ? { eventTimeMs: j.lifecycle.timeMs } : {}),
      ...(waitStartedOf(b, j.index) === undefined ? {} : { waitStartedAt: waitStartedOf(b, j.index) }),
    });
    const first = jobs.map((j) => ({ j, d: decideLook({ ...look(j), now: answeredAt }, onlineWaitSeconds) }));
    // Released at once (another platform): under way while the others are looked at.
    const released = all(first.flatMap(({ j, d }) => (releasedAtOnce(d)
      ? [attempt(b, [j], () => release(b, j, d.reason, ping.get(j.instanceId), d.detail))] : [])));
    const online = first.filter(({ d }) => d.kind === 'send').map(({ j }) => j);
    // The listing of commands already sent is asked only when an agent is Online: a batch whose
    // agents are all offline (a look again, a late duplicate) spends no call on it.
    const sends = online.length === 0 ? Promise.resolve([]) : attempt(b, online, () => sendWave(b, online, alreadySentOrNone(b, jobs)));
    const notOnline = first.filter(({ d }) => d.kind !== 'send' && !releasedAtOnce(d)).map(({ j }) => j);
    const looked = attempt(b, notOnline, async () => {
      const check = notOnline.filter((j) => needsReleasedCheck(look(j)));
      const member = check.length === 0 ? new Map<string, { state?: string }>() : await b.aws.groupMembership(ctx, check.map((j) => j.instanceId));
      return all(notOnline.map(async (j) => {
        const pingStatus = ping.get(j.instanceId);
        const d = decideLook({
          ...look(j), now: b.now(), ...(check.includes(j) ? { lifecycleState: member.get(j.instanceId)?.state ?? null } : {}),
        }, onlineWaitSeconds);
        if (d.kind === 'ignore') return [ok(j.index, ignored(b, jobCtx(j), { ...d, detail: { ...(pingStatus === undefined ? {} : { pingStatus }), ...d.detail } }))];
        if (d.kind === 'requeue') return attempt(b, [j], () => lookAgainLater(b, j, d, pingStatus));
        if (d.kind === 'release') return attempt(b, [j], () => release(b, j, d.reason, pingStatus));
        throw new Error(`decideLook: ${d.kind} for an agent not Online`);
      }));
    });
    // Sends already under way finish (and settle their own events) whatever happened to the look.
    return all([released, sends, looked]);
  });
}

/**
 * Send the job's event back to the event queue, delayed until its agent is worth looking at again
 * (5 s, or what is left of the wait), with the wait's start as a message attribute.
 */
async function lookAgainLater(b: Batch, j: Job, d: Requeue, pingStatus?: string): Promise<Settled[]> {
  const ctx = jobCtx(j);
  await b.aws.requeue(ctx, b.events[j.index], d.delaySeconds, d.waitStartedAt);
  const waitedSeconds = Math.round((b.now() - d.waitStartedAt) / 100) / 10;
  info(b, ctx, 'agent not Online yet; the event goes back to the queue to look again', {
    pingStatus, recheckSeconds: d.delaySeconds, waitedSeconds, onlineWaitSeconds: b.settings.onlineWaitSeconds, ...messageOf(b, j.index),
  });
  return [ok(j.index, {
    action: 'waiting', trigger: j.trigger, instanceId: j.instanceId, asgName: j.asgName,
    ...(pingStatus === undefined ? {} : { pingStatus }), recheckSeconds: d.delaySeconds, waitedSeconds,
  })];
}

/** `commandsAlreadySent`, or none when SSM would not say. */
function alreadySentOrNone(b: Batch, jobs: readonly Job[]): Promise<Map<string, SentCommand>> {
  return b.aws.commandsAlreadySent({ instances: jobs.length }, jobs).catch((err: unknown) => {
    // No call starts after the deadline, SendCommand included: the queue retries these events.
    if (err instanceof DeadlineReached) throw err;
    // A guard, not a prerequisite: without the listing the command goes, as it would have
    // before; holding the instance for another visibility timeout would be worse than a second run.
    warn(b, { instances: jobs.length }, 'could not list the commands already sent; sending anyway', { error: errorName(err), detail: errorMessage(err) });
    return new Map<string, SentCommand>();
  });
}

/**
 * Before a lifecycle command is sent: when its status could come after the lifecycle action
 * expires (`needsHeartbeat`: the event's age + the execution timeout + the delivery timeout is
 * past the heartbeat timeout, as after a long queue or retries), record a heartbeat first.
 */
async function keepHeld(b: Batch, j: Job): Promise<'not-needed' | 'recorded' | 'not-recorded' | 'released'> {
  const e = j.lifecycle;
  if (!e) return 'not-needed';
  const { executionTimeoutSeconds, heartbeatTimeoutSeconds } = b.settings;
  const elapsedSeconds = Math.max(0, (b.now() - e.timeMs) / 1000);
  if (!needsHeartbeat(elapsedSeconds, executionTimeoutSeconds, heartbeatTimeoutSeconds)) return 'not-needed';
  return b.aws.recordHeartbeat(jobCtx(j), e, { elapsedSeconds: Math.round(elapsedSeconds), executionTimeoutSeconds, heartbeatTimeoutSeconds });
}

/**
 * Send to instances whose agents are online, less those SSM already lists a command of this
 * rescue for: one command per group, hook and event second, 50 at most.
 */
async function sendWave(b: Batch, wave: Job[], listing: Promise<Map<string, SentCommand>>): Promise<Settled[]> {
  const sent = await listing;
  const out: Settled[] = [];
  const jobs = wave.filter((j) => {
    const d = alreadySent(sent.get(rescueKey(j)), j.trigger);
    if (d) out.push(ok(j.index, ignored(b, jobCtx(j), d)));
    return d === undefined;
  });
  if (jobs.length === 0) return out;
  const heartbeats = await Promise.all(jobs.map((j) => keepHeld(b, j)));
  const ready = jobs.filter((j, i) => {
    if (heartbeats[i] !== 'released') return true;
    out.push(ok(j.index, ignored(b, jobCtx(j), { kind: 'ignore', reason: 'already-released', detail: { by: 'RecordLifecycleActionHeartbeat' } })));
    return false;
  });
  const heartbeatOf = new Map(jobs.map((j, i) => [j.instanceId, heartbeats[i]]));
  const groups = groupBy(ready, (j) => [j.trigger, j.asgName, j.hookName, j.eventTime].join('\n')).flatMap((g) => chunks(g));
  return [...out, ...await all(groups.map((g) => attempt(b, g, () => sendGroup(b, g, heartbeatOf))))];
}

async function sendGroup(b: Batch, jobs: Job[], heartbeatOf: Map<string, string>): Promise<Settled[]> {
  const ctx: Context = jobs.length === 1 ? jobCtx(jobs[0]) : { eventId: jobs[0].eventId, asgName: jobs[0].asgName, instances: jobs.length };
  const commandId = await b.aws.sendRescue(ctx, jobs);
  if (typeof commandId !== 'string') {
    // One bad instance (say, it left SSM a moment ago) refuses the whole command: try each alone.
    // Any other refusal (a denied role, a missing document) would refuse each of them too.
    if (jobs.length > 1 && commandId.refused === 'InvalidInstanceId') {
      return all(jobs.map((j) => attempt(b, [j], () => sendGroup(b, [j], heartbeatOf))));
    }
    return all(jobs.map((j) => attempt(b, [j], () => release(b, j, 'send-failed'))));
  }
  return jobs.map((j) => {
    // The status event that releases the instance is due within the document's execution timeout.
    info(b, jobCtx(j), 'rescue command sent', {
      trigger: j.trigger, commandId, eventTime: j.eventTime, commandInstances: jobs.length,
      executionTimeoutSeconds: b.settings.executionTimeoutSeconds, heartbeat: heartbeatOf.get(j.instanceId),
      ...(j.spot ? { instanceAction: j.spot.instanceAction } : {}),
    });
    b.metrics.commandSent();
    return ok(j.index, {
      action: 'command-sent', trigger: j.trigger, instanceId: j.instanceId, asgName: j.asgName, commandId, eventTime: j.eventTime,
      commandInstances: jobs.length,
    });
  });
}

/** Count an instance not rescued, for `reason`, releasing it first (a lifecycle rescue). */
async function release(b: Batch, j: Job, reason: NotRescuedReason, pingStatus?: string, extra: object = {}): Promise<Settled[]> {
  const ctx = jobCtx(j);
  if (j.trigger === 'spot') {
    warn(b, ctx, 'logs not rescued before the Spot interruption', { reason, pingStatus, ...extra });
    b.metrics.notRescued(reason);
    return [ok(j.index, { action: 'not-rescued', trigger: 'spot', instanceId: j.instanceId, asgName: j.asgName, reason, completion: 'none' })];
  }
  // Holding the instance until the heartbeat expires would rescue nothing and delay the scale-in.
  warn(b, ctx, 'logs not rescued; releasing the instance', { reason, pingStatus, ...extra });
  const completion = await b.aws.complete(ctx, j.asgName, j.hookName, j.instanceId);
  // Already released: by another delivery of this event, which counted it (or the heartbeat ran out
  // meanwhile, and then nothing can count it). Counting here would count the instance twice.
  if (completion === 'completed') b.metrics.notRescued(reason);
  return [ok(j.index, { action: 'not-rescued', trigger: 'lifecycle', instanceId: j.instanceId, asgName: j.asgName, reason, completion })];
}
