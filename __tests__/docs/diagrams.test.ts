/**
 * The README's Mermaid diagrams parse with mermaid's own parser (what GitHub renders with), and the
 * checker fails on a diagram that does not.
 * @lane unit
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const CHECKER = path.join(ROOT, 'scripts/check-diagrams.mjs');

interface Result { file: string; line: number; type?: string; error?: string }

function check(...files: string[]): { status: number | null; results: Result[]; stderr: string } {
  const r = spawnSync(process.execPath, [CHECKER, ...files], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, results: r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: r.stderr };
}

test('every diagram in the README and docs parses', () => {
  const docs = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  const { status, results, stderr } = check('README.md', ...docs);
  expect(results.filter((r) => r.error)).toEqual([]);
  expect([status, stderr]).toEqual([0, '']);
});

test('the README opens with the architecture and shows one rescue and the not-rescued path', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');
  const lineOf = (heading: string) => readme.indexOf(heading) + 1;
  const { results } = check('README.md');
  const [architecture, rescue, notRescued] = results;
  expect([architecture.type, rescue.type, notRescued.type]).toEqual(['flowchart-v2', 'sequence', 'sequence']);
  // Right after the two commands, before the first section.
  expect(architecture.line).toBeLessThan(lineOf('## What it builds'));
  expect(readme.slice(0, architecture.line).filter((l) => l.startsWith('npm '))).toHaveLength(2);
  // Both sequences are in the log-rescue part of "What it builds".
  for (const d of [rescue, notRescued]) {
    expect(d.line).toBeGreaterThan(readme.findIndex((l) => l.startsWith('**`log-rescue`')));
    expect(d.line).toBeLessThan(readme.findIndex((l) => l.startsWith('**`session-logs`')));
  }
});

describe('the checker', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-diagrams-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('fails on a diagram that does not parse, naming file and line', () => {
    const file = path.join(dir, 'broken.md');
    // A `;` ends a sequence-diagram statement: the text after it is not a statement.
    writeFileSync(file, '# x\n\n```mermaid\nflowchart LR\n  a --> b\n```\n\n```mermaid\nsequenceDiagram\n  Note over A,B: one; two\n```\n');
    const { status, results } = check(file);
    expect(status).toBe(1);
    expect(results.map((r) => [r.line, r.type ?? 'error'])).toEqual([[3, 'flowchart-v2'], [8, 'error']]);
    expect(results[1].error).toMatch(/Parse error/);
  });

  test('fails on a fence that is never closed', () => {
    const file = path.join(dir, 'open.md');
    writeFileSync(file, '```mermaid\nflowchart LR\n  a --> b\n');
    const { status, results } = check(file);
    expect(status).toBe(1);
    expect(results).toEqual([{ file, line: 1, error: 'the ```mermaid fence is never closed' }]);
  });
});
