/**
 * The session-logs stack's policies, as Terraform will create them, judged by an IAM engine:
 * Firehose delivers (with and without an encryption header), CloudWatch Logs feeds Firehose,
 * instances stream sessions, Athena writes results, and every abuse is denied.
 *
 * @lane synth
 */
import { Case, PolicyDocument } from '../support/iam/engine';
import { asRole, defaultKeyPolicy, evaluate, OTHER_ACCOUNT, PLAIN_HTTP, roleSession, TLS, wrong } from '../support/iam/cases';
import { ACCOUNT, PARTITION, RenderedStack, renderStack } from '../support/iam/render';
import { synthStacks, testConfig } from '../support/synth';

const SESSION_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/5a1e2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b`;
const CONFIGS: Array<[string, Record<string, unknown>]> = [
  ['default', {}],
  ['every KMS option on', {
    sessionLogs: {
      archiveBucket: { encryption: 'SSE-KMS' },
      logGroup: { kms: 'create' },
      sessionDocument: { sessionKmsKeyArn: SESSION_KEY },
      createInstanceRole: true,
      alarms: { createTopic: true },
    },
  }],
];

function build(r: RenderedStack): Case[] {
  const w = r.world;
  const region = w.region;
  const arn = (service: string, resource: string, account = ACCOUNT) => `arn:${PARTITION}:${service}:${region}:${account}:${resource}`;
  const bucket = w.find('aws_s3_bucket', 'archive/bucket');
  const bucketPolicy = r.attachedTo(String(bucket.bucket)).map((p) => p.document)[0];
  const keyAt = (suffix: string) => w.addresses('aws_kms_key').find((a) => String(w.config(a)['//']?.metadata?.path).endsWith(suffix));
  const archiveKey = keyAt('archive/key');
  const keyArn = archiveKey ? String(w.of(archiveKey).arn) : undefined;
  const stream = w.find('aws_kinesis_firehose_delivery_stream', 'firehose/stream');
  const logGroup = w.find('aws_cloudwatch_log_group', 'log-group/group');
  const errorGroup = w.find('aws_cloudwatch_log_group', 'firehose/error-log-group');
  const roleNamed = (suffix: string) => w.find('aws_iam_role', suffix);
  const trustOf = (suffix: string) => r.policy(w.addresses('aws_iam_role').find((a) => w.of(a).name === roleNamed(suffix).name)!, 'assume_role_policy');
  const identityOf = (suffix: string) => r.attachedTo(String(roleNamed(suffix).name)).map((p) => p.document);

  const cases: Case[] = [];
  const tls = (extra: Record<string, string | string[]> = {}) => ({ ...TLS, ...extra });

  // Firehose assumes its role with sts:ExternalId = the account (Amazon Data Firehose Developer
  // Guide, "Grant Firehose access to an Amazon S3 destination").
  const firehoseRole = roleNamed('firehose/role');
  cases.push({ name: 'firehose.amazonaws.com assumes the delivery role', expect: 'Allowed', principal: 'firehose.amazonaws.com', action: 'sts:AssumeRole', resource: String(firehoseRole.arn),
    context: tls({ 'sts:ExternalId': ACCOUNT }), resourcePolicy: trustOf('firehose/role') });
  cases.push({ name: 'firehose.amazonaws.com for another account assumes the delivery role', expect: 'Denied', principal: 'firehose.amazonaws.com', action: 'sts:AssumeRole', resource: String(firehoseRole.arn),
    context: tls({ 'sts:ExternalId': OTHER_ACCOUNT }), resourcePolicy: trustOf('firehose/role') });

  const fh = (name: string, expect: Case['expect'], action: string, resource: string, context: Record<string, string | string[]> = {}, resourcePolicy: PolicyDocument | undefined = bucketPolicy): Case => ({
    name: `firehose ${name}`, expect, principal: roleSession(String(firehoseRole.name), 'AWSFirehoseToS3'), action, resource,
    context: asRole(String(firehoseRole.name), context), identity: identityOf('firehose/role'), resourcePolicy,
  });
  // Firehose with an SSE-KMS destination sends the key it was given; in SSE-S3 mode it sends no
  // encryption header and the bucket's default encryption applies.
  const firehoseSse: Record<string, string> = keyArn ? { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn } : {};
  const delivered = `${bucket.arn}/session-logs/year=2026/month=12/day=03/logrescue-dev-session-logs-1-2026-12-03-20-15-00-0a1b2c3d.gz`;
  const failed = `${bucket.arn}/session-logs-errors/processing-failed/year=2026/month=12/day=03/logrescue-dev-session-logs-1-2026-12-03-20-15-00-0a1b2c3d`;
  // The S3 actions of AWS's documented Firehose policy for an S3 destination.
  cases.push(fh('PutObject of a delivered batch', 'Allowed', 's3:PutObject', delivered, firehoseSse));
  cases.push(fh('PutObject of an error-output record', 'Allowed', 's3:PutObject', failed, firehoseSse));
  cases.push(fh('GetObject of its own delivered object', 'Allowed', 's3:GetObject', delivered));
  cases.push(fh('AbortMultipartUpload of its own delivery', 'Allowed', 's3:AbortMultipartUpload', delivered));
  for (const a of ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads']) cases.push(fh(a.split(':')[1], 'Allowed', a, String(bucket.arn)));
  const errorStream = `${errorGroup.arn}:log-stream:DestinationDelivery`;
  cases.push(fh('PutLogEvents into its error log stream', 'Allowed', 'logs:PutLogEvents', errorStream));
  if (keyArn) {
    const viaS3 = { 'kms:ViaService': `s3.${region}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': String(bucket.arn) };
    cases.push(fh('GenerateDataKey through S3 (bucket key)', 'Allowed', 'kms:GenerateDataKey', keyArn, viaS3, defaultKeyPolicy()));
    cases.push(fh('Decrypt through S3 (bucket key)', 'Allowed', 'kms:Decrypt', keyArn, viaS3, defaultKeyPolicy()));
    cases.push(fh('GenerateDataKey through S3 for another bucket', 'Denied', 'kms:GenerateDataKey', keyArn,
      { ...viaS3, 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::someone-elses-bucket' }, defaultKeyPolicy()));
    cases.push(fh('Decrypt directly, not through S3', 'Denied', 'kms:Decrypt', keyArn, { 'kms:EncryptionContext:aws:s3:arn': String(bucket.arn) }, defaultKeyPolicy()));
    cases.push(fh('PutObject without an encryption header (the bucket default applies)', 'Allowed', 's3:PutObject', delivered, {}));
  } else {
    cases.push(fh('PutObject with SSE-KMS on an SSE-S3 archive', 'Denied', 's3:PutObject', delivered, { 's3:x-amz-server-side-encryption': 'aws:kms' }));
  }
  cases.push(fh('PutObject outside its prefixes', 'Denied', 's3:PutObject', `${bucket.arn}/athena-results/x.csv`, firehoseSse));
  cases.push(fh('PutObject over plain HTTP', 'Denied', 's3:PutObject', delivered, { ...firehoseSse, ...PLAIN_HTTP }));
  cases.push(fh('DeleteObject of a delivered object', 'Denied', 's3:DeleteObject', delivered));
  cases.push(fh('GetObject outside its prefixes', 'Denied', 's3:GetObject', `${bucket.arn}/athena-results/x.csv`));
  cases.push(fh('PutLogEvents into another stream', 'Denied', 'logs:PutLogEvents', `${errorGroup.arn}:log-stream:other`));

  // CloudWatch Logs assumes the subscription role for the session log group.
  const subRole = roleNamed('subscription/role');
  const groupSource = `${logGroup.arn}:*`;
  cases.push({ name: 'logs.amazonaws.com assumes the subscription role for the session log group', expect: 'Allowed', principal: 'logs.amazonaws.com', action: 'sts:AssumeRole', resource: String(subRole.arn),
    context: tls({ 'aws:SourceArn': groupSource, 'aws:SourceAccount': ACCOUNT }), resourcePolicy: trustOf('subscription/role') });
  cases.push({ name: 'logs.amazonaws.com for another account\'s log group assumes the subscription role', expect: 'Denied', principal: 'logs.amazonaws.com', action: 'sts:AssumeRole', resource: String(subRole.arn),
    context: tls({ 'aws:SourceArn': arn('logs', 'log-group:/aws/ssm/session-logs:*', OTHER_ACCOUNT), 'aws:SourceAccount': OTHER_ACCOUNT }), resourcePolicy: trustOf('subscription/role') });
  const sub = (name: string, expect: Case['expect'], action: string, resource: string): Case => ({
    name: `subscription role ${name}`, expect, principal: roleSession(String(subRole.name), 'CWLtoKinesisFirehose'), action, resource,
    context: asRole(String(subRole.name)), identity: identityOf('subscription/role'),
  });
  cases.push(sub('PutRecord into the session stream', 'Allowed', 'firehose:PutRecord', String(stream.arn)));
  cases.push(sub('PutRecordBatch into the session stream', 'Allowed', 'firehose:PutRecordBatch', String(stream.arn)));
  cases.push(sub('PutRecordBatch into another stream', 'Denied', 'firehose:PutRecordBatch', arn('firehose', 'deliverystream/other')));

  // CloudWatch Logs uses the group's key, for that group only (CloudWatch Logs User Guide,
  // "Encrypt log data in CloudWatch Logs using AWS KMS").
  const groupKey = keyAt('log-group/key');
  if (groupKey) {
    const keyPolicy = r.policy(groupKey);
    const logsSvc = `logs.${region}.amazonaws.com`;
    for (const a of ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt']) {
      cases.push({ name: `CloudWatch Logs ${a} for the session group`, expect: 'Allowed', principal: logsSvc, action: a, resource: String(w.of(groupKey).arn),
        context: tls({ 'kms:EncryptionContext:aws:logs:arn': String(logGroup.arn) }), resourcePolicy: keyPolicy });
    }
    cases.push({ name: 'CloudWatch Logs GenerateDataKey for another log group', expect: 'Denied', principal: logsSvc, action: 'kms:GenerateDataKey', resource: String(w.of(groupKey).arn),
      context: tls({ 'kms:EncryptionContext:aws:logs:arn': arn('logs', 'log-group:/other') }), resourcePolicy: keyPolicy });
  }

  // An instance streams its session to the log group with the session policy attached to its role
  // (the SSM agent's session logging: it looks the group up, then creates a stream and puts events).
  const instancePolicy = r.policy(w.addresses('aws_iam_policy').find((a) => /session-logging$/.test(String(w.of(a).name)))!);
  const inst = (name: string, expect: Case['expect'], action: string, resource: string, context: Record<string, string | string[]> = {}, resourcePolicy?: PolicyDocument): Case => ({
    name: `instance ${name}`, expect, principal: roleSession('web-fleet-instance', 'i-0123456789abcdef0'), action, resource,
    context: asRole('web-fleet-instance', context), identity: [instancePolicy], resourcePolicy,
  });
  const sessionStream = `${logGroup.arn}:log-stream:alice-0a1b2c3d4e5f67890`;
  cases.push(inst('DescribeLogGroups (finds the session group)', 'Allowed', 'logs:DescribeLogGroups', '*'));
  cases.push(inst('CreateLogStream for a session', 'Allowed', 'logs:CreateLogStream', sessionStream));
  cases.push(inst('PutLogEvents of a session', 'Allowed', 'logs:PutLogEvents', sessionStream));
  cases.push(inst('DescribeLogStreams of the session group', 'Allowed', 'logs:DescribeLogStreams', String(logGroup.arn)));
  cases.push(inst('PutLogEvents into another log group', 'Denied', 'logs:PutLogEvents', arn('logs', 'log-group:/aws/lambda/other:log-stream:x')));
  cases.push(inst('DeleteLogGroup of the session group', 'Denied', 'logs:DeleteLogGroup', String(logGroup.arn)));
  cases.push(inst('PutObject into the archive', 'Denied', 's3:PutObject', delivered, firehoseSse, bucketPolicy));
  const sessionKey = w.config(w.addresses('aws_ssm_document')[0]).content?.includes(SESSION_KEY) ? SESSION_KEY : undefined;
  if (sessionKey) {
    cases.push(inst('Decrypt with the session key (session data)', 'Allowed', 'kms:Decrypt', sessionKey, {}, defaultKeyPolicy()));
    cases.push(inst('Decrypt with another key', 'Denied', 'kms:Decrypt', arn('kms', 'key/00000000-0000-4000-8000-000000000000'), {}, defaultKeyPolicy()));
  }

  // Athena writes query results with the querying user's credentials and the workgroup's
  // enforced result encryption (SSE_S3 -> AES256 header; SSE_KMS -> aws:kms + the key). The
  // analyst's own policy is the account's; the bucket policy must not stand in the way.
  // Results go to their own bucket (its policy, its key: the archive's when the archive uses KMS).
  const resultsBucket = w.find('aws_s3_bucket', 'analysis/results/bucket');
  const resultsPolicy = r.attachedTo(String(resultsBucket.bucket)).map((p) => p.document)[0];
  const analystPolicy: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: `${resultsBucket.arn}/athena-results/*` }] };
  const athenaSse: Record<string, string> = keyArn ? { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn } : { 's3:x-amz-server-side-encryption': 'AES256' };
  const result = `${resultsBucket.arn}/athena-results/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d.csv`;
  const analyst = (name: string, expect: Case['expect'], context: Record<string, string>): Case => ({
    name: `analyst (Athena) ${name}`, expect, principal: roleSession('analyst', 'alice'), action: 's3:PutObject', resource: result,
    context: asRole('analyst', context), identity: [analystPolicy], resourcePolicy: resultsPolicy,
  });
  cases.push(analyst('PutObject of query results with the workgroup\'s encryption', 'Allowed', athenaSse));
  cases.push(analyst('PutObject of query results over plain HTTP', 'Denied', { ...athenaSse, ...PLAIN_HTTP }));
  cases.push(analyst('PutObject of query results with another encryption', 'Denied', keyArn ? { 's3:x-amz-server-side-encryption': 'AES256' } : { 's3:x-amz-server-side-encryption': 'aws:kms' }));

  // Operators with the exported operator policy (custom document mode): sessions start only with
  // the logged document. What the engine cannot show: that ssm:SessionDocumentAccessCheck makes
  // Session Manager check the document of a session started without --document-name; it does
  // show that the default document, the one such a session would use, is denied.
  const operatorAddress = w.addresses('aws_iam_policy').find((a) => /session-operator$/.test(String(w.of(a).name)));
  const customDocument = w.find('aws_ssm_document', 'preferences/document');
  if (operatorAddress) {
    const operatorPolicy = r.policy(operatorAddress);
    const userId = 'AROAEXAMPLEOPERATOR1:alice';
    const op = (name: string, expect: Case['expect'], action: string, resource: string): Case => ({
      name: `operator ${name}`, expect, principal: roleSession('operator', 'alice'), action, resource,
      context: asRole('operator', { 'aws:userid': userId, ...(action === 'ssm:StartSession' ? { 'ssm:SessionDocumentAccessCheck': 'true' } : {}) }), identity: [operatorPolicy],
    });
    cases.push(op('StartSession on an instance', 'Allowed', 'ssm:StartSession', arn('ec2', 'instance/i-0123456789abcdef0')));
    cases.push(op(`StartSession with the logged document ${customDocument.name}`, 'Allowed', 'ssm:StartSession', String(customDocument.arn)));
    cases.push(op('StartSession with SSM-SessionManagerRunShell (console, Fleet Manager, no --document-name)', 'Denied', 'ssm:StartSession', arn('ssm', 'document/SSM-SessionManagerRunShell')));
    cases.push(op('StartSession with AWS-StartPortForwardingSession', 'Denied', 'ssm:StartSession', arn('ssm', 'document/AWS-StartPortForwardingSession')));
    cases.push(op('TerminateSession of its own session', 'Allowed', 'ssm:TerminateSession', arn('ssm', 'session/alice-0a1b2c3d4e5f67890')));
    cases.push(op('TerminateSession of a session in another account', 'Denied', 'ssm:TerminateSession', arn('ssm', 'session/alice-0a1b2c3d4e5f67890', OTHER_ACCOUNT)));
  }

  // The alarm topic, when the stack creates one.
  for (const t of w.addresses('aws_sns_topic').map((a) => w.of(a))) {
    const topicPolicy = r.attachedTo(String(t.arn)).map((p) => p.document)[0];
    const alarm = (account: string) => tls({ 'aws:SourceArn': arn('cloudwatch', 'alarm:logrescue-dev-session-logs-firehose-freshness', account), 'aws:SourceAccount': account });
    cases.push({ name: `CloudWatch alarm publishes to ${t.name}`, expect: 'Allowed', principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: String(t.arn), context: alarm(ACCOUNT), resourcePolicy: topicPolicy });
    cases.push({ name: `CloudWatch alarm of another account publishes to ${t.name}`, expect: 'Denied', principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: String(t.arn), context: alarm(OTHER_ACCOUNT), resourcePolicy: topicPolicy });
  }
  return cases;
}

describe.each(CONFIGS)('session-logs policies judged by the IAM engine (%s config)', (label, overrides) => {
  let cases: Case[];
  beforeAll(() => {
    cases = build(renderStack(synthStacks(testConfig(overrides))['session-logs']));
  });

  it('allows every call the system makes and denies every abuse', async () => {
    const results = await evaluate(`session-logs (${label})`, cases);
    expect(results.length).toBeGreaterThan(25);
    expect(wrong(results)).toEqual([]);
  });

  it('exports an operator policy in custom document mode, none when adopting the default document', () => {
    expect(cases.some((c) => c.name.startsWith('operator StartSession with the logged document'))).toBe(true);
    const adopt = synthStacks(testConfig({ ...overrides, sessionLogs: { ...(overrides.sessionLogs as object), sessionDocument: { mode: 'adopt', s3Logging: 'none', sessionKmsKeyArn: 'none' } } }))['session-logs'];
    expect(Object.values(adopt.resource?.aws_iam_policy ?? {}).map((p: any) => p.name)).not.toContain('logrescue-dev-session-operator');
    expect(adopt.output?.operator_policy_arn).toBeUndefined();
  });
});
