/**
 * stacks/archive-stack.ts, planned: config/organisation.json planned offline by real Terraform and
 * the AWS provider, the archive stack with every stack that writes to it (per member and region,
 * both flows). Each stack's provider assumes its account's deploy role through the STS stand-in,
 * which answers GetCallerIdentity for that account; member stacks read the archive's key ARN from a
 * state holding the archive stack's outputs (`organisation.archive.state` points at it: the
 * example's S3 state is not reachable here).
 *
 * @lane plan
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../config/load';
import { useOfflineTerraform } from '../support/plan';

const plan = useOfflineTerraform();
const EXAMPLE = JSON.parse(readFileSync(path.join(__dirname, '../../config/organisation.json'), 'utf8'));
const KEY_ARN = 'arn:aws:kms:us-east-1:111111111111:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const ACCOUNT_OF: Record<string, string> = { archive: '111111111111', payments: '222222222222', web: '333333333333' };

let scratch: string;
let plans: Record<string, any>;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'archive-stack-plan-'));
  const statePath = path.join(scratch, 'archive.tfstate');
  writeFileSync(statePath, JSON.stringify({
    version: 4, terraform_version: '1.11.4', serial: 1, lineage: '00000000-0000-4000-8000-0000000000a1', resources: [],
    outputs: {
      bucket_name: { value: EXAMPLE.organisation.archive.bucketName, type: 'string' },
      bucket_arn: { value: `arn:aws:s3:::${EXAMPLE.organisation.archive.bucketName}`, type: 'string' },
      kms_key_arn: { value: KEY_ARN, type: 'string' },
    },
  }));
  const config = parseConfig({ ...EXAMPLE, organisation: { ...EXAMPLE.organisation, archive: { ...EXAMPLE.organisation.archive, state: { type: 'local', path: statePath } } } });
  plans = await plan(config);
}, 600_000);
afterAll(() => { if (scratch) rmSync(scratch, { recursive: true, force: true }); });

const changes = (p: any) => p.resource_changes as Array<{ address: string; type: string; change: { actions: string[]; after: any } }>;
const after = (p: any, address: string) => changes(p).find((r) => r.address === address)!.change.after;
/** The account data.aws_caller_identity read during the plan: whose credentials the provider used. */
const callerAccount = (p: any) => p.prior_state.values.root_module.resources.find((r: any) => r.address === 'data.aws_caller_identity.current').values.account_id;

describe('config/organisation.json, planned offline', () => {
  it('plans every stack, creating only, each in the account whose deploy role its provider assumed', () => {
    expect(Object.keys(plans)).toEqual([
      'archive',
      'log-rescue-payments', 'session-logs-payments', 'log-rescue-payments-eu-west-1', 'session-logs-payments-eu-west-1',
      'log-rescue-web', 'session-logs-web', 'log-rescue-web-eu-west-1', 'session-logs-web-eu-west-1',
    ]);
    const counts: Record<string, number> = {};
    for (const [stack, p] of Object.entries(plans)) {
      expect({ stack, actions: [...new Set(changes(p).flatMap((r) => r.change.actions))] }).toEqual({ stack, actions: ['create'] });
      expect({ stack, account: callerAccount(p) }).toEqual({ stack, account: ACCOUNT_OF[stack === 'archive' ? 'archive' : stack.split('-')[2]] });
      counts[stack] = changes(p).length;
    }
    process.stdout.write(`organisation plan: resources to create per stack ${JSON.stringify(counts)}\n`);
  });

  it('the archive: the named bucket with Object Lock and SSE-KMS, and policies that keep IAM\'s ${aws:PrincipalAccount}', () => {
    const a = plans.archive;
    expect(after(a, 'aws_s3_bucket.archive').bucket).toBe('acme-log-archive-111111111111');
    expect(after(a, 'aws_s3_bucket_object_lock_configuration.archive').rule[0].default_retention[0]).toMatchObject({ mode: 'GOVERNANCE', days: 365 });
    expect(after(a, 'aws_s3_bucket_ownership_controls.archive').rule[0].object_ownership).toBe('BucketOwnerEnforced');
    const key = JSON.parse(after(a, 'aws_kms_key.archive').policy);
    const members = key.Statement.find((s: any) => s.Sid === 'MembersEncryptThroughS3Only');
    expect(members.Principal.AWS).toEqual(['arn:aws:iam::222222222222:root', 'arn:aws:iam::333333333333:root']);
    expect(members.Condition.StringLike['kms:EncryptionContext:aws:s3:arn']).toContain('arn:aws:s3:::acme-log-archive-111111111111/${aws:PrincipalAccount}/*');
    expect(key.Statement.find((s: any) => s.Sid === 'AccountAdministersKey').Principal.AWS).toBe('arn:aws:iam::111111111111:root');
  });

  it('a member: uploads and deliveries under its account and region of the central bucket, with the archive\'s key', () => {
    const p = plans['log-rescue-web-eu-west-1'];
    const upload = JSON.parse(after(p, 'aws_iam_policy.instance_upload').policy);
    expect(upload.Statement[0].Resource).toBe('arn:aws:s3:::acme-log-archive-111111111111/333333333333/eu-west-1/instance-logs/*');
    expect(upload.Statement[1]).toMatchObject({ Resource: KEY_ARN, Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } } });
    const stream = after(plans['session-logs-web-eu-west-1'], 'aws_kinesis_firehose_delivery_stream.sessions');
    expect(stream.extended_s3_configuration[0].bucket_arn).toBe('arn:aws:s3:::acme-log-archive-111111111111');
    expect(stream.extended_s3_configuration[0].prefix).toMatch(/^333333333333\/eu-west-1\/session-logs\//);
  });
});
