/**
 * `npm run synth` writes what `npx cdktf synth` writes, byte for byte (JSON and --hcl), without
 * the cdktf CLI; it removes stacks the app no longer makes, as the CLI does, and refuses bad
 * arguments.
 * @lane synth
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const ENV = { ...process.env, CHECKPOINT_DISABLE: '1' };

/** Every file under `dir`, relative path -> bytes. */
function tree(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = readFileSync(p);
    }
  };
  walk(dir);
  return out;
}

function npmRunSynth(...args: string[]) {
  return spawnSync('npm', ['run', '--silent', 'synth', '--', ...args], { cwd: ROOT, env: ENV, encoding: 'utf8' });
}

describe('npm run synth', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-npm-synth-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the script package.json runs, loading the app as cdktf.json does', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const cdktf = JSON.parse(readFileSync(path.join(ROOT, 'cdktf.json'), 'utf8'));
    expect(pkg.scripts.synth).toBe('node scripts/synth.cjs');
    expect(cdktf.app).toBe('node --require ./scripts/ts-hook.cjs main.ts');
    expect(readFileSync(path.join(ROOT, 'scripts/synth.cjs'), 'utf8')).toContain("require('./ts-hook.cjs')");
  });

  it.each([[[]], [['--hcl']]] as const)('writes byte-identical stacks to npx cdktf synth %j', (flags) => {
    const ours = path.join(dir, `ours${flags.join('')}`);
    const theirs = path.join(dir, `cli${flags.join('')}`);
    const r = npmRunSynth(...flags, '--output', ours);
    expect([r.status, r.stderr]).toEqual([0, '']);
    execFileSync('npx', ['cdktf', 'synth', ...flags, '--output', theirs], { cwd: ROOT, env: ENV, stdio: 'pipe' });
    const a = tree(ours);
    const b = tree(theirs);
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    expect(Object.keys(a).filter((f) => f.endsWith(flags.length ? 'cdk.tf' : 'cdk.tf.json')).length).toBeGreaterThanOrEqual(2);
    for (const f of Object.keys(a)) expect({ file: f, same: a[f].equals(b[f]) }).toEqual({ file: f, same: true });
  });

  it('removes the directory of a stack the app no longer synthesizes, as the CLI does', () => {
    const out = path.join(dir, 'orphans');
    mkdirSync(path.join(out, 'stacks', 'retired-stack'), { recursive: true });
    writeFileSync(path.join(out, 'stacks', 'retired-stack', 'cdk.tf.json'), '{}');
    expect(npmRunSynth('--output', out).status).toBe(0);
    expect(readdirSync(path.join(out, 'stacks')).sort()).toEqual(['log-rescue', 'session-logs']);
  });

  it('refuses an unknown argument, naming it, and writes nothing', () => {
    const out = path.join(dir, 'refused');
    const r = npmRunSynth('--json', '--output', out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown argument "--json"');
    expect(r.stderr).toContain('usage: npm run synth');
    expect(() => statSync(out)).toThrow();
  });

  it('stops on a bad config with the config error and exit 1, writing nothing', () => {
    const out = path.join(dir, 'bad-config');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ namePrefix: 'Bad Prefix!' }));
    const r = spawnSync('npm', ['run', '--silent', 'synth', '--', '--output', out], { cwd: ROOT, env: { ...ENV, LOG_RESCUE_CONFIG: bad }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/namePrefix/);
    expect(() => statSync(out)).toThrow();
  });
});
