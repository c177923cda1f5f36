/**
 * Real Terraform accepts what we synthesize: init, validate and plan every stack offline against
 * the AWS provider mirror. Fails (never skips) when terraform or the mirror is missing.
 */
import { planOffline, prepareToolchain, startStsStandIn, Toolchain } from '../scripts/offline-terraform';
import { synthToDir, testConfig } from './support/synth';
import { rmSync } from 'node:fs';
import * as path from 'node:path';

let tc: Toolchain;
let sts: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  tc = await prepareToolchain();
  sts = await startStsStandIn();
});
afterAll(async () => { await sts?.close(); });

/** Synthesize `config`, plan each stack, and return the planned resource addresses per stack. */
export async function planAll(overrides: Record<string, unknown>): Promise<Record<string, any>> {
  const { outdir, stacks } = synthToDir(testConfig(overrides));
  const plans: Record<string, any> = {};
  try {
    for (const name of Object.keys(stacks)) {
      const result = await planOffline(path.join(outdir, 'stacks', name), tc, sts.url);
      plans[name] = result.plan;
      result.cleanup();
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  return plans;
}

const creates = (plan: any) => plan.resource_changes.filter((r: any) => r.change.actions.includes('create')).map((r: any) => r.type);

describe('offline terraform init/validate/plan', () => {
  it('plans every stack of the default config', async () => {
    const plans = await planAll({});
    expect(Object.keys(plans).sort()).toEqual(['log-rescue', 'session-logs']);
    for (const plan of Object.values(plans)) {
      expect(creates(plan)).toEqual(expect.arrayContaining(['aws_s3_bucket', 'aws_s3_bucket_policy', 'aws_s3_bucket_public_access_block']));
      expect(plan.resource_changes.every((r: any) => r.change.actions.every((a: string) => a === 'create'))).toBe(true);
    }
  });

  it('plans with SSE-KMS, Object Lock and cloud/s3 backends replaced by the local override', async () => {
    const plans = await planAll({
      backend: { type: 'cloud', organization: 'acme', project: 'platform' },
      logRescue: { archiveBucket: { encryption: 'SSE-KMS', objectLock: { mode: 'GOVERNANCE', days: 30 } } },
    });
    expect(creates(plans['log-rescue'])).toEqual(expect.arrayContaining(['aws_kms_key', 'aws_s3_bucket_object_lock_configuration']));
  });
});
