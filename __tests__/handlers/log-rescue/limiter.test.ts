/**
 * Proves createLimiter (handlers/log-rescue/limiter.ts), which the handler's lifecycle writes and
 * the tests' offline plans run through: never more than the limit in flight, not even for a task
 * that asks while a finished one hands its slot on; the others start in the order they asked; a
 * task that fails frees its slot and its caller gets the error.
 * @lane unit
 */
import { createLimiter } from '../../../handlers/log-rescue/limiter';

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Tasks that stay in flight until answered, counting how many run at once and the order they start. */
function heldTasks() {
  const held = { inFlight: 0, most: 0, started: [] as number[], answers: [] as Array<(fail?: boolean) => void> };
  const task = (n: number) => () => {
    held.most = Math.max(held.most, ++held.inFlight);
    held.started.push(n);
    return new Promise<number>((resolve, reject) => held.answers.push((fail) => {
      held.inFlight--;
      if (fail) reject(new Error(`task ${n} failed`));
      else resolve(n);
    }));
  };
  const answerAll = async () => {
    while (held.answers.length > 0) {
      held.answers.shift()!();
      await settle();
    }
  };
  return { held, task, answerAll };
}

describe('createLimiter', () => {
  test.each([1, 2, 4])('limit %i: at most that many in flight, the others in the order they asked', async (limit) => {
    const run = createLimiter(limit);
    const { held, task, answerAll } = heldTasks();
    const done = Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => run(task(n))));
    await settle();
    expect(held.inFlight).toBe(limit);
    await answerAll();
    expect(await done).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(held.most).toBe(limit);
    expect(held.started).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('a task that asks while a finished one hands its slot on waits too, however many microtasks later it asks', async () => {
    // A task that finishes wakes the next waiting one; the slot must pass straight to it, or a
    // task asking in the gap (before the woken one runs) would make one more than the limit.
    for (let gap = 0; gap <= 12; gap++) {
      const run = createLimiter(4);
      const { held, task, answerAll } = heldTasks();
      const tasks = [1, 2, 3, 4, 5].map((n) => run(task(n)));
      await settle();
      held.answers.shift()!();
      let later: Promise<unknown> = Promise.resolve();
      for (let k = 0; k < gap; k++) later = later.then(() => undefined);
      await later;
      tasks.push(run(task(6)));
      await settle();
      expect({ gap, most: held.most }).toEqual({ gap, most: 4 });
      await answerAll();
      expect(await Promise.all(tasks)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  test('a task that fails frees its slot for the next, and its caller gets the error', async () => {
    const run = createLimiter(1);
    const { held, task, answerAll } = heldTasks();
    const first = run(task(1));
    const second = run(task(2));
    await settle();
    expect(held.started).toEqual([1]);
    held.answers.shift()!(true);
    await expect(first).rejects.toThrow('task 1 failed');
    await settle();
    expect(held.started).toEqual([1, 2]);
    await answerAll();
    expect(await second).toBe(2);
  });
});
