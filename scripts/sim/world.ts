/** State shared by the simulated services: the clock, the random streams, and the ground truth per instance. */
import { VirtualClock } from './clock';
import type { SimulationOptions } from './options';
import { Random } from './random';
import { TokenBucket } from './token-bucket';

export type AgentState = 'online' | 'connection-lost' | 'not-registered';
/** `nothing-collected`: the script finds no file and exits NOTHING_COLLECTED_EXIT_CODE (its copy ends Failed). */
export type CommandOutcome = 'success' | 'failed' | 'timed-out' | 'nothing-collected';
/** What SSM reports as the agent's PlatformType; the document's step runs on Linux only. */
export type Platform = 'Linux' | 'Windows';

/** What really happened to one instance, independent of what the handler believed. */
export interface InstanceRecord {
  readonly id: string;
  readonly agent: AgentState;
  readonly platform: Platform;
  /** Drawn once per instance, so every knob change keeps the same instances failing. */
  readonly outcome: CommandOutcome;
  readonly uploadSeconds: number;
  /** The instance's own random stream (upload jitter of repeated commands). */
  readonly rng: Random;
  enterAt: number;
  state: 'InService' | 'Terminating:Wait' | 'Terminating:Proceed' | 'Terminated';
  lifecycleActionToken?: string;
  /** When the lifecycle action expires unless completed; a recorded heartbeat moves it. */
  actionExpiresAt?: number;
  /** RecordLifecycleActionHeartbeat calls accepted for this instance. */
  heartbeats?: number;
  releasedAt?: number;
  release?: 'completed' | 'expired';
  terminatedAt?: number;
  commandsSent: number;
  commandsRun: number;
  /** When the first complete, verified upload landed in S3. */
  uploadedAt?: number;
  statuses: string[];
  /** Firsts of each stage, for the breakdown of the hold. */
  stamps: Partial<Record<Stage, number>>;
}

/** The stages of one rescue, in order; a hold is the sum of the gaps between them. */
export const STAGES = ['lifecycleEvent', 'lifecycleInvoked', 'commandAccepted', 'commandStarted', 'commandEnded', 'statusEvent'] as const;
export type Stage = (typeof STAGES)[number];

export function stamp(rec: InstanceRecord | undefined, stage: Stage, at: number): void {
  if (rec && rec.stamps[stage] === undefined) rec.stamps[stage] = at;
}

export interface DeadLetter {
  readonly from: 'eventbridge-target' | 'queue-redrive';
  readonly reason: string;
  readonly detailType: string;
  readonly instanceId?: string;
  readonly at: number;
}

export class World {
  readonly clock: VirtualClock;
  readonly rng: Random;
  readonly instances = new Map<string, InstanceRecord>();
  readonly deadLetters: DeadLetter[] = [];
  readonly buckets: { sendCommand: TokenBucket; describe: TokenBucket; complete: TokenBucket };
  private readonly latencyRng: Random;
  private requests = 0;

  constructor(readonly options: SimulationOptions) {
    this.clock = new VirtualClock(options.startMs);
    this.rng = new Random(options.seed);
    this.latencyRng = this.rng.fork('api-latency');
    const o = options;
    this.buckets = {
      sendCommand: new TokenBucket(o.sendCommandRate, o.sendCommandBurst, o.startMs),
      describe: new TokenBucket(o.describeRate, o.describeBurst, o.startMs),
      complete: new TokenBucket(o.completeRate, o.completeBurst, o.startMs),
    };
  }

  now(): number {
    return this.clock.now();
  }

  requestId(): string {
    this.requests++;
    return `00000000-0000-4000-8000-${this.requests.toString(16).padStart(12, '0')}`;
  }

  /**
   * One API round trip: the service acts half-way through it (that is when the rate limit and the
   * state are checked), and the caller sees the answer or the error at the end.
   */
  apiCall<T>(act: (requestId: string) => T): Promise<T> {
    const latency = this.options.apiLatencyMs * Math.exp(0.35 * this.latencyRng.normal());
    return new Promise<T>((resolve, reject) => {
      this.clock.after(latency / 2, () => {
        let settleWith: () => void;
        try {
          const out = act(this.requestId());
          settleWith = () => resolve(out);
        } catch (err) {
          settleWith = () => reject(err);
        }
        this.clock.after(latency / 2, settleWith);
      });
    });
  }

  /** ISO 8601 UTC, seconds precision, as in the `time` of an EventBridge event. */
  isoSeconds(ms: number): string {
    return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  }

  isoMillis(ms: number): string {
    return new Date(Math.round(ms)).toISOString();
  }

  deadLetter(letter: Omit<DeadLetter, 'at'>): void {
    this.deadLetters.push({ ...letter, at: this.now() });
  }
}

/** A `$metadata` as SDK v3 outputs carry it. */
export const okMetadata = (requestId: string) => ({ httpStatusCode: 200, requestId, attempts: 1, totalRetryDelay: 0 });
