/**
 * The address contract (README "Terraform addresses"): the stacks synthesize exactly the committed
 * golden lists, every address is a readable name declared with named(), and the app refuses to
 * write a stack that breaks the rule. named()'s own refusals are in
 * __tests__/modules/shared/addresses.test.ts.
 *
 * @lane synth
 */
import { TerraformStack } from 'cdktf';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp, validateApp } from '../app';
import { named, retainIfRemoved } from '../modules/shared/addresses';
import { addressesOf, CONTRACT_MESSAGE, contractConfig, differences, readGolden } from '../scripts/addresses';
import { ADDRESS_CONFIGS } from '../scripts/addresses/configs';
import { synthStacks, testConfig } from './support/synth';

const CONTRACTS = Object.keys(ADDRESS_CONFIGS) as Array<keyof typeof ADDRESS_CONFIGS>;

describe('golden address lists', () => {
  it.each(CONTRACTS)('%s config: the stacks have exactly the committed addresses', (name) => {
    const diff = differences(readGolden(name), addressesOf(contractConfig(name)));
    if (diff.length) throw new Error(`${CONTRACT_MESSAGE} (npm run addresses -- --write):\n  ${diff.join('\n  ')}`);
  });

  it.each(CONTRACTS)('%s config: every address is a readable name, free of hashes', (name) => {
    for (const list of Object.values(readGolden(name))) {
      for (const a of list) expect(a).toMatch(/^(data\.)?[a-z0-9_]+\.[a-z][a-z0-9_]*(\[\*\])?$/);
    }
  });

  it('all-on covers every optional part, each stack', () => {
    const g = readGolden('all-on');
    expect(Object.keys(g).sort()).toEqual(['demo-fleet', 'log-rescue', 'session-logs']);
    expect(g['log-rescue']).toEqual(expect.arrayContaining([
      'aws_autoscaling_lifecycle_hook.web_fleet', 'aws_autoscaling_lifecycle_hook.from_remote_state[*]', 'data.terraform_remote_state.fleet',
      'aws_kms_key.archive', 'aws_s3_bucket_object_lock_configuration.archive', 'aws_sns_topic.alarms',
      'aws_iam_role_policy_attachment.instance_upload_logrescue_dev_session_instance',
    ]));
    expect(g['session-logs']).toEqual(expect.arrayContaining([
      'aws_kms_key.sessions', 'aws_kms_key.archive', 'aws_ssm_document.regional_preferences', 'aws_vpc_endpoint.ssm', 'aws_iam_instance_profile.instance',
    ]));
  });
});

describe('moved and removed blocks', () => {
  it.each(CONTRACTS)('%s config: every move goes from an old hashed address to a golden one, and no removed block names a moved address', (name) => {
    const golden = readGolden(name);
    for (const [stack, json] of Object.entries(synthStacks(contractConfig(name)))) {
      const moved = (json.moved ?? []) as Array<{ from: string; to: string }>;
      const plain = new Set(golden[stack].map((a) => a.replace(/\[\*\]$/, '')));
      for (const m of moved) {
        expect(plain.has(m.to)).toBe(true);
        expect(m.from).toMatch(/_[0-9A-F]{8}$|^aws_ssm_document\.document$/);
      }
      const named = new Set(moved.flatMap((m) => [m.from, m.to]));
      for (const r of json.removed ?? []) expect(named.has(r.from)).toBe(false);
    }
  });

  it('moves the archive bucket from its hashed address', () => {
    const moved = (synthStacks(contractConfig('default'))['log-rescue'].moved ?? []) as Array<{ from: string; to: string }>;
    expect(moved).toContainEqual({ from: 'aws_s3_bucket.archive_bucket_B42367AB', to: 'aws_s3_bucket.archive' });
    expect(moved).toContainEqual({ from: 'aws_autoscaling_lifecycle_hook.hooks_hook-web-fleet_BDDBBC2D', to: 'aws_autoscaling_lifecycle_hook.web_fleet' });
  });
});

describe('the app checks the contract before it writes', () => {
  /** The default app with `spoil` applied to its log-rescue stack, and where it would write. */
  function spoiled(spoil: (stack: TerraformStack) => void) {
    const outdir = path.join(mkdtempSync(path.join(os.tmpdir(), 'logrescue-contract-')), 'out');
    const app = buildApp(testConfig(), { outdir });
    spoil(app.node.findChild('log-rescue') as TerraformStack);
    return { app, outdir };
  }
  it('passes the stacks every config makes', () => {
    expect(() => validateApp(buildApp(testConfig(), { outdir: '/nonexistent' }))).not.toThrow();
  });

  it('refuses a resource without a declared name, naming its construct path and stack, and writes nothing', () => {
    const { app, outdir } = spoiled((s) => { new SqsQueue(s, 'stray', {}); });
    expect(() => validateApp(app)).toThrow(/nothing was written:\n {2}\[log-rescue\] log-rescue\/stray has no readable Terraform address: declare one with named\(\)/);
    // cdktf's App makes the empty outdir/stacks when constructed; no stack directory, no file.
    expect(readdirSync(path.join(outdir, 'stacks'))).toEqual([]);
    rmSync(path.dirname(outdir), { recursive: true, force: true });
  });

  it('refuses a removed block for an address a moved block also names', () => {
    const { app } = spoiled((s) => {
      named(new SqsQueue(s, 'spare', {}), 'spare').moveFromId('aws_sqs_queue.old_spare');
      retainIfRemoved(s, 'aws_sqs_queue', 'old_spare');
    });
    expect(() => validateApp(app)).toThrow('[log-rescue] removed block for aws_sqs_queue.old_spare names an address a moved block names too');
  });
});
