/**
 * An innocent-looking config change must not destroy stored data. These tests plan a config change
 * against a state that holds what the earlier config created (offline, without refresh) and check
 * what Terraform would do to it.
 *
 * @lane plan
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TerraformStack } from 'cdktf';
import { buildApp } from '../app';
import { AppConfig } from '../config/schema';
import { OFFLINE_ACCOUNT_ID, prepareToolchain, startStsStandIn, Toolchain } from '../scripts/offline-terraform';
import { sharedPlan } from './support/plan';
import { synthStacks, synthToDir, testConfig } from './support/synth';

let tc: Toolchain;
let sts: { url: string; close: () => Promise<void> };
beforeAll(async () => { tc = await prepareToolchain(); sts = await startStsStandIn(); });
afterAll(async () => { await sts?.close(); });

const PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]';

/** A state holding these resources, with the few attributes a no-refresh plan reads. */
function stateWith(resources: Array<{ type: string; name: string; attributes: Record<string, unknown> }>) {
  return {
    version: 4, terraform_version: '1.11.4', serial: 3, lineage: '7b1e4c9e-3c2a-4d5e-9f10-2a3b4c5d6e7f', outputs: {},
    resources: resources.map((r) => ({ mode: 'managed', type: r.type, name: r.name, provider: PROVIDER, instances: [{ schema_version: 0, attributes: r.attributes, sensitive_attributes: [] }] })),
    check_results: null,
  };
}

/** Addresses and their resources in the synthesized stack, by construct path suffix. */
function logicalName(config: AppConfig, stack: string, type: string, pathSuffix: string): string {
  const json = synthStacks(config)[stack];
  const entry = Object.entries(json.resource?.[type] ?? {}).find(([, r]: [string, any]) => String(r['//'].metadata.path).endsWith(pathSuffix));
  if (!entry) throw new Error(`no ${type} at ${pathSuffix}`);
  return entry[0];
}

async function planStack(config: AppConfig, stack: string, state: object): Promise<any> {
  const { outdir } = synthToDir(config);
  try {
    return await sharedPlan(path.join(outdir, 'stacks', stack), tc, sts.url, { state, refresh: false });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const keyAttributes = { id: KEY_ID, arn: `arn:aws:kms:us-east-1:${OFFLINE_ACCOUNT_ID}:key/${KEY_ID}`, key_id: KEY_ID, deletion_window_in_days: 30, enable_key_rotation: true, is_enabled: true, key_usage: 'ENCRYPT_DECRYPT', customer_master_key_spec: 'SYMMETRIC_DEFAULT', multi_region: false, bypass_policy_lockout_safety_check: false, tags: {}, tags_all: {} };

describe('data safety across config changes', () => {
  it('switching the archive from a created KMS key to SSE-S3 forgets the key instead of deleting it', async () => {
    const before = testConfig({ logRescue: { archiveBucket: { encryption: 'SSE-KMS' } } });
    const keyName = logicalName(before, 'log-rescue', 'aws_kms_key', 'archive/key');
    const plan = await planStack(testConfig(), 'log-rescue', stateWith([{ type: 'aws_kms_key', name: keyName, attributes: keyAttributes }]));
    const key = plan.resource_changes.find((r: any) => r.address === `aws_kms_key.${keyName}`);
    expect(key.change.actions).toEqual(['forget']);
    expect(plan.resource_changes.filter((r: any) => r.change.actions.includes('delete'))).toEqual([]);
  });

  it('switching to an existing bucket forgets the bucket this stack created and its protections', async () => {
    const before = testConfig();
    const bucketName = logicalName(before, 'log-rescue', 'aws_s3_bucket', 'archive/bucket');
    const pabName = logicalName(before, 'log-rescue', 'aws_s3_bucket_public_access_block', 'archive/public-access-block');
    const bucketAttrs = { id: 'logrescue-dev-rescue-2026', bucket: 'logrescue-dev-rescue-2026', arn: 'arn:aws:s3:::logrescue-dev-rescue-2026', force_destroy: false, object_lock_enabled: false, tags: {}, tags_all: {} };
    const plan = await planStack(testConfig({ logRescue: { archiveBucket: { existingBucketName: 'acme-central-logs' } } }), 'log-rescue', stateWith([
      { type: 'aws_s3_bucket', name: bucketName, attributes: bucketAttrs },
      { type: 'aws_s3_bucket_public_access_block', name: pabName, attributes: { id: bucketAttrs.id, bucket: bucketAttrs.id, block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true } },
    ]));
    const actions = Object.fromEntries(plan.resource_changes.filter((r: any) => /^aws_s3_bucket/.test(r.type)).map((r: any) => [r.address, r.change.actions]));
    expect(actions).toEqual({ [`aws_s3_bucket.${bucketName}`]: ['forget'], [`aws_s3_bucket_public_access_block.${pabName}`]: ['forget'] });
  });

  it('without the removed blocks the same change would delete the key (the test can fail)', async () => {
    const before = testConfig({ logRescue: { archiveBucket: { encryption: 'SSE-KMS' } } });
    const keyName = logicalName(before, 'log-rescue', 'aws_kms_key', 'archive/key');
    // The same stack with its removed blocks emptied.
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'logrescue-noremoved-'));
    const stripped = buildApp(testConfig(), { outdir: tmp });
    (stripped.node.findChild('log-rescue') as TerraformStack).addOverride('removed', []);
    stripped.synth();
    try {
      const plan = await sharedPlan(path.join(tmp, 'stacks', 'log-rescue'), tc, sts.url, { state: stateWith([{ type: 'aws_kms_key', name: keyName, attributes: keyAttributes }]), refresh: false });
      expect(plan.resource_changes.find((c: any) => c.address === `aws_kms_key.${keyName}`).change.actions).toEqual(['delete']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
