/**
 * Simulated EventBridge: the stack's rules (the patterns modules/log-rescue/events.ts deploys), at-least-once
 * delivery with duplicates and latency jitter (so events can overtake each other), and the target's
 * retry policy with the dead-letter queue for deliveries to the event queue that keep failing.
 */
import { EventPattern, rescueEventPatterns } from '../../modules/log-rescue/events';
import type { BusEvent } from './event-shapes';
import type { Random } from './random';
import type { World } from './world';

type Pattern = EventPattern;

interface Rule {
  readonly name: string;
  readonly pattern: Pattern;
}

/** EventBridge matching for the subset the rules use: exact values (any of a list) and nested objects. */
export function matches(pattern: Pattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, want]) => {
    const have = e[key];
    if (Array.isArray(want)) {
      const values = Array.isArray(have) ? have : [have];
      return values.some((v) => typeof v === 'string' && want.includes(v));
    }
    return matches(want as Pattern, have);
  });
}

export class SimulatedEventBridge {
  readonly rules: readonly Rule[];
  published = 0;
  matched = 0;
  deliveries = 0;
  duplicates = 0;
  deliveryFailures = 0;
  private readonly rng: Random;

  constructor(private readonly w: World, private readonly deliver: (event: BusEvent) => void) {
    const o = w.options;
    this.rng = w.rng.fork('eventbridge');
    // The stack's own patterns, for the simulated group, hook and document.
    this.rules = rescueEventPatterns({ groupNames: [o.asgName], hookName: o.hookName, documentName: o.documentName, spotInterruption: true })
      .map((r) => ({ name: r.id, pattern: r.pattern }));
  }

  put(event: BusEvent): void {
    this.published++;
    for (const rule of this.rules) {
      if (!matches(rule.pattern, event)) continue;
      this.matched++;
      const o = this.w.options;
      const putAt = this.w.now();
      const firstAt = putAt + this.latency();
      this.w.clock.at(firstAt, () => this.attempt(event, putAt, 0));
      if (this.rng.chance(o.duplicateShare)) {
        this.duplicates++;
        const dupAt = firstAt + this.rng.uniform(0, o.duplicateDelayMaxMs);
        this.w.clock.at(dupAt, () => this.attempt(structuredClone(event), putAt, 0));
      }
    }
  }

  private latency(): number {
    return this.w.options.eventBridgeLatencyMs + this.rng.exponential(this.w.options.eventBridgeJitterMs);
  }

  /** One delivery attempt to the rule's target, the event queue (SendMessage). */
  private attempt(event: BusEvent, putAt: number, retries: number): void {
    const o = this.w.options;
    if (!this.rng.chance(o.deliveryFailureShare)) {
      this.deliveries++;
      this.deliver(event);
      return;
    }
    this.deliveryFailures++;
    // Exponential backoff with jitter; EventBridge documents the policy's limits, not its intervals.
    const delay = Math.min(300_000, 1000 * 2 ** retries) * this.rng.uniform(0.5, 1);
    const age = this.w.now() + delay - putAt;
    if (retries >= o.eventBridgeMaxRetries || age > o.eventBridgeMaxEventAgeSeconds * 1000) {
      this.w.deadLetter({ from: 'eventbridge-target', reason: 'delivery retries exhausted', detailType: event['detail-type'], instanceId: instanceOf(event) });
      return;
    }
    this.w.clock.after(delay, () => this.attempt(event, putAt, retries + 1));
  }
}

export function instanceOf(event: BusEvent): string | undefined {
  const d = event.detail as Record<string, unknown>;
  if (typeof d.EC2InstanceId === 'string') return d.EC2InstanceId;
  const arn = event.resources[0] ?? '';
  return /instance\/(i-[0-9a-f]+)$/.exec(arn)?.[1];
}
