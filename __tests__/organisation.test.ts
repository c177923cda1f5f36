/**
 * Fitting into a Terraform organisation: group names and network ids read from another team's
 * state (planned against a local fixture state), and the HCL output (`cdktf synth --hcl`) planning
 * to exactly what the JSON output plans.
 *
 * @lane plan
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { parse as parseHcl } from '@cdktf/hcl2json';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthApp } from '../app';
import { settingsFromEnv } from '../handlers/log-rescue/settings';
import { OFFLINE_ACCOUNT_ID as ACCOUNT } from '../scripts/offline-terraform';
import { useOfflineTerraform } from './support/plan';
import { synthStacks, testConfig } from './support/synth';

const plan = useOfflineTerraform();
const FLEET_STATE = path.join(__dirname, 'fixtures/fleet-state.json');

const fromFleet = (output: string) => ({ fromRemoteState: { state: 'fleet', output } });
const REMOTE_INPUTS = {
  remoteStates: { fleet: { type: 'local', path: FLEET_STATE } },
  logRescue: { autoScalingGroups: ['web-fleet', fromFleet('asg_names'), fromFleet('batch_asg_name')] },
  sessionLogs: {
    vpcEndpoints: {
      enabled: true, vpcId: fromFleet('vpc_id'), vpcCidr: fromFleet('vpc_cidr'),
      subnetIds: fromFleet('private_subnet_ids'), routeTableIds: fromFleet('private_route_table_ids'),
    },
  },
};

/**
 * The remote-state inputs with the options that add resources (KMS keys, topics, an instance role):
 * the config the remote-state tests plan, and the second config the HCL test plans both ways, so the
 * run plans it once as JSON (support/plan.ts shares identical plans).
 */
const REMOTE_ALL = {
  ...REMOTE_INPUTS,
  logRescue: { ...REMOTE_INPUTS.logRescue, archiveBucket: { encryption: 'SSE-KMS' }, alarms: { createTopic: true } },
  sessionLogs: { ...REMOTE_INPUTS.sessionLogs, logGroup: { kms: 'create' }, createInstanceRole: true },
};

const changesOf = (p: any, type: string) => p.resource_changes.filter((r: any) => r.type === type);

/** What a reviewer compares: each address with its planned values and which are unknown. */
function planned(p: any): Record<string, { actions: string[]; after: unknown; afterUnknown: unknown }> {
  const out: Record<string, any> = {};
  for (const r of p.resource_changes) out[r.address] = { actions: r.change.actions, after: r.change.after, afterUnknown: r.change.after_unknown };
  return out;
}

describe('remote-state inputs', () => {
  let plans: Record<string, any>;
  beforeAll(async () => { plans = await plan(testConfig(REMOTE_ALL)); });

  it('puts a lifecycle hook on every group named in config or in the other state', () => {
    const hooks = changesOf(plans['log-rescue'], 'aws_autoscaling_lifecycle_hook').map((r: any) => r.change.after.autoscaling_group_name).sort();
    expect(hooks).toEqual(['nightly-batch', 'payments-api', 'payments-worker', 'web-fleet']);
    const remote = changesOf(plans['log-rescue'], 'aws_autoscaling_lifecycle_hook').filter((r: any) => r.index !== undefined).map((r: any) => r.index).sort();
    expect(remote).toEqual(['nightly-batch', 'payments-api', 'payments-worker']);
  });

  it('scopes the rule, the handler and its IAM to exactly those groups', () => {
    const fn = changesOf(plans['log-rescue'], 'aws_lambda_function')[0].change.after;
    expect(fn.environment[0].variables.ASG_NAMES.split(',').sort()).toEqual(['nightly-batch', 'payments-api', 'payments-worker', 'web-fleet']);
    const rule = changesOf(plans['log-rescue'], 'aws_cloudwatch_event_rule').find((r: any) => r.change.after.name.endsWith('-lifecycle')).change.after;
    expect(JSON.parse(rule.event_pattern).detail.AutoScalingGroupName.sort()).toEqual(['nightly-batch', 'payments-api', 'payments-worker', 'web-fleet']);
  });

  it('plans a function environment the reviewer can read in full, and the handler accepts as it is', () => {
    const fn = changesOf(plans['log-rescue'], 'aws_lambda_function')[0].change;
    // Nothing "known after apply" in it: one unknown value would hide the whole map in the plan.
    expect(fn.after_unknown.environment).toEqual([{ variables: {} }]);
    const env = fn.after.environment[0].variables;
    const queue = changesOf(plans['log-rescue'], 'aws_sqs_queue').find((r: any) => r.change.after.name.endsWith('-log-rescue-events')).change.after;
    expect(env.QUEUE_URL).toBe(`https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/${queue.name}`);
    expect(settingsFromEnv(env)).toMatchObject({ queueUrl: env.QUEUE_URL, asgNames: env.ASG_NAMES.split(','), onlineWaitSeconds: 20 });
  });

  it('stops the plan when the other state holds a group name the handler could not accept', async () => {
    const hostile = testConfig({ ...REMOTE_INPUTS, logRescue: { autoScalingGroups: [fromFleet('hostile_asg_names')] }, sessionLogs: { enabled: false } });
    await expect(plan(hostile)).rejects.toThrow(/regex[\s\S]*pattern did not match/);
  });

  it('puts the session endpoints into the other team\'s VPC and subnets', () => {
    const endpoints = changesOf(plans['session-logs'], 'aws_vpc_endpoint').map((r: any) => r.change.after);
    expect(endpoints.length).toBe(6);
    for (const e of endpoints) expect(e.vpc_id).toBe('vpc-0a1b2c3d4e5f67890');
    const iface = endpoints.filter((e: any) => e.vpc_endpoint_type === 'Interface');
    for (const e of iface) expect([...e.subnet_ids].sort()).toEqual(['subnet-0a1b2c3d4e5f67891', 'subnet-0a1b2c3d4e5f67892']);
    expect(endpoints.find((e: any) => e.vpc_endpoint_type === 'Gateway').route_table_ids).toEqual(['rtb-0a1b2c3d4e5f67893']);
    expect(endpoints.map((e: any) => e.service_name).sort()).toEqual(
      ['ec2messages', 'kms', 'logs', 's3', 'ssm', 'ssmmessages'].map((s) => `com.amazonaws.us-east-1.${s}`),
    );
    // The endpoints' security group lets HTTPS in from the CIDR the other state holds.
    expect(changesOf(plans['session-logs'], 'aws_vpc_security_group_ingress_rule').map((r: any) => r.change.after)).toEqual([
      expect.objectContaining({ cidr_ipv4: '10.20.0.0/16', from_port: 443, to_port: 443, ip_protocol: 'tcp' }),
    ]);
  });
});

describe('HCL output', () => {
  it('keeps the removed blocks that protect data (cdktf drops them from cdk.tf, so they go to removed.tf.json)', () => {
    const config = testConfig({ logRescue: { archiveBucket: { existingBucketName: 'acme-central-logs' } } });
    const json = synthStacks(config);
    const outdir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-hcl-'));
    try {
      synthApp(config, { outdir, hcl: true });
      for (const stack of Object.keys(json)) {
        const hcl = readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf'), 'utf8');
        expect(hcl).not.toContain('removed {');
        const removed = JSON.parse(readFileSync(path.join(outdir, 'stacks', stack, 'removed.tf.json'), 'utf8')).removed;
        expect(removed).toEqual(json[stack].removed);
        expect(removed.length).toBeGreaterThan(0);
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  /** hcl2json gives every block as a list of its occurrences; JSON output has single blocks as objects. */
  const unwrapBlocks = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.length === 1 && typeof v[0] === 'object' && v[0] !== null ? unwrapBlocks(v[0]) : v.map(unwrapBlocks);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapBlocks(x)]));
    return v;
  };

  it.each([
    ['local', {}],
    ['s3', { backend: { type: 's3', bucket: 'acme-tf-state', region: 'eu-west-1', keyPrefix: 'platform/logs', kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', roleArn: 'arn:aws:iam::123456789012:role/tf-state', dynamodbTable: 'tf-locks' } }],
    ['cloud', { backend: { type: 'cloud', organization: 'acme', hostname: 'tfe.acme.example', project: 'platform', workspaces: { 'session-logs': 'sessions-prod' } } }],
  ])('%s backend: the whole terraform block (backend, cloud, required providers and version) is the same in HCL as in JSON', async (_name, overrides) => {
    const config = testConfig(overrides as Record<string, unknown>);
    const dirs = [mkdtempSync(path.join(os.tmpdir(), 'logrescue-json-')), mkdtempSync(path.join(os.tmpdir(), 'logrescue-hcl-'))];
    try {
      synthApp(config, { outdir: dirs[0], hcl: false });
      synthApp(config, { outdir: dirs[1], hcl: true });
      for (const stack of ['log-rescue', 'session-logs']) {
        const json = JSON.parse(readFileSync(path.join(dirs[0], 'stacks', stack, 'cdk.tf.json'), 'utf8')).terraform;
        // Terraform reads every terraform block of the dir: cdk.tf's, and versions.tf.json's required_version.
        const hcl = {
          ...unwrapBlocks((await parseHcl('cdk.tf', readFileSync(path.join(dirs[1], 'stacks', stack, 'cdk.tf'), 'utf8'))).terraform) as object,
          ...JSON.parse(readFileSync(path.join(dirs[1], 'stacks', stack, 'versions.tf.json'), 'utf8')).terraform,
        };
        expect({ stack, ...(hcl as object) }).toEqual({ stack, ...unwrapBlocks(json) as object });
        if (config.backend.type === 'cloud') expect(json.cloud.workspaces.project).toBe('platform');
      }
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it.each([
    ['default config', {}],
    ['remote-state inputs, KMS and alarm topics', REMOTE_ALL],
  ])('%s: plans the same addresses with the same values as the JSON output', async (_name, overrides) => {
    const config = testConfig(overrides as Record<string, unknown>);
    const [json, hcl] = await Promise.all([plan(config), plan(config, { hcl: true })]);
    expect(Object.keys(hcl).sort()).toEqual(Object.keys(json).sort());
    for (const stack of Object.keys(json)) {
      const [a, b] = [planned(json[stack]), planned(hcl[stack])];
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      for (const address of Object.keys(a)) expect({ address, ...b[address] }).toEqual({ address, ...a[address] });
      expect(hcl[stack].planned_values.outputs).toEqual(json[stack].planned_values.outputs);
    }
    // Six offline plans (JSON and HCL, three stacks): about 100 s on an idle 2-core machine, more
    // than jest's 180 s when other suites plan at the same time.
  }, 480_000);
});
