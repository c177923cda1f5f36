/**
 * The pull-request plan summary: on a real offline plan of the log-rescue stack, and on hand-written
 * plan JSON for the changes a reviewer must notice (IAM statements, data loss, replacements).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planOffline, prepareToolchain, startStsStandIn } from '../../scripts/offline-terraform';
import {
  COMMENT_MARKER, DATA_LOSS_TYPES, main, renderMarkdown, stackNameFromPath, summarizePlan,
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

  beforeAll(async () => {
    const tc = await prepareToolchain();
    const sts = await startStsStandIn();
    const { outdir } = synthToDir(testConfig());
    try {
      const result = await planOffline(path.join(outdir, 'stacks', 'log-rescue'), tc, sts.url);
      plan = result.plan;
      result.cleanup();
    } finally {
      await sts.close();
      rmSync(outdir, { recursive: true, force: true });
    }
    dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-plan-summary-'));
    planFile = path.join(dir, 'log-rescue.plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
  });
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

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
    expect(err).toContain('1 change(s) destroy data; rerun with --allow-destroy if that is intended');
    expect(out).toContain('## ⚠️ Data loss\n\n**1 change destroys a resource that holds data.**');
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
    expect(out).toContain('**Plan:** 0 create · 0 update · 1 replace · 0 delete · 2 no-op\n');
    expect(out).toContain('| `aws_lambda_function.handler_function_4D5E6F70` | **replace** | ' +
      '`function_name` (forces replacement), `memory_size`, `source_code_hash`, `tags` | create before destroy; an argument forces replacement |\n');
    expect(out).toContain('| `aws_cloudwatch_event_rule.terminate_rule_8A9B0C1D` | no-op | — | moved from `aws_cloudwatch_event_rule.lifecycle_rule_8A9B0C1D` |\n');
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
