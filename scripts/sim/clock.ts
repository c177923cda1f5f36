/**
 * The simulation's virtual clock: a discrete-event scheduler over a binary heap of timed callbacks.
 *
 * The handler under test is ordinary async code. Its `sleep` and every simulated AWS call return a
 * promise that a scheduled callback resolves; after each callback the loop lets every promise
 * continuation run (one macrotask turn drains the whole microtask queue) before it moves the clock
 * to the next callback. So many handler invocations interleave as coroutines on virtual time, and
 * nothing ever really waits.
 */

interface Timer {
  time: number;
  seq: number;
  fn: () => void;
}

export class VirtualClock {
  private readonly heap: Timer[] = [];
  private seq = 0;
  private t: number;
  /** Callbacks run so far; a guard against a run that never settles. */
  steps = 0;

  constructor(startMs: number) {
    this.t = startMs;
  }

  /** Epoch milliseconds, virtual. */
  now(): number {
    return this.t;
  }

  /** Run `fn` at virtual time `timeMs` (never before now). Same-time callbacks run in scheduling order. */
  at(timeMs: number, fn: () => void): void {
    this.push({ time: Math.max(timeMs, this.t), seq: this.seq++, fn });
  }

  after(ms: number, fn: () => void): void {
    this.at(this.t + Math.max(0, ms), fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Run callbacks in time order until none is left, or the next one is past `untilMs`. */
  async run(untilMs = Infinity, maxSteps = 10_000_000): Promise<void> {
    await settle();
    while (this.heap.length > 0) {
      if (this.heap[0].time > untilMs) break;
      if (++this.steps > maxSteps) throw new Error(`simulation did not settle after ${maxSteps} steps`);
      const timer = this.pop();
      this.t = timer.time;
      timer.fn();
      await settle();
    }
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Timer;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/** Let every pending promise continuation run: a macrotask turn starts only once microtasks are drained. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
