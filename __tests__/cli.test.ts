/**
 * The app as users run it: through cdktf's app command, config from LOG_RESCUE_CONFIG.
 *
 * @lane synth
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

function runApp(config: unknown, extraEnv: Record<string, string> = {}, dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-cli-'))) {
  const file = path.join(dir, 'config.json');
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  const outdir = path.join(dir, 'cdktf.out');
  const r = spawnSync(TSX, [path.join(ROOT, 'main.ts')], {
    cwd: dir, encoding: 'utf8',
    env: { ...process.env, LOG_RESCUE_CONFIG: file, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1', ...extraEnv },
  });
  return { ...r, outdir };
}

describe('main.ts', () => {
  it('synthesizes both stacks from a config file', () => {
    const r = runApp({ logRescue: { autoScalingGroups: ['fleet-a'] } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(path.join(r.outdir, 'stacks/log-rescue/cdk.tf.json'))).toBe(true);
    expect(existsSync(path.join(r.outdir, 'stacks/session-logs/cdk.tf.json'))).toBe(true);
  });

  it('exits 1 on a bad config, names every field, and writes nothing', () => {
    const r = runApp({ region: 'eu-nowhere-1', sessionLogs: { logGroup: { retentionDays: 2 } }, logRescue: { autoScalingGroups: ['a'], lifecycleHook: { heartbeatTimeoutSeconds: 10 } } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('(3 problems)');
    expect(r.stderr).toContain('region: got "eu-nowhere-1"');
    expect(r.stderr).toContain('sessionLogs.logGroup.retentionDays: got 2');
    expect(r.stderr).toContain('logRescue.lifecycleHook.heartbeatTimeoutSeconds: got 10; allowed: integer 30..7200');
    expect(existsSync(r.outdir)).toBe(false);
  });

  it('writes cdk.tf for --hcl (SYNTH_HCL_OUTPUT) and never leaves the other format beside it', () => {
    const config = { logRescue: { autoScalingGroups: ['fleet-a'] } };
    const json = runApp(config);
    const dir = path.dirname(json.outdir);
    const stackDir = path.join(json.outdir, 'stacks/log-rescue');
    const hcl = runApp(config, { SYNTH_HCL_OUTPUT: 'true' }, dir);
    expect(hcl.status).toBe(0);
    expect(readFileSync(path.join(stackDir, 'cdk.tf'), 'utf8')).toMatch(/^terraform \{/);
    expect(existsSync(path.join(stackDir, 'cdk.tf.json'))).toBe(false);
    // cdktf's HCL renderer mangles terraform-block attributes, so the version constraint is beside it.
    expect(readFileSync(path.join(stackDir, 'cdk.tf'), 'utf8')).not.toMatch(/required_version|0 = /);
    expect(JSON.parse(readFileSync(path.join(stackDir, 'versions.tf.json'), 'utf8'))).toEqual({ terraform: { required_version: '>= 1.7' } });
    expect(runApp(config, {}, dir).status).toBe(0);
    expect(existsSync(path.join(stackDir, 'cdk.tf.json'))).toBe(true);
    expect(existsSync(path.join(stackDir, 'cdk.tf'))).toBe(false);
    expect(existsSync(path.join(stackDir, 'versions.tf.json'))).toBe(false);
  });

  it('synthesizes where Terraform is not installed: each stack declares the Terraform it needs, which Terraform checks', () => {
    // A PATH holding only node: no terraform to run (cdktf's own version check would run `terraform version`).
    const bin = mkdtempSync(path.join(os.tmpdir(), 'logrescue-no-terraform-'));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = runApp({ logRescue: { autoScalingGroups: ['fleet-a'] } }, { PATH: bin });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const stack of ['log-rescue', 'session-logs']) {
      expect(JSON.parse(readFileSync(path.join(r.outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')).terraform.required_version).toBe('>= 1.7');
    }
    // S3 native locking (use_lockfile) needs Terraform 1.10 ("Upgrading to Terraform v1.10").
    const s3 = runApp({ backend: { type: 's3', bucket: 'acme-tf-state', region: 'us-east-1' }, logRescue: { autoScalingGroups: ['fleet-a'] } }, { PATH: bin });
    expect(s3.status).toBe(0);
    expect(JSON.parse(readFileSync(path.join(s3.outdir, 'stacks/log-rescue/cdk.tf.json'), 'utf8')).terraform.required_version).toBe('>= 1.10');
  });

  it('exits 1 on a file that is not JSON, saying so', () => {
    const r = runApp('{ "region": ');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('not valid JSON');
    expect(existsSync(r.outdir)).toBe(false);
  });
});
