/** Summary statistics for benchmark samples. */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
  /** Every sample, in the order measured (rounded like the summary). */
  readonly samples: number[];
}

/** The median: the middle sample, or the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no samples');
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`median of non-finite samples: ${values.join(', ')}`);
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Median, min, max and n of the samples, rounded to `digits` decimals. */
export function summarize(values: readonly number[], digits = 3): Summary {
  return {
    median: round(median(values), digits),
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
    n: values.length,
    samples: values.map((v) => round(v, digits)),
  };
}

/** a / b, rounded; NaN-free: throws if b is not a positive number. */
export function ratio(a: number, b: number, digits = 2): number {
  if (!(b > 0) || !Number.isFinite(a)) throw new Error(`ratio ${a} / ${b} is undefined`);
  return round(a / b, digits);
}
