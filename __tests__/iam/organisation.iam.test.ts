/**
 * An organisation (config/organisation.json): the archive stack's bucket and key policies and the
 * member stacks' identity policies, as Terraform will create them, judged together by an IAM
 * engine for cross-account requests: a member's instances and Firehose write under their own
 * account's prefix, into another member's prefix they cannot, and no member reads or deletes.
 *
 * @lane synth
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../config/load';
import { Case, PolicyDocument } from '../support/iam/engine';
import { asRole, evaluate, OTHER_ACCOUNT, roleSession, wrong } from '../support/iam/cases';
import { ACCOUNT, PARTITION, renderStack } from '../support/iam/render';
import { synthStacks } from '../support/synth';

const config = parseConfig(JSON.parse(readFileSync(path.join(__dirname, '../../config/organisation.json'), 'utf8')), 'config/organisation.json');
const org = config.organisation!;
const [PAYMENTS, WEB] = org.members.map((m) => m.accountId);
const BUCKET = org.archive.bucketName;
const BUCKET_ARN = `arn:${PARTITION}:s3:::${BUCKET}`;
/** What a member account's administrator could give itself: everything, on everything. */
const ADMIN: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*', 'kms:*'], Resource: '*' }] };

/** A request by a role session in `account`, in the organisation (or not), over TLS. */
const member = (account: string, role: string, extra: Record<string, string> = {}, orgId = org.id) =>
  asRole(role, { 'aws:PrincipalOrgID': orgId, ...extra }, account);

function build(): { cases: Case[]; stacks: string[] } {
  const stacks = synthStacks(config);
  const archive = renderStack(stacks.archive);
  // The archive key as the archive stack creates it; member stacks read its ARN from that state.
  const KEY_ARN = String(archive.world.find('aws_kms_key', 'archive/key').arn);
  const remote = { archive: { kms_key_arn: KEY_ARN } };
  const SSE_KMS = { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN };
  const bucketPolicy = archive.policy('aws_s3_bucket_policy.archive');
  const keyPolicy = archive.policy('aws_kms_key.archive', 'policy');
  const cases: Case[] = [];
  for (const m of org.members) {
    for (const region of ['us-east-1', 'eu-west-1']) {
      const suffix = region === config.region ? m.name : `${m.name}-${region}`;
      const rescue = renderStack(stacks[`log-rescue-${suffix}`], remote);
      const sessions = renderStack(stacks[`session-logs-${suffix}`], remote);
      const upload = rescue.policy('aws_iam_policy.instance_upload');
      const firehoseRole = sessions.world.find('aws_iam_role', 'firehose/role');
      const firehose = sessions.attachedTo(String(firehoseRole.name)).map((p) => p.document);
      const other = m.accountId === PAYMENTS ? WEB : PAYMENTS;
      const own = `${BUCKET_ARN}/${m.accountId}/${region}`;
      const label = `${m.name} ${region}`;
      const instance = (name: string, expect: Case['expect'], action: string, resource: string, identity: PolicyDocument[], extra: Record<string, string> = {}, resourcePolicy = bucketPolicy): Case => ({
        name: `${label}: instance ${name}`, expect, action, resource, resourceAccount: ACCOUNT, identity, resourcePolicy,
        principal: roleSession('fleet-instance-role', 'i-0123456789abcdef0', m.accountId), context: member(m.accountId, 'fleet-instance-role', extra),
      });
      const archiveKey = `${own}/instance-logs/web-fleet/i-0123456789abcdef0/20261204T081500Z/logs.tar.gz`;
      cases.push(
        instance('uploads its rescued logs under its own account and region', 'Allowed', 's3:PutObject', archiveKey, [upload], SSE_KMS),
        instance('aborts its own multipart upload', 'Allowed', 's3:AbortMultipartUpload', archiveKey, [upload]),
        instance('uploads into another member\'s prefix, even with every S3 permission of its own', 'Denied', 's3:PutObject', `${BUCKET_ARN}/${other}/${region}/instance-logs/x/logs.tar.gz`, [ADMIN], SSE_KMS),
        instance('reads back an archive, even with every S3 permission of its own', 'Denied', 's3:GetObject', archiveKey, [ADMIN]),
        instance('deletes an archive, even with every S3 permission of its own', 'Denied', 's3:DeleteObject', archiveKey, [ADMIN]),
        instance('deletes an archive version', 'Denied', 's3:DeleteObjectVersion', archiveKey, [ADMIN]),
        instance('lists the bucket', 'Denied', 's3:ListBucket', BUCKET_ARN, [ADMIN]),
        instance('has S3 get a data key for its upload', 'Allowed', 'kms:GenerateDataKey', KEY_ARN, [upload],
          { 'kms:ViaService': `s3.${org.archive.region}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': BUCKET_ARN }, keyPolicy),
        instance('has S3 decrypt the data key of a multipart upload', 'Allowed', 'kms:Decrypt', KEY_ARN, [upload],
          { 'kms:ViaService': `s3.${org.archive.region}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': BUCKET_ARN }, keyPolicy),
        instance('decrypts with the central key directly, not through S3', 'Denied', 'kms:Decrypt', KEY_ARN, [ADMIN], { 'kms:EncryptionContext:aws:s3:arn': BUCKET_ARN }, keyPolicy),
        instance('uses the central key through another service', 'Denied', 'kms:GenerateDataKey', KEY_ARN, [ADMIN], { 'kms:ViaService': `sqs.${org.archive.region}.amazonaws.com` }, keyPolicy),
        instance('administers the central key', 'Denied', 'kms:ScheduleKeyDeletion', KEY_ARN, [ADMIN], {}, keyPolicy),
      );
      const delivery = (name: string, expect: Case['expect'], action: string, resource: string, identity: PolicyDocument[], extra: Record<string, string> = {}): Case => ({
        name: `${label}: Firehose ${name}`, expect, action, resource, resourceAccount: ACCOUNT, identity, resourcePolicy: bucketPolicy,
        principal: roleSession(String(firehoseRole.name), 'AWSFirehoseToS3', m.accountId), context: member(m.accountId, String(firehoseRole.name), extra),
      });
      const record = `${own}/session-logs/year=2026/month=12/day=04/logrescue-prod-session-logs-1-2026-12-04-08-15-00-abc.gz`;
      cases.push(
        delivery('delivers session records under its own account and region', 'Allowed', 's3:PutObject', record, firehose),
        delivery('writes a processing error under its own prefix', 'Allowed', 's3:PutObject', `${own}/session-logs-errors/processing-failed/year=2026/month=12/day=04/x.gz`, firehose),
        delivery('reads back its own delivery, as Firehose does', 'Allowed', 's3:GetObject', record, firehose),
        delivery('finds the bucket', 'Allowed', 's3:GetBucketLocation', BUCKET_ARN, firehose),
        delivery('delivers into another member\'s prefix', 'Denied', 's3:PutObject', `${BUCKET_ARN}/${other}/${region}/session-logs/x.gz`, [ADMIN]),
        delivery('reads another member\'s session records', 'Denied', 's3:GetObject', `${BUCKET_ARN}/${other}/${region}/session-logs/x.gz`, [ADMIN]),
        delivery('deletes a delivered record', 'Denied', 's3:DeleteObject', record, [ADMIN]),
      );
    }
  }
  // Outside the organisation, or not a member: nothing, whatever its own policies say.
  const outsider = (name: string, account: string, orgId: string): Case => ({
    name, expect: 'Denied', action: 's3:PutObject', resource: `${BUCKET_ARN}/${account}/us-east-1/instance-logs/x/logs.tar.gz`, resourceAccount: ACCOUNT,
    identity: [ADMIN], resourcePolicy: bucketPolicy, principal: roleSession('any', 'x', account), context: member(account, 'any', SSE_KMS, orgId),
  });
  cases.push(
    outsider('an account of the organisation that is not a member uploads under its own prefix', OTHER_ACCOUNT, org.id),
    outsider('a member account outside the organisation (moved to another one) uploads', PAYMENTS, 'o-zzzzzzzzzz'),
  );
  return { cases, stacks: Object.keys(stacks) };
}

describe('organisation: cross-account policies judged by the IAM engine (config/organisation.json)', () => {
  const { cases, stacks } = build();

  it('synthesizes the archive stack and, per member and region, both flows', () => {
    expect(stacks).toEqual([
      'archive',
      'log-rescue-payments', 'session-logs-payments', 'log-rescue-payments-eu-west-1', 'session-logs-payments-eu-west-1',
      'log-rescue-web', 'session-logs-web', 'log-rescue-web-eu-west-1', 'session-logs-web-eu-west-1',
    ]);
  });

  it('allows every write the members make and denies every read, delete, foreign prefix and outsider', async () => {
    const results = await evaluate('organisation', cases);
    expect(results.length).toBe(4 * 19 + 2);
    expect(wrong(results)).toEqual([]);
  });
});
