/**
 * The key under which a jest run shares an offline plan between test files (support/plan.ts): two
 * requests share a plan only when Terraform would read the same input, whatever STS stand-in URL
 * each test file started.
 *
 * @lane unit
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planKey } from './plan';

let root: string;
let tc: { terraform: string; mirror: string; cliConfigFile: string; sharedInitDir: string };

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'plan-key-'));
  const init = path.join(root, 'init');
  mkdirSync(init);
  writeFileSync(path.join(init, '.terraform.lock.hcl'), 'provider "registry.terraform.io/hashicorp/aws" { version = "5.100.0" }\n');
  writeFileSync(path.join(root, 'terraform.tfrc'), 'provider_installation { filesystem_mirror { path = "/opt/tf-plugins" } }\n');
  tc = { terraform: 'terraform', mirror: '/opt/tf-plugins', cliConfigFile: path.join(root, 'terraform.tfrc'), sharedInitDir: init };
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A stack dir holding these files (relative path -> content). */
function stack(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

describe('planKey', () => {
  const files = { 'cdk.tf.json': '{"resource":{}}', 'assets/fn/archive.zip': 'PK\u0003\u0004zip' };

  it('is the same for the same files in another dir, with another STS stand-in URL in them', () => {
    const a = stack('a', { ...files, 'sts_override.tf.json': '{"endpoints":"http://127.0.0.1:40001"}' });
    const b = stack('b', { ...files, 'sts_override.tf.json': '{"endpoints":"http://127.0.0.1:40002"}' });
    expect(planKey(a, tc, 'http://127.0.0.1:40001', {})).toBe(planKey(b, tc, 'http://127.0.0.1:40002', {}));
  });

  it('differs when any file, an asset, the prior state, -refresh, the CLI config or the provider lock differs', () => {
    const base = stack('base', files);
    const key = planKey(base, tc, 'http://x', {});
    expect(planKey(stack('json', { ...files, 'cdk.tf.json': '{"resource":{"a":1}}' }), tc, 'http://x', {})).not.toBe(key);
    expect(planKey(stack('asset', { ...files, 'assets/fn/archive.zip': 'PK\u0003\u0004zap' }), tc, 'http://x', {})).not.toBe(key);
    expect(planKey(stack('extra', { ...files, 'zz_override.tf.json': '{}' }), tc, 'http://x', {})).not.toBe(key);
    expect(planKey(base, tc, 'http://x', { state: { version: 4 } })).not.toBe(key);
    expect(planKey(base, tc, 'http://x', { refresh: false })).not.toBe(key);
    writeFileSync(tc.cliConfigFile, 'provider_installation { direct {} }\n');
    expect(planKey(base, tc, 'http://x', {})).not.toBe(key);
  });
});
