/**
 * The pull-request plan summary: on real offline plans (the log-rescue stack as created; a
 * session-logs change planned against the state of what the stack created; a small configuration
 * that makes Terraform plan every action list), and on hand-written plan JSON for what Terraform
 * cannot plan offline (imports, which read the real resource; ["create","forget"], which needs a
 * resource-level `destroy = false` that Terraform 1.11 does not have) and for IAM statement diffs.
 *
 * @lane plan
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppConfig } from '../../config/schema';
import { OFFLINE_ACCOUNT_ID, prepareToolchain, startStsStandIn, Toolchain } from '../../scripts/offline-terraform';
import { sharedPlan } from '../support/plan';
import {
  COMMENT_MARKER, countsLine, DATA_LOSS_TYPES, main, renderMarkdown, SESSION_PREFERENCES_WHY, stackNameFromPath, summarizePlan,
} from '../../scripts/plan-summary';
import { synthToDir, testConfig } from '../support/synth';

const FIXTURES = path.join(__dirname, 'fixtures');
const fixture = (name: string) => path.join(FIXTURES, name);
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** Run the CLI in-process with the real file system, capturing what it prints. */
function run(...argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(argv, {
    readFile: (file) => readFileSync(file, 'utf8'),
    stdout: (t) => { out += t; },
    stderr: (t) => { err += t; },
  });
  return { code, out, err };
}

/** The headings of the IAM section. */
const iamHeadings = (md: string) => md.slice(md.indexOf('### IAM policy changes')).split('\n').filter((l) => l.startsWith('**`'));

/** The lines of one `## Stack` section. */
function stackSection(md: string, stack: string): string {
  const start = md.indexOf(`## Stack \`${stack}\``);
  if (start < 0) throw new Error(`no section for stack ${stack} in:\n${md}`);
  const next = md.indexOf('\n## ', start + 1);
  return md.slice(start, next < 0 ? undefined : next);
}

describe('plan summary of a real offline plan of the log-rescue stack', () => {
  let plan: any;
  let dir: string;
  let planFile: string;
  /** Where the planned stack was synthesized, and a synth of another config (different resources). */
  let synthDir: string;
  let otherSynthDir: string;

  beforeAll(async () => {
    const tc = await prepareToolchain();
    const sts = await startStsStandIn();
    // Object Lock on a bucket this plan creates is not "switched on" for existing data.
    synthDir = synthToDir(testConfig({ logRescue: { archiveBucket: { objectLock: { mode: 'GOVERNANCE', days: 30 } } } })).outdir;
    otherSynthDir = synthToDir(testConfig()).outdir;
    try {
      plan = await sharedPlan(path.join(synthDir, 'stacks', 'log-rescue'), tc, sts.url);
    } finally {
      await sts.close();
    }
    dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-plan-summary-'));
    planFile = path.join(dir, 'log-rescue.plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
  });
  afterAll(() => {
    for (const d of [dir, synthDir, otherSynthDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('opens with one verdict line for the stack, and folds the plain creates', () => {
    const { out } = run(planFile, '--synth-dir', synthDir);
    const lines = out.split('\n');
    const statements = summarizePlan(plan, 'log-rescue', { configuration: readJson(path.join(synthDir, 'stacks/log-rescue/cdk.tf.json')) })
      .policies.reduce((n, p) => n + p.added.length, 0);
    expect(statements).toBeGreaterThan(5);
    expect(lines.slice(0, 4)).toEqual([COMMENT_MARKER, '# Terraform plan summary', '',
      `- \`log-rescue\`: ${plan.resource_changes.length} to add, nothing destroyed, ${statements} IAM statements added`]);
    const section = stackSection(out, 'log-rescue');
    expect(section).toContain(`<details>\n<summary>${plan.resource_changes.length} to add (new resources, nothing changed or destroyed)</summary>\n\n| Address |`);
    // Nothing but creates: no open table before the fold.
    expect(section.indexOf('| Address |')).toBeGreaterThan(section.indexOf('<details>'));
  });

  it('shows a policy known only after apply as planned, with placeholders for what apply decides', () => {
    // Policy documents of their own; the bucket's and queues' computed `policy` are not set here.
    const unknown = plan.resource_changes
      .filter((r: any) => ['aws_s3_bucket_policy', 'aws_iam_policy', 'aws_iam_role_policy', 'aws_sqs_queue_policy'].includes(r.type) && r.change.after_unknown?.policy === true)
      .map((r: any) => r.address);
    expect(unknown).toContain('aws_s3_bucket_policy.archive');
    // An output holding a policy's ARN is not a policy.
    expect(iamHeadings(run(planFile, '--synth-dir', synthDir).out)).not.toContain('**`output.instance_policy_arn`** `value` (create)');
    const { out } = run(planFile, '--synth-dir', synthDir);
    const iam = out.slice(out.indexOf('### IAM policy changes'));
    for (const address of unknown) {
      const body = iam.slice(iam.indexOf(`**\`${address}\`** \`policy\` (create)`)).split('\n\n')[1];
      expect(body).toMatch(/^- After: _as planned; values in `<angle brackets>` are known after apply_\n- \*\*Added\*\* \(\d+\):/);
    }
    const bucket = iam.slice(iam.indexOf('**`aws_s3_bucket_policy.archive`**')).split('\n\n')[1];
    // The TLS-only deny, on the bucket and its objects, which apply names.
    expect(bucket).toContain('**Deny** `s3:*` on `<aws_s3_bucket.archive arn>`, `<aws_s3_bucket.archive arn>/*`');
    expect(bucket).toContain('Condition: `Bool` `aws:SecureTransport` = `false`');
  });

  it('ignores a synthesized configuration the plan was not made from, and says so', () => {
    const { out } = run(planFile, '--synth-dir', otherSynthDir);
    expect(out).toContain('_Note: the synthesized configuration does not declare the resources this plan was made from, so policies known only after apply are not shown._');
    expect(out).toContain('- After: _known after apply_');
    expect(out).not.toContain('as planned');
  });

  it('counts every planned resource as a create, lists them by address, and exits 0', () => {
    const total = plan.resource_changes.length;
    expect(total).toBeGreaterThan(0);

    const { code, out, err } = run(planFile);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.startsWith(`${COMMENT_MARKER}\n`)).toBe(true);
    expect(out).toContain(`## Stack \`log-rescue\`\n\n**Plan:** ${total} create · 0 update · 0 replace · 0 delete · 0 no-op\n`);
    expect(out).not.toContain('Data loss');

    const summary = summarizePlan(plan, 'log-rescue');
    expect(Object.values(summary.counts).reduce((a, b) => a + b, 0)).toBe(total);
    expect(summary.dataLoss).toEqual([]);

    const rows = out.split('\n').filter((l) => /^\| `/.test(l));
    const addresses = plan.resource_changes.map((r: any) => r.address as string).sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0));
    expect(rows).toEqual(addresses.map((a: string) => `| \`${a}\` | create | — | — |`));
  });

  it('shows every policy-bearing resource in the IAM section, known or not at plan time', () => {
    const { out } = run(planFile);
    const policyResources = plan.resource_changes.filter((r: any) => ['aws_s3_bucket_policy', 'aws_iam_policy', 'aws_iam_role_policy', 'aws_kms_key'].includes(r.type));
    expect(policyResources.length).toBeGreaterThan(0);
    const iam = out.slice(out.indexOf('### IAM policy changes'));
    for (const r of policyResources) {
      const unknown = r.change.after_unknown?.policy === true;
      const heading = `**\`${r.address}\`** \`policy\` (create)`;
      expect(iam).toContain(heading);
      const body = iam.slice(iam.indexOf(heading)).split('\n\n')[1];
      expect(body).toMatch(unknown ? /^- After: _known after apply_/ : /^- \*\*Added\*\* \(\d+\):/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Real offline plans of a config change against a prior state

const PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

/** A terraform.tfstate (v4) holding these resources. */
function stateOf(resources: Array<{ type: string; name: string; attributes: Record<string, unknown> }>): object {
  return {
    version: 4, terraform_version: '1.11.4', serial: 1, lineage: '5d0c2f4e-8a1b-4c3d-9e2f-1a2b3c4d5e6f', outputs: {}, check_results: null,
    resources: resources.map((r) => ({ mode: 'managed', type: r.type, name: r.name, provider: PROVIDER, instances: [{ schema_version: 0, attributes: r.attributes, sensitive_attributes: [] }] })),
  };
}

/**
 * The values an apply of `plan` (a plan from an empty state) would leave for resources of `types`:
 * each planned `after`, with the few computed attributes the stack refers to (ids, ARNs, bucket
 * names) filled in as AWS would; other computed values stay null until `mergeUpdates`.
 */
function stateFromCreatePlan(plan: any, types: readonly string[]): Array<{ type: string; name: string; attributes: Record<string, any> }> {
  const out: Array<{ type: string; name: string; attributes: Record<string, any> }> = [];
  // Each bucket gets the name AWS would give its prefix; the resources configured with
  // `bucket = aws_s3_bucket.X.id` get that bucket's name.
  const bucketNames = new Map<string, string>(plan.resource_changes.filter((r: any) => r.type === 'aws_s3_bucket')
    .map((r: any, i: number) => [r.address, r.change.after.bucket ?? `${r.change.after.bucket_prefix}2026010100000000000000000${i + 1}`]));
  const configured = new Map<string, any>(plan.configuration.root_module.resources.map((r: any) => [r.address, r.expressions]));
  const bucketFor = (rc: any): string => {
    if (rc.type === 'aws_s3_bucket') return bucketNames.get(rc.address)!;
    const ref = (configured.get(rc.address)?.bucket?.references ?? []).find((x: string) => bucketNames.has(x.replace(/\.id$/, '')));
    if (!ref) throw new Error(`${rc.address}: no bucket reference in its configuration`);
    return bucketNames.get(ref.replace(/\.id$/, ''))!;
  };
  const keyArn = `arn:aws:kms:us-east-1:${OFFLINE_ACCOUNT_ID}:key/${KEY_ID}`;
  for (const rc of plan.resource_changes) {
    if (rc.mode !== 'managed' || !types.includes(rc.type)) continue;
    const a: Record<string, any> = { ...rc.change.after };
    const unknown = rc.change.after_unknown ?? {};
    const fill = (k: string, v: unknown) => { if (unknown[k] === true) a[k] = v; };
    switch (rc.type) {
      case 'aws_s3_bucket': { const b = bucketFor(rc); fill('id', b); fill('bucket', b); fill('arn', `arn:aws:s3:::${b}`); fill('object_lock_enabled', false); break; }
      case 'aws_kms_key': fill('id', KEY_ID); fill('key_id', KEY_ID); fill('arn', keyArn); fill('multi_region', false); fill('rotation_period_in_days', 365); break;
      case 'aws_cloudwatch_log_group': fill('id', a.name); fill('arn', `arn:aws:logs:us-east-1:${OFFLINE_ACCOUNT_ID}:log-group:${a.name}`); fill('kms_key_id', keyArn); fill('log_group_class', 'STANDARD'); break;
      default: { const b = bucketFor(rc); fill('id', b); fill('bucket', b); fill('expected_bucket_owner', ''); break; }
    }
    for (const [k, v] of Object.entries(unknown)) if (v === true && a[k] === undefined) a[k] = null;
    out.push({ type: rc.type, name: rc.name, attributes: a });
  }
  return out;
}

/** Take the known planned values of in-place updates into the state (what an apply would write). */
function mergeUpdates(resources: Array<{ type: string; name: string; attributes: Record<string, any> }>, plan: any): void {
  for (const r of resources) {
    const rc = plan.resource_changes.find((c: any) => c.type === r.type && c.name === r.name);
    if (!rc) continue;
    if (rc.change.actions.join() !== 'update' && rc.change.actions.join() !== 'no-op') {
      throw new Error(`${rc.address} would be ${rc.change.actions.join()} against the built state; the state is not what the stack creates`);
    }
    for (const [k, v] of Object.entries(rc.change.after ?? {})) if (rc.change.after_unknown?.[k] !== true) r.attributes[k] = v;
  }
}

/** The stack's synthesized JSON dir, edited by `edit`, planned against `state` without refresh. */
async function planChange(tc: Toolchain, stsUrl: string, config: AppConfig, state: object | undefined, edit?: (json: any) => void): Promise<any> {
  const { outdir } = synthToDir(config);
  try {
    const dir = path.join(outdir, 'stacks', 'session-logs');
    if (edit) {
      const file = path.join(dir, 'cdk.tf.json');
      const json = JSON.parse(readFileSync(file, 'utf8'));
      edit(json);
      writeFileSync(file, JSON.stringify(json, null, 2));
    }
    return await sharedPlan(dir, tc, stsUrl, state ? { state, refresh: false } : {});
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The synthesized resource of a type whose construct path ends with `suffix` (e.g. `archive/policy`). */
const at = (json: any, type: string, suffix: string): any => {
  const found = Object.values<any>(json.resource?.[type] ?? {}).filter((r) => String(r['//']?.metadata?.path ?? '').endsWith(`/${suffix}`));
  if (found.length !== 1) throw new Error(`expected one ${type} at */${suffix}, found ${found.length}`);
  return found[0];
};

/** Lines of the data-loss section, by the address they name. */
function lossLines(md: string, address: string): string[] {
  return md.split('\n').filter((l) => l.startsWith(`- ⚠️ `) && l.includes(`\`${address}\``));
}

describe('data loss in a real offline plan of a session-logs change, against the state of what the stack created', () => {
  /** What was deployed: a created log-group key, 30 days in CloudWatch, the archive defaults. */
  const deployed = testConfig({ logRescue: { enabled: false }, sessionLogs: { logGroup: { kms: 'create', retentionDays: 30 } } });
  const KEPT = ['aws_s3_bucket', 'aws_s3_bucket_versioning', 'aws_s3_bucket_lifecycle_configuration', 'aws_s3_bucket_policy', 'aws_cloudwatch_log_group', 'aws_kms_key'];
  let tc: Toolchain;
  let sts: { url: string; close: () => Promise<void> };
  let dir: string;
  const files: Record<string, string> = {};
  const plans: Record<string, any> = {};
  const addr: Record<string, string> = {};

  beforeAll(async () => {
    tc = await prepareToolchain();
    sts = await startStsStandIn();
    try {
      // 1. The state an apply of `deployed` leaves: its create plan's values, then one more plan
      //    against that state for what is computed from other resources (the bucket policy).
      const created = await planChange(tc, sts.url, deployed, undefined);
      const resources = stateFromCreatePlan(created, KEPT);
      mergeUpdates(resources, await planChange(tc, sts.url, deployed, stateOf(resources)));
      const state = stateOf(resources);
      // The archive's resources, the session log group and its key (other buckets may come and go).
      for (const r of resources) {
        if (r.type === 'aws_cloudwatch_log_group') addr[`${r.type}:${r.attributes.name}`] = `${r.type}.${r.name}`;
        else if (/^(archive|sessions)$/.test(r.name)) addr[r.type] = `${r.type}.${r.name}`;
      }
      const attrs = (type: string) => resources.find((r) => `${r.type}.${r.name}` === addr[type])!.attributes;

      // 2. The changes, each planned against that state.
      const [lossy, keyDeleted, safe] = await Promise.all([
        // Config changes that lose data, and module edits no config can make.
        planChange(tc, sts.url, testConfig({ logRescue: { enabled: false }, sessionLogs: {
          logGroup: { kms: 'create', retentionDays: 7 },
          archiveBucket: { lifecycle: { expirationDays: 90, noncurrentVersionExpirationDays: 7, storageClass: 'GLACIER' }, objectLock: { mode: 'GOVERNANCE', days: 30 } },
        } }), state, (json) => {
          at(json, 'aws_s3_bucket_versioning', 'archive/versioning').versioning_configuration.status = 'Suspended';
          const key = at(json, 'aws_kms_key', 'log-group/key');
          key.is_enabled = false;
          const keyPolicy = JSON.parse(attrs('aws_kms_key').policy);
          keyPolicy.Statement = keyPolicy.Statement.filter((s: any) => s.Sid !== 'CloudWatchLogsUsesKeyForThisGroupOnly');
          key.policy = JSON.stringify(keyPolicy);
          const bucketPolicy = JSON.parse(attrs('aws_s3_bucket_policy').policy);
          bucketPolicy.Statement.push({ Sid: 'FreezeArchive', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `${attrs('aws_s3_bucket').arn}/*` });
          at(json, 'aws_s3_bucket_policy', 'archive/policy').policy = JSON.stringify(bucketPolicy);
        }),
        // The key taken out of the configuration without its `removed` block: Terraform deletes it.
        planChange(tc, sts.url, testConfig({ logRescue: { enabled: false }, sessionLogs: { logGroup: { kms: 'none', retentionDays: 30 } } }), state, (json) => {
          json.removed = (json.removed ?? []).filter((r: any) => !String(r.from).startsWith('aws_kms_key.'));
        }),
        // Changes that keep every byte: longer retention and expiry, a later transition, the key forgotten.
        planChange(tc, sts.url, testConfig({ logRescue: { enabled: false }, sessionLogs: {
          logGroup: { kms: 'none', retentionDays: 60 },
          archiveBucket: { lifecycle: { transitionDays: 60, expirationDays: 730, noncurrentVersionExpirationDays: 60 } },
        } }), state),
      ]);
      Object.assign(plans, { lossy, keyDeleted, safe });
      dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-plan-summary-'));
      for (const [name, plan] of Object.entries(plans)) {
        files[name] = path.join(dir, `${name}.plan.json`);
        writeFileSync(files[name], JSON.stringify(plan));
      }
    } finally {
      await sts.close();
    }
  }, 300_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const actionsOf = (plan: any, address: string) => plan.resource_changes.find((r: any) => r.address === address)?.change.actions;

  it('Terraform plans the lossy changes as in-place updates, not replacements', () => {
    for (const type of ['aws_s3_bucket_versioning', 'aws_s3_bucket_lifecycle_configuration', 'aws_s3_bucket_policy', 'aws_kms_key']) {
      expect([type, actionsOf(plans.lossy, addr[type])]).toEqual([type, ['update']]);
    }
    expect(actionsOf(plans.lossy, addr['aws_cloudwatch_log_group:/aws/ssm/session-logs'])).toEqual(['update']);
    expect(plans.lossy.resource_changes.filter((r: any) => r.change.actions.includes('delete')).map((r: any) => r.address)).toEqual([]);
  });

  it('exits 2 and names every update that loses data, with what and why', () => {
    const { code, out, err } = run(files.lossy);
    expect(code).toBe(2);
    expect(err).toMatch(/plan-summary: \d+ change\(s\) lose data; rerun with --allow-destroy/);
    expect(out).toContain('An update can lose data too');
    const group = addr['aws_cloudwatch_log_group:/aws/ssm/session-logs'];
    expect(lossLines(out, group)).toEqual([`- ⚠️ **update** \`${group}\` in stack \`lossy\`: ` +
      'retention_in_days 30 → 7: CloudWatch Logs deletes every event older than 7 days (kept 30 days until now).']);
  });

  it('flags a shorter lifecycle expiration, shorter noncurrent expiry and a transition to a class Athena skips', () => {
    const lines = lossLines(run(files.lossy).out, addr.aws_s3_bucket_lifecycle_configuration).map((l) => l.replace(/^.*?in stack `lossy`: /, ''));
    expect(lines).toEqual([
      'rule "archive-tiers": objects expire after 90 days (before: 365 days); S3 deletes older objects.',
      'rule "archive-tiers": replaced and deleted versions are removed after 7 days (before: 30 days); older versions are lost for good.',
      'rule "archive-tiers": objects move to GLACIER after 30 days (before: never); Athena skips GLACIER and DEEP_ARCHIVE objects, ' +
        'so queries silently miss them until each is restored.',
    ]);
  });

  it('flags versioning suspended', () => {
    expect(lossLines(run(files.lossy).out, addr.aws_s3_bucket_versioning)).toEqual([`- ⚠️ **update** \`${addr.aws_s3_bucket_versioning}\` in stack \`lossy\`: ` +
      'versioning Enabled → Suspended: from then on an overwrite or a delete removes the only copy of an object (versions kept so far stay).']);
  });

  it('flags a key disabled and a key policy that no longer lets CloudWatch Logs encrypt', () => {
    const lines = lossLines(run(files.lossy).out, addr.aws_kms_key).map((l) => l.replace(/^.*?in stack `lossy`: /, ''));
    expect(lines).toEqual([
      'key disabled (is_enabled = false): nothing encrypted with it (objects, log events) can be decrypted, and writers that encrypt with it fail, until it is enabled again.',
      'policy no longer allows `Service logs.us-east-1.amazonaws.com` kms:GenerateDataKey, kms:Encrypt (the old policy did); writes that need it fail.',
    ]);
  });

  it('flags a bucket policy Deny that shuts out every writer', () => {
    expect(lossLines(run(files.lossy).out, addr.aws_s3_bucket_policy)).toEqual([`- ⚠️ **update** \`${addr.aws_s3_bucket_policy}\` in stack \`lossy\`: ` +
      'new Deny without a Condition (FreezeArchive) stops everyone from s3:PutObject; writes fail.']);
  });

  it('flags Object Lock switched on for the existing archive as irreversible', () => {
    const lock = plans.lossy.resource_changes.find((r: any) => r.address === 'aws_s3_bucket_object_lock_configuration.archive');
    expect(lock.change.actions).toEqual(['create']);
    expect(lossLines(run(files.lossy).out, lock.address)).toEqual([`- ⚠️ **create** \`${lock.address}\` in stack \`lossy\`: ` +
      `Object Lock switched on for the existing bucket "${JSON.parse(JSON.stringify(lock.change.after.bucket))}": irreversible, S3 never lets it be switched off ` +
      'or versioning be suspended again; every new object version is locked (GOVERNANCE, 30 days).']);
  });

  it('--allow-destroy accepts the same plan with exit 0', () => {
    expect(run('--allow-destroy', files.lossy)).toMatchObject({ code: 0, err: '', out: expect.stringContaining('_Accepted with `--allow-destroy`') });
  });

  it('a key removed from the configuration is scheduled for deletion: data loss with its window', () => {
    const key = addr.aws_kms_key;
    expect(actionsOf(plans.keyDeleted, key)).toEqual(['delete']);
    const { code, out } = run(files.keyDeleted);
    expect(code).toBe(2);
    expect(lossLines(out, key)).toEqual([`- ⚠️ **delete** \`${key}\` in stack \`keyDeleted\`: ${DATA_LOSS_TYPES.aws_kms_key}; ` +
      'deletion is scheduled 30 days out (deletion_window_in_days), and cannot be undone once that window ends.']);
  });

  it('longer retention and expiry, a later transition and a forgotten key are not data loss; the key is listed as forgotten', () => {
    expect(actionsOf(plans.safe, addr.aws_kms_key)).toEqual(['forget']);
    expect(actionsOf(plans.safe, addr.aws_s3_bucket_lifecycle_configuration)).toEqual(['update']);
    expect(actionsOf(plans.safe, addr['aws_cloudwatch_log_group:/aws/ssm/session-logs'])).toEqual(['update']);
    const { code, out, err } = run(files.safe);
    expect([code, err]).toEqual([0, '']);
    expect(out).not.toContain('Data loss');
    expect(out).toContain('## Forgotten, not deleted');
    expect(out).toContain(`- **forget** \`${addr.aws_kms_key}\` in stack \`safe\`: forgotten; it keeps its data (KMS key).`);
    expect(countsLine(summarizePlan(plans.safe, 'safe').counts)).toMatch(/ · 1 forget$/);
  });
});

describe('every action list Terraform 1.11 plans, from a real offline plan', () => {
  const names = { group: '/logrescue/test/kept', prefs: 'SSM-SessionManagerRunShell' };
  const arn = (name: string) => `arn:aws:logs:us-east-1:${OFFLINE_ACCOUNT_ID}:log-group:${name}`;
  const group = (name: string, retention: number) => ({ id: name, name, arn: arn(name), retention_in_days: retention, log_group_class: 'STANDARD', skip_destroy: false, kms_key_id: '', name_prefix: '', tags: {}, tags_all: {} });
  const prefsContent = JSON.stringify({ schemaVersion: '1.0', description: 'Session preferences', sessionType: 'Standard_Stream', inputs: { cloudWatchLogGroupName: names.group, cloudWatchStreamingEnabled: true } });
  let plan: any;
  let file: string;
  let dir: string;

  beforeAll(async () => {
    const tc = await prepareToolchain();
    const sts = await startStsStandIn();
    dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-plan-summary-actions-'));
    const stackDir = path.join(dir, 'stack');
    mkdirSync(stackDir);
    const config = {
      terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
      provider: { aws: [{ region: 'us-east-1' }] },
      resource: {
        aws_cloudwatch_log_group: {
          same: { name: '/logrescue/test/same', retention_in_days: 3 },
          longer: { name: '/logrescue/test/longer', retention_in_days: 30 },
          renamed: { name: '/logrescue/test/renamed-new', retention_in_days: 3, lifecycle: { create_before_destroy: true } },
          added: { name: '/logrescue/test/added', retention_in_days: 3 },
        },
        // The account's preferences written under a custom name: the name forces a new document.
        aws_ssm_document: { prefs: { name: 'logrescue-dev-session-preferences', document_type: 'Session', document_format: 'JSON', content: prefsContent } },
      },
      // Known only after apply, so read then.
      data: { aws_iam_policy_document: { read_later: { statement: [{ actions: ['logs:PutLogEvents'], resources: ['${aws_cloudwatch_log_group.added.arn}'] }] } } },
      removed: [{ from: 'aws_cloudwatch_log_group.kept', lifecycle: { destroy: false } }],
    };
    writeFileSync(path.join(stackDir, 'main.tf.json'), JSON.stringify(config));
    const state = stateOf([
      { type: 'aws_cloudwatch_log_group', name: 'same', attributes: group('/logrescue/test/same', 3) },
      { type: 'aws_cloudwatch_log_group', name: 'longer', attributes: group('/logrescue/test/longer', 7) },
      { type: 'aws_cloudwatch_log_group', name: 'renamed', attributes: group('/logrescue/test/renamed-old', 3) },
      { type: 'aws_cloudwatch_log_group', name: 'kept', attributes: group(names.group, 3) },
      { type: 'aws_ssm_parameter', name: 'gone', attributes: { id: '/logrescue/test/gone', name: '/logrescue/test/gone', arn: `arn:aws:ssm:us-east-1:${OFFLINE_ACCOUNT_ID}:parameter/logrescue/test/gone`, type: 'String', value: 'x', tier: 'Standard', data_type: 'text', overwrite: null, tags: {}, tags_all: {} } },
      { type: 'aws_ssm_document', name: 'prefs', attributes: { id: names.prefs, name: names.prefs, arn: `arn:aws:ssm:us-east-1:${OFFLINE_ACCOUNT_ID}:document/${names.prefs}`, document_type: 'Session', document_format: 'JSON', content: prefsContent, target_type: '', version_name: '', permissions: null, attachments_source: [], tags: {}, tags_all: {} } },
    ]);
    try {
      plan = await sharedPlan(stackDir, tc, sts.url, { state, refresh: false });
    } finally {
      await sts.close();
    }
    file = path.join(dir, 'actions.plan.json');
    writeFileSync(file, JSON.stringify(plan));
  }, 120_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('Terraform plans no-op, create, read, update, both replaces, delete and forget', () => {
    const actions = Object.fromEntries(plan.resource_changes.map((r: any) => [r.address, r.change.actions.join(',')]));
    expect(actions).toEqual({
      'aws_cloudwatch_log_group.same': 'no-op',
      'aws_cloudwatch_log_group.added': 'create',
      'data.aws_iam_policy_document.read_later': 'read',
      'aws_cloudwatch_log_group.longer': 'update',
      'aws_ssm_document.prefs': 'delete,create',
      'aws_cloudwatch_log_group.renamed': 'create,delete',
      'aws_ssm_parameter.gone': 'delete',
      'aws_cloudwatch_log_group.kept': 'forget',
    });
  });

  it('summarizes them all without throwing, counting read and forget', () => {
    const { out } = run(file);
    expect(out).toContain('**Plan:** 1 create · 1 update · 2 replace · 1 delete · 1 no-op · 1 read · 1 forget\n');
    expect(out).toMatch(/^\| `aws_cloudwatch_log_group\.renamed` \| \*\*replace\*\* \| `name` \(forces replacement\).* \| create before destroy; an argument forces replacement \|$/m);
    expect(out).toContain('| `data.aws_iam_policy_document.read_later` | read | — | configuration known only after apply |\n');
    expect(out).toContain('| `aws_cloudwatch_log_group.kept` | forget | — | removed from configuration |\n');
    // A longer retention is not data loss.
    expect(lossLines(out, 'aws_cloudwatch_log_group.longer')).toEqual([]);
  });

  it('replacing the account\'s SSM-SessionManagerRunShell document is data loss', () => {
    const { code, out } = run(file);
    expect(code).toBe(2);
    expect(lossLines(out, 'aws_ssm_document.prefs')).toEqual(['- ⚠️ **replace** `aws_ssm_document.prefs` in stack `actions`: ' +
      `${SESSION_PREFERENCES_WHY}.`]);
    // The other replace is a log group: data loss too, the new group starts empty.
    expect(lossLines(out, 'aws_cloudwatch_log_group.renamed')).toHaveLength(1);
  });

  it('a forgotten log group is listed, not counted as data loss', () => {
    const { out } = run(file);
    expect(lossLines(out, 'aws_cloudwatch_log_group.kept')).toEqual([]);
    expect(out).toContain('- **forget** `aws_cloudwatch_log_group.kept` in stack `actions`: forgotten; it keeps its data (CloudWatch log group).');
  });
});

describe('plan summary of hand-written plans', () => {
  it('shows an IAM policy update as added and removed statements, ignoring layout-only differences', () => {
    const { code, out } = run(fixture('iam-update.plan.json'));
    expect(code).toBe(0);
    const s = stackSection(out, 'iam-update');
    expect(s).toContain('**Plan:** 2 create · 4 update · 0 replace · 0 delete · 1 no-op\n');
    expect(s).toContain('| `aws_iam_policy.handler_policy_1A2B3C4D` | update | `policy` | — |\n');
    expect(s).toContain('| `aws_cloudwatch_log_group.handler_logs_3A4B5C6D` | update | `retention_in_days`, `tags`, `tags_all` | — |\n');
    expect(s).toContain([
      '**`aws_iam_policy.handler_policy_1A2B3C4D`** `policy` (update)',
      '',
      '- **Added** (1):',
      '  - **Allow** `autoscaling:CompleteLifecycleAction` on `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web-fleet`',
      '    - Sid: `CompleteOnFleet`',
      '- **Removed** (1):',
      '  - **Allow** `autoscaling:CompleteLifecycleAction`, `autoscaling:DescribeAutoScalingGroups` on `*`',
      '    - Sid: `CompleteLifecycle`',
      '',
    ].join('\n'));
    // "Action": "x" and "Action": ["x"] are the same statement.
    expect(s).not.toContain('SendRescueCommand');
    // The unchanged no-op resource is counted but not listed.
    expect(s).not.toContain('aws_ssm_document.rescue_document');
  });

  it('shows trust policies, inline policies, conditions, principals and policy outputs readably', () => {
    const s = stackSection(run(fixture('iam-update.plan.json')).out, 'iam-update');
    expect(s).toContain('**`aws_iam_role.handler_role_9C0D1E2F`** `assume_role_policy` (create)\n\n- **Added** (1):\n' +
      '  - **Allow** `sts:AssumeRole`\n    - Principal: Service `lambda.amazonaws.com`\n');
    expect(s).toContain('**`aws_iam_role.instance_role_5E6F7A8B`** `inline_policy["archive-write"]` (update)\n\n- **Added** (1):\n' +
      '  - **Allow** `s3:PutObjectTagging` on `arn:aws:s3:::logrescue-dev-rescue-abc/rescue/*`\n');
    expect(s).toContain('**`output.instance_policy_json`** `value` (update)\n\n- **Added** (1):\n');
    // A new queue's policy is unknown whether or not anyone set it: not worth a line.
    expect(s).not.toContain('**`aws_sqs_queue.dlq_7B8C9D0E`**');
  });

  it('shows a policy known only after apply as such, not as every statement removed', () => {
    const s = stackSection(run(fixture('iam-update.plan.json')).out, 'iam-update');
    expect(s).toContain('| `aws_s3_bucket_policy.archive_policy_2784807F` | update | `policy` (known after apply) | — |\n');
    const block = s.slice(s.indexOf('**`aws_s3_bucket_policy.archive_policy_2784807F`**')).split('\n\n').slice(0, 2).join('\n\n');
    expect(block).toBe('**`aws_s3_bucket_policy.archive_policy_2784807F`** `policy` (update)\n\n' +
      '- After: _known after apply_\n- Currently 2 statement(s); the new document is computed at apply.');
  });

  it('fails with exit 2 and a loud warning when an S3 bucket would be replaced', () => {
    const { code, out, err } = run(fixture('bucket-replace.plan.json'));
    expect(code).toBe(2);
    expect(err).toContain('1 change(s) lose data; rerun with --allow-destroy if that is intended');
    expect(out).toContain('## ⚠️ Data loss\n\n**1 change loses data.** A replace deletes the old resource; the new one starts empty.');
    expect(out).toContain('- ⚠️ **replace** `aws_s3_bucket.archive_bucket_B42367AB` in stack `bucket-replace`: ' +
      `${DATA_LOSS_TYPES.aws_s3_bucket}.\n`);
    expect(out).toContain('_The summary fails (exit 2) until this is intended and it is run with `--allow-destroy`._');
    expect(out).toContain('**Plan:** 0 create · 0 update · 2 replace · 0 delete · 0 no-op\n');
    expect(out).toContain('| `aws_s3_bucket.archive_bucket_B42367AB` | **replace** | `bucket_prefix` (forces replacement), `tags`, `tags_all` | ' +
      'destroy before create; an argument forces replacement |\n');
    // Only the bucket holds data; its versioning configuration does not.
    expect(out).not.toContain('**replace** `aws_s3_bucket_versioning');
    // The warning comes before the per-stack detail.
    expect(out.indexOf('## ⚠️ Data loss')).toBeLessThan(out.indexOf('## Stack'));
  });

  it('with --allow-destroy still prints the warning but exits 0', () => {
    const { code, out, err } = run('--allow-destroy', fixture('bucket-replace.plan.json'));
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toContain('## ⚠️ Data loss');
    expect(out).toContain('- ⚠️ **replace** `aws_s3_bucket.archive_bucket_B42367AB` in stack `bucket-replace`');
    expect(out).toContain('_Accepted with `--allow-destroy`: the summary does not fail._');
  });

  it('fails with exit 2 when a log group would be deleted, with the reason Terraform gives', () => {
    const { code, out } = run(fixture('log-group-delete.plan.json'));
    expect(code).toBe(2);
    expect(out).toContain('- ⚠️ **delete** `aws_cloudwatch_log_group.sessions_logs_0A1B2C3D` in stack `log-group-delete`: ' +
      `${DATA_LOSS_TYPES.aws_cloudwatch_log_group}.\n`);
    expect(out).toContain('**Plan:** 0 create · 0 update · 0 replace · 1 delete · 0 no-op\n');
    expect(out).toContain('| `aws_cloudwatch_log_group.sessions_logs_0A1B2C3D` | **delete** | — | removed from configuration |\n');
  });

  it('replacing a Lambda function is shown but is not data loss; moves and imports are listed', () => {
    const { code, out, err } = run(fixture('lambda-replace.plan.json'));
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).not.toContain('Data loss');
    expect(out).toContain('| `aws_lambda_function.handler_function_4D5E6F70` | **replace** | ' +
      '`function_name` (forces replacement), `memory_size`, `source_code_hash`, `tags` | create before destroy; an argument forces replacement |\n');
    expect(out).toContain('**Plan:** 0 create · 0 update · 1 replace · 0 delete · 2 no-op (1 moved)\n');
    // A pure move is listed as a move, not as a change.
    expect(out).not.toContain('| `aws_cloudwatch_event_rule.terminate_rule_8A9B0C1D` |');
    expect(out).toContain('### Moved (1): only the address in the state changes, nothing in AWS\n\n' +
      '- `aws_cloudwatch_event_rule.lifecycle_rule_8A9B0C1D` → `aws_cloudwatch_event_rule.terminate_rule_8A9B0C1D`\n');
    expect(out).toContain('| `aws_ssm_document.session_preferences_2B3C4D5E` | no-op | — | import `SSM-SessionManagerRunShell` |\n');
  });

  it('summarizes several stacks in one comment, in stack order, whatever the argument order', () => {
    const files = [fixture('stacks/session-logs/plan.json'), fixture('lambda-replace.plan.json'), fixture('iam-update.plan.json')];
    const first = run(...files);
    const second = run(...[...files].reverse());
    expect(first.code).toBe(0);
    expect(second.out).toBe(first.out);
    expect(first.out.split('\n').filter((l) => l.startsWith('## '))).toEqual([
      '## Stack `iam-update`', '## Stack `lambda-replace`', '## Stack `session-logs`',
    ]);
    expect(first.out.match(/<!-- log-rescue-plan-summary -->/g)).toHaveLength(1);
    const s = stackSection(first.out, 'session-logs');
    expect(s).toContain('**Plan:** 1 create · 1 update · 0 replace · 0 delete · 0 no-op\n');
    // A `|` in an address would end the table cell.
    expect(s).toContain('| `aws_ssm_parameter.setting["a\\|b"]` | create | — | — |\n');
    // Updating a Glue table is not data loss; only deleting or replacing it is.
    expect(s).toContain('| `aws_glue_catalog_table.sessions_table_6C7D8E9F` | update | `parameters` | — |\n');
  });

  it('one stack with data loss fails the whole run, and names that stack', () => {
    const { code, out } = run(fixture('lambda-replace.plan.json'), fixture('bucket-replace.plan.json'));
    expect(code).toBe(2);
    expect(out.match(/^- ⚠️ /gm)).toHaveLength(1);
    expect(out).toContain('in stack `bucket-replace`');
    expect(stackSection(out, 'lambda-replace')).not.toContain('⚠️');
  });

  it('["create","forget"] (Terraform 1.11 cannot plan it: it needs a resource-level destroy = false) is a replace that keeps the old data, listed as forgotten', () => {
    const { code, out, err } = run(fixture('create-forget-import.plan.json'));
    expect([code, err]).toEqual([0, '']);
    expect(out).not.toContain('Data loss');
    expect(out).toContain('**Plan:** 0 create · 1 update · 1 replace · 0 delete · 1 no-op\n');
    expect(out).toContain('| `aws_s3_bucket.archive_bucket_B42367AB` | **replace** | `bucket` (forces replacement) | create, then forget the old one; an argument forces replacement |\n');
    expect(out).toContain('- **create, forget** `aws_s3_bucket.archive_bucket_B42367AB` in stack `create-forget-import`: ' +
      'a new, empty one replaces it in Terraform; the old one is forgotten and keeps its data (S3 bucket).\n');
  });

  it('imports (Terraform cannot plan them offline: it reads the real resource) are listed, with the ID or without one', () => {
    const { out } = run(fixture('create-forget-import.plan.json'));
    expect(out).toContain('| `aws_ssm_document.preferences_document_57F88763` | update | `content` | import `SSM-SessionManagerRunShell` |\n');
    // `importing` without an id: the ID is known only at apply; the no-op is listed all the same.
    expect(out).toContain('| `aws_cloudwatch_log_group.adopted_3A4B5C6D` | no-op | — | import (ID known after apply) |\n');
  });

  it('output does not depend on the order of resource_changes', () => {
    const plan = readJson(fixture('iam-update.plan.json'));
    const shuffled = { ...plan, resource_changes: [...plan.resource_changes].reverse() };
    expect(renderMarkdown([summarizePlan(shuffled, 'x')])).toBe(renderMarkdown([summarizePlan(plan, 'x')]));
  });
});

describe('unusable input', () => {
  it.each([
    ['missing.plan.json', /missing\.plan\.json: cannot read: ENOENT/],
    ['not-json.plan.json', /not-json\.plan\.json: not JSON \(.*\); expected the output of `terraform show -json <planfile>`/],
    ['state.json', /state\.json: not a Terraform plan JSON: it has no resource_changes \(this looks like state JSON, not a plan\)/],
    ['wrong-shape.plan.json', /wrong-shape\.plan\.json: not a Terraform plan JSON: resource_changes is not an array/],
  ])('%s: exit 1 with a message and no summary', (name, message) => {
    const { code, out, err } = run(fixture('iam-update.plan.json'), fixture(name));
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(message);
  });

  it('rejects a JSON document without a plan format_version', () => {
    expect(() => summarizePlan({ resource_changes: [] }, 'x')).toThrow('format_version is missing, expected "1.x"');
    expect(() => summarizePlan([], 'x')).toThrow('the top level is not an object');
    expect(() => summarizePlan({ format_version: '1.2', resource_changes: [{ address: 'a.b' }] }, 'x'))
      .toThrow('resource_changes[0] has no address or change.actions');
  });

  it('needs at least one file and knows its options', () => {
    expect(run()).toMatchObject({ code: 1, out: '', err: expect.stringContaining('no plan JSON file given') });
    expect(run('--allow-destory', fixture('iam-update.plan.json'))).toMatchObject({ code: 1, err: expect.stringContaining('unknown option --allow-destory') });
    expect(run('--help')).toMatchObject({ code: 0, out: expect.stringContaining('usage: plan-summary') });
  });
});

describe('details', () => {
  it('names stacks from <stack>.plan.json, from .../stacks/<stack>/..., else from the file name', () => {
    expect(stackNameFromPath('out/log-rescue.plan.json')).toBe('log-rescue');
    expect(stackNameFromPath('/repo/cdktf.out/stacks/session-logs/plan.json')).toBe('session-logs');
    expect(stackNameFromPath('cdktf.out/stacks/session-logs/tfplan/show.json')).toBe('session-logs');
    expect(stackNameFromPath('plans/stacks/plan.json')).toBe('plan');
    expect(stackNameFromPath('tfplan.json')).toBe('tfplan');
  });

  it('keeps every data-loss entry explained', () => {
    for (const [type, why] of Object.entries(DATA_LOSS_TYPES)) {
      expect(type).toMatch(/^aws_/);
      expect(why.length).toBeGreaterThan(20);
    }
    expect(Object.keys(DATA_LOSS_TYPES)).not.toContain('aws_athena_workgroup');
  });

  it('never crashes on unreadable, sensitive or unknown policies', () => {
    const change = (actions: string[], before: any, after: any, extra: Record<string, unknown> = {}) => ({
      address: 'aws_iam_role.r', mode: 'managed', type: 'aws_iam_role', name: 'r', provider_name: 'registry.terraform.io/hashicorp/aws',
      change: { actions, before, after, after_unknown: {}, before_sensitive: {}, after_sensitive: {}, ...extra },
    });
    const plan = {
      format_version: '1.2',
      planned_values: {},
      resource_changes: [
        change(['update'], { assume_role_policy: '{"Statement":[]}' }, { assume_role_policy: 'not json' }),
        { ...change(['update'], { inline_policy: [{ name: 'a', policy: '{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}' }] }, {},
          { after_unknown: { inline_policy: true } }), address: 'aws_iam_role.s' },
        { ...change(['create'], null, { assume_role_policy: '{"Statement":[]}' }, { after_sensitive: { assume_role_policy: true } }), address: 'aws_iam_role.t' },
      ],
    };
    const md = renderMarkdown([summarizePlan(plan, 'edge')]);
    expect(md).toContain('**`aws_iam_role.r`** `assume_role_policy` (update)\n\n- After: _not a policy document:_ `not json`\n');
    expect(md).toContain('**`aws_iam_role.s`** `inline_policy[*]` (update)\n\n- After: _known after apply_\n- Currently 1 statement(s)');
    expect(md).toContain('**`aws_iam_role.t`** `assume_role_policy` (create)\n\n- After: _sensitive, not shown_\n');
  });
});
