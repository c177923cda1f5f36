/**
 * `__tests__/` mirrors the source tree file for file (issue 18, STYLE.md): every source file of
 * config/, stacks/, modules/ and handlers/ has its own test file at the same path under
 * `__tests__/`, named `<file>.test.ts` or `<file>.<aspect>.test.ts` (`rescue.ts` ↔
 * `rescue.batch.test.ts`), and no test file there names a source that no longer exists, so a
 * renamed module cannot leave its tests behind under the old name.
 * @lane unit
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const MIRRORED = ['config', 'stacks', 'modules', 'handlers'];
/** Source files: code, and the shell script the SSM document runs. JSON config files are data the config tests load. */
const SOURCE = /\.(ts|sh)$/;

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    return e.isDirectory() ? filesUnder(rel) : [rel];
  });
}

/** `modules/log-rescue/queue.ts` for `__tests__/modules/log-rescue/queue.test.ts` or `queue.fifo.test.ts`. */
function sourceStemOf(testFile: string): string {
  const rel = testFile.replace(/^__tests__\//, '');
  const base = path.posix.basename(rel).replace(/\.test\.ts$/, '').split('.')[0];
  return path.posix.join(path.posix.dirname(rel), base);
}

const sources = MIRRORED.flatMap(filesUnder).filter((f) => SOURCE.test(f)).sort();
const tests = MIRRORED.flatMap((d) => filesUnder(path.posix.join('__tests__', d))).filter((f) => f.endsWith('.test.ts')).sort();
const stem = (source: string) => source.replace(SOURCE, '');

describe('__tests__ mirrors the source tree', () => {
  it('finds the source tree (a wrong root would pass everything below)', () => {
    expect(sources).toEqual(expect.arrayContaining(['handlers/log-rescue/rescue.ts', 'modules/log-rescue/collect-logs.sh', 'stacks/base-stack.ts', 'config/schema.ts']));
    expect(sources.length).toBeGreaterThan(50);
  });

  it('every source file has a test file at its mirrored path', () => {
    const tested = new Set(tests.map(sourceStemOf));
    const untested = sources.filter((s) => !tested.has(stem(s)));
    expect(untested).toEqual([]);
  });

  it('every test file there names a source file that exists', () => {
    const stems = new Set(sources.map(stem));
    const orphans = tests.filter((t) => !stems.has(sourceStemOf(t)));
    expect(orphans).toEqual([]);
  });

  it('maps test names to sources as the convention says', () => {
    expect(sourceStemOf('__tests__/handlers/log-rescue/rescue.batch.test.ts')).toBe('handlers/log-rescue/rescue');
    expect(sourceStemOf('__tests__/modules/log-rescue/collect-logs.test.ts')).toBe('modules/log-rescue/collect-logs');
    expect(sourceStemOf('__tests__/stacks/log-rescue-stack.plan.test.ts')).toBe('stacks/log-rescue-stack');
  });
});
