/**
 * The GitHub workflows (.github/workflows/plan.yml, deploy.yml) are code nobody runs locally: check
 * their structure here so a typo, a missing permission or a renamed npm script fails `npm test`
 * instead of the first pull request. docs/ci.md explains what they do.
 *
 * @lane unit
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { COMMENT_MARKER } from '../scripts/plan-summary';
import { PROVIDER_VERSION } from '../scripts/offline-terraform';
import { STACK_NAMES } from '../stacks/base-stack';

const ROOT = path.join(__dirname, '..');
const WORKFLOWS = path.join(ROOT, '.github/workflows');

type Json = any;
interface Step { readonly job: string; readonly index: number; readonly step: Json }

/** Parse YAML text; any syntax error or warning becomes one readable message naming the file and line. */
export function parseWorkflow(text: string, file: string): Json {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length) {
    throw new Error(`${file} is not valid YAML (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
      problems.map((p) => `  - ${p.message.split('\n').join('\n    ')}`).join('\n'));
  }
  const json = doc.toJS();
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${file}: the top level is not a mapping`);
  return json;
}

function load(name: string): Json {
  const file = path.join(WORKFLOWS, name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path.relative(ROOT, file)}: ${(e as Error).message}`);
  }
  return parseWorkflow(text, path.relative(ROOT, file));
}

function steps(wf: Json): Step[] {
  return Object.entries<Json>(wf.jobs ?? {}).flatMap(([job, j]) => (j.steps ?? []).map((step: Json, index: number) => ({ job, index, step })));
}

const runs = (wf: Json) => steps(wf).filter((s) => typeof s.step.run === 'string');
const uses = (wf: Json) => steps(wf).filter((s) => typeof s.step.uses === 'string');
const where = (s: Step) => `job ${s.job}, step ${s.index + 1} (${s.step.name ?? s.step.uses ?? 'unnamed'})`;

function stepUsing(wf: Json, action: string): Json {
  const found = uses(wf).filter((s) => s.step.uses.split('@')[0] === action);
  if (found.length !== 1) throw new Error(`expected exactly one step using ${action}, found ${found.length}`);
  return found[0].step;
}

function stepRunning(wf: Json, pattern: RegExp): Step {
  const found = runs(wf).filter((s) => pattern.test(s.step.run));
  if (found.length !== 1) throw new Error(`expected exactly one run step matching ${pattern}, found ${found.length}`);
  return found[0];
}

/** Index of the first step matching, in job order, for ordering assertions. */
function indexOf(wf: Json, match: (step: Json) => boolean, what: string): number {
  const i = steps(wf).findIndex((s) => match(s.step));
  if (i < 0) throw new Error(`no step ${what}`);
  return i;
}

/** Every `npm run [flags] <script>` (and `npm test`, `npm run-script`) in a shell script. */
export function npmScripts(script: string): string[] {
  const names: string[] = [];
  for (const m of script.matchAll(/\bnpm\s+(?:run|run-script)((?:\s+--?[\w-]+(?:=\S+)?)*)\s+([^\s;&|)'"-][^\s;&|)'"]*)/g)) names.push(m[2]);
  for (const m of script.matchAll(/\bnpm\s+(test|start|stop|restart)\b/g)) names.push(m[1]);
  return names;
}

const plan = load('plan.yml');
const deploy = load('deploy.yml');
const both: Array<[string, Json]> = [['plan.yml', plan], ['deploy.yml', deploy]];
const packageScripts: Record<string, string> = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts ?? {};

describe('the YAML loader', () => {
  it('reports a syntax error with the file name and line', () => {
    expect(() => parseWorkflow('on:\n  push:\n    branches: [main\njobs: {}\n', 'broken.yml')).toThrow(/broken\.yml is not valid YAML[\s\S]*line/);
  });

  it('rejects duplicate keys, which GitHub would reject too', () => {
    expect(() => parseWorkflow('on: push\non: pull_request\n', 'dup.yml')).toThrow(/dup\.yml is not valid YAML/);
  });

  it('finds npm scripts behind flags', () => {
    expect(npmScripts('npm ci && npm test\nnpm run --silent plan-summary -- a.json > s.md\nnpm run synth')).toEqual(['plan-summary', 'synth', 'test']);
  });
});

describe.each(both)('%s', (name, wf) => {
  it('has a name, jobs, and every job runs on a hosted runner with a timeout', () => {
    expect(typeof wf.name).toBe('string');
    expect(Object.keys(wf.jobs ?? {}).length).toBeGreaterThan(0);
    for (const [id, job] of Object.entries<Json>(wf.jobs)) {
      expect([id, job['runs-on']]).toEqual([id, 'ubuntu-latest']);
      expect([id, typeof job['timeout-minutes']]).toEqual([id, 'number']);
    }
  });

  it('grants nothing by default and only what each job needs', () => {
    const text = readFileSync(path.join(WORKFLOWS, name), 'utf8');
    expect(text).not.toMatch(/write-all|read-all/);
    expect(wf.permissions).toEqual({});
    for (const [id, job] of Object.entries<Json>(wf.jobs)) {
      expect([id, typeof job.permissions]).toEqual([id, 'object']);
      for (const [scope, level] of Object.entries(job.permissions)) expect([id, scope, ['read', 'write', 'none'].includes(level as string)]).toEqual([id, scope, true]);
    }
    const jobs = Object.values<Json>(wf.jobs);
    expect(jobs.some((j) => j.permissions['id-token'] === 'write')).toBe(true);
    expect(jobs.every((j) => j.permissions.contents === 'read')).toBe(true);
  });

  it('runs only npm scripts that exist in package.json', () => {
    const used = runs(wf).flatMap((s) => npmScripts(s.step.run).map((script) => ({ script, at: where(s) })));
    expect(used.length).toBeGreaterThan(0);
    const missing = used.filter((u) => !(u.script in packageScripts)).map((u) => `${u.script} (${u.at})`);
    expect(missing).toEqual([]);
  });

  it('pins every action to a major version tag or a commit SHA', () => {
    const bad = uses(wf).map((s) => s.step.uses as string)
      .filter((u) => !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/.test(u));
    expect(bad).toEqual([]);
  });

  it('installs, tests and synthesizes like the README: npm ci, npm test, cdktf synth with checkpoints off', () => {
    expect(wf.env.CHECKPOINT_DISABLE).toBe('1');
    const node = stepUsing(wf, 'actions/setup-node');
    expect(node.with).toEqual(expect.objectContaining({ 'node-version': 20, cache: 'npm' }));
    expect(stepUsing(wf, 'actions/checkout').with?.['persist-credentials']).toBe(false);
    const tf = stepUsing(wf, 'hashicorp/setup-terraform');
    expect(tf.with).toEqual(expect.objectContaining({ terraform_version: '1.11.4', terraform_wrapper: false }));

    const ci = indexOf(wf, (s) => /\bnpm ci\b/.test(s.run ?? ''), 'running npm ci');
    const test = indexOf(wf, (s) => /\bnpm test\b/.test(s.run ?? ''), 'running npm test');
    const synth = indexOf(wf, (s) => /\bnpx cdktf synth\b/.test(s.run ?? ''), 'running npx cdktf synth');
    const setupTf = indexOf(wf, (s) => (s.uses ?? '').startsWith('hashicorp/setup-terraform@'), 'setting up terraform');
    const aws = indexOf(wf, (s) => (s.uses ?? '').startsWith('aws-actions/configure-aws-credentials@'), 'configuring AWS credentials');
    const terraform = indexOf(wf, (s) => /\bterraform -chdir=\S+ plan\b/.test(s.run ?? ''), 'running terraform plan');
    // Terraform is on PATH for the offline plan tests; AWS credentials exist only after the
    // project's and its dependencies' code has run, and only for Terraform.
    expect(setupTf).toBeLessThan(test);
    expect(ci).toBeLessThan(test);
    expect(test).toBeLessThan(synth);
    expect(synth).toBeLessThan(aws);
    expect(aws).toBeLessThan(terraform);
  });

  it('gives the offline tests the AWS provider version they expect', () => {
    expect(wf.env.AWS_PROVIDER_VERSION).toBe(PROVIDER_VERSION);
    const mirror = stepRunning(wf, /providers mirror/).step.run as string;
    expect(mirror).toContain('TF_PROVIDER_MIRROR=');
  });

  it('chooses the config from the LOG_RESCUE_CONFIG variable, default config/default.json', () => {
    const job = Object.values<Json>(wf.jobs)[0];
    expect(job.env.LOG_RESCUE_CONFIG).toBe("${{ vars.LOG_RESCUE_CONFIG || 'config/default.json' }}");
    expect(() => readFileSync(path.join(ROOT, 'config/default.json'))).not.toThrow();
  });

  it('runs terraform non-interactively, and passes the Terraform Cloud token only to Terraform', () => {
    const tf = runs(wf).filter((s) => /\bterraform -chdir=\S+ (init|plan|apply)\b/.test(s.step.run) && !/providers mirror/.test(s.step.run));
    expect(tf.length).toBe(1);
    const script: string = tf[0].step.run;
    expect(script).toMatch(/terraform -chdir="\$dir" init -input=false/);
    // Pull-request plans never take the state lock; deploys wait for it (see below).
    expect(script).toMatch(name === 'plan.yml'
      ? /terraform -chdir="\$dir" plan -input=false -lock=false -out=tfplan/
      : /terraform -chdir="\$dir" plan -input=false -lock-timeout=5m -out=tfplan/);
    expect(script).toMatch(/terraform -chdir="\$dir" show -json tfplan > "plans\/\$stack\.plan\.json"/);
    expect(tf[0].step.env.TF_TOKEN_app_terraform_io).toBe('${{ secrets.TF_API_TOKEN }}');
    const elsewhere = steps(wf).filter((s) => s.step !== tf[0].step && JSON.stringify(s.step).includes('secrets.'));
    expect(elsewhere.map(where)).toEqual([]);
  });
});

describe('plan.yml', () => {
  it('runs on pull requests, including label changes for allow-destroy', () => {
    expect(Object.keys(plan.on)).toEqual(['pull_request']);
    expect(plan.on.pull_request.types).toEqual(expect.arrayContaining(['opened', 'synchronize', 'reopened', 'labeled', 'unlabeled']));
    // Never skipped by a job-level condition: a skipped job reports a required check as passed.
    expect(plan.jobs.plan.if).toBeUndefined();
  });

  it('runs one plan per pull request at a time', () => {
    expect(plan.concurrency.group).toContain('${{ github.event.pull_request.number }}');
    expect(plan.concurrency['cancel-in-progress']).toBe(true);
  });

  it('may write pull-request comments and request an OIDC token, nothing else', () => {
    expect(plan.jobs.plan.permissions).toEqual({ contents: 'read', 'id-token': 'write', 'pull-requests': 'write' });
  });

  it('plans with the plan role, and never for forks', () => {
    const aws = stepUsing(plan, 'aws-actions/configure-aws-credentials');
    expect(aws.with['role-to-assume']).toBe('${{ vars.AWS_PLAN_ROLE_ARN }}');
    expect(plan.jobs.plan.env.SAME_REPO).toBe('${{ github.event.pull_request.head.repo.full_name == github.repository }}');
    expect(aws.if).toContain("env.SAME_REPO == 'true'");
    expect(stepRunning(plan, /terraform -chdir=\S+ plan\b/).step.if).toContain("env.SAME_REPO == 'true'");
  });

  it('plans without the state lock, and says why: a cancelled run must not leave a stale lock for the next deploy', () => {
    const script: string = stepRunning(plan, /terraform -chdir=\S+ plan\b/).step.run;
    const planLines = script.split('\n').filter((l) => /\bterraform -chdir=\S+ plan\b/.test(l));
    expect(planLines.length).toBe(1);
    expect(planLines[0]).toContain('-lock=false');
    expect(planLines[0]).not.toMatch(/-lock-timeout|-lock=true/);
    // The reason sits in the workflow itself, next to the command.
    const text = readFileSync(path.join(WORKFLOWS, 'plan.yml'), 'utf8');
    const before = text.slice(0, text.indexOf(planLines[0].trim()));
    const comment = before.slice(before.lastIndexOf('init -input=false')).replace(/\s*#\s*/g, ' ').replace(/\s+/g, ' ');
    expect(comment).toMatch(/-lock=false: .*cancel.*stale lock.*deploy.*lock file/);
  });

  it('deploys keep locking: every deploy plan and apply waits for the lock', () => {
    const text = readFileSync(path.join(WORKFLOWS, 'deploy.yml'), 'utf8');
    const commands = text.split('\n').filter((l) => /\bterraform -chdir=\S+ (plan|apply)\b/.test(l));
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) {
      expect(c).toContain('-lock-timeout=5m');
      expect(c).not.toContain('-lock=false');
    }
  });

  it('plans every synthesized stack', () => {
    expect(stepRunning(plan, /terraform -chdir=\S+ plan\b/).step.run).toContain('cdktf.out/stacks/*/');
  });

  it('summarizes all plans, passing --allow-destroy only with the allow-destroy label', () => {
    const summary = stepRunning(plan, /plan-summary/).step;
    expect(summary.run).toContain('npm run --silent plan-summary -- plans/*.plan.json --synth-dir cdktf.out "${args[@]}" > summary.md');
    expect(summary.run).toContain('args+=(--allow-destroy)');
    expect(summary.env.ALLOW_DESTROY).toBe("${{ contains(github.event.pull_request.labels.*.name, 'allow-destroy') }}");
    expect(summary.run).toContain('exit-code=$code');
  });

  it('posts or updates one comment found by the plan-summary marker', () => {
    expect(plan.env.COMMENT_MARKER).toBe(COMMENT_MARKER);
    const post = stepUsing(plan, 'actions/github-script');
    const script: string = post.with.script;
    expect(script).toContain('process.env.COMMENT_MARKER');
    expect(script).toContain("readFileSync('summary.md'");
    expect(script).toContain('startsWith(marker)');
    expect(script).toContain('github.rest.issues.updateComment');
    expect(script).toContain('github.rest.issues.createComment');
    expect(post.if).toContain('!cancelled()');
  });

  it('fails after posting when the plan destroys data', () => {
    const names = steps(plan).map((s) => s.step.name);
    const gate = steps(plan).find((s) => s.step.name === 'Data-loss gate')!;
    expect(gate.step.if).toBe("steps.summary.outputs.exit-code == '2'");
    expect(gate.step.run).toMatch(/exit 1/);
    expect(names.indexOf('Data-loss gate')).toBeGreaterThan(names.indexOf('Post or update the plan comment'));
  });
});

describe('deploy.yml', () => {
  it('runs on pushes to main and by hand', () => {
    expect(Object.keys(deploy.on).sort()).toEqual(['push', 'workflow_dispatch']);
    expect(deploy.on.push.branches).toEqual(['main']);
    expect(deploy.jobs.deploy.if).toContain("github.ref == 'refs/heads/main'");
  });

  it('deploys in the production environment with the deploy role, one deploy at a time, never cancelled', () => {
    expect(deploy.jobs.deploy.environment).toBe('production');
    expect(stepUsing(deploy, 'aws-actions/configure-aws-credentials').with['role-to-assume']).toBe('${{ vars.AWS_DEPLOY_ROLE_ARN }}');
    expect(deploy.concurrency['cancel-in-progress']).toBe(false);
  });

  it('may request an OIDC token and read, never write pull requests', () => {
    expect(deploy.jobs.deploy.permissions).toEqual({ contents: 'read', 'id-token': 'write', 'pull-requests': 'read' });
  });

  it('applies session-logs before log-rescue, stack by stack from a saved plan', () => {
    const order: string[] = deploy.env.STACK_ORDER.split(/\s+/);
    // Every stack the app can synthesize has its place; the workflow also fails on an unknown one.
    expect([...order].sort()).toEqual([...STACK_NAMES].sort());
    expect(order.indexOf('session-logs')).toBeLessThan(order.indexOf('log-rescue'));
    // Member stacks read the archive stack's state: it goes first.
    expect(order[0]).toBe('archive');
    const script: string = stepRunning(deploy, /terraform -chdir=\S+ apply\b/).step.run;
    // Flow by flow; within a flow its own stack and its members' and regions' (`<flow>-*`).
    expect(script).toContain('for flow in $STACK_ORDER; do');
    expect(script).toContain('for dir in cdktf.out/stacks/"$flow" cdktf.out/stacks/"$flow"-*; do');
    expect(script).toContain('for stack in "${stacks[@]}"; do');
    expect(script).toMatch(/terraform -chdir="\$dir" apply -input=false -lock-timeout=5m tfplan/);
    expect(script.indexOf('plan-summary')).toBeLessThan(script.indexOf(' apply '));
  });

  it('refuses to apply a data-loss plan unless allowed', () => {
    const script: string = stepRunning(deploy, /terraform -chdir=\S+ apply\b/).step.run;
    expect(script).toContain('args+=(--allow-destroy)');
    expect(script).toMatch(/if \[ "\$code" -eq 2 \]; then[\s\S]*?exit 1/);
    expect(deploy.on.workflow_dispatch.inputs.allow_destroy).toEqual(expect.objectContaining({ type: 'boolean', default: false }));
  });

  it('refuses the local backend', () => {
    expect(stepRunning(deploy, /uses the local backend/).step.run).toMatch(/exit 1/);
  });
});
