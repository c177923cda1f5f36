/**
 * Run at most `limit` tasks at once, the others in the order they ask. The handler keeps its
 * lifecycle writes under Auto Scaling's rate with it (aws.ts); the tests' offline plans share it
 * (__tests__/support/plan.ts).
 */
export function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiting one (running stays the same):
    // freeing it first would let a task that asks before the woken one runs take it as well.
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
