/**
 * The log-rescue stack's policies, as Terraform will create them, judged by an IAM engine: every
 * call the system makes is allowed (identity and resource policy together, with the context the
 * real caller sends) and every abuse is denied.
 *
 * @lane synth
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Case, PolicyDocument } from '../support/iam/engine';
import { asRole, defaultKeyPolicy, evaluate, OTHER_ACCOUNT, PLAIN_HTTP, roleSession, TLS, wrong } from '../support/iam/cases';
import { ACCOUNT, PARTITION, RenderedStack, renderStack } from '../support/iam/render';
import { synthStacks, testConfig } from '../support/synth';

const HANDLER_DIR = path.join(__dirname, '../../handlers/log-rescue');
/** IAM service prefix of each AWS SDK v3 client package the handler uses. */
const SDK_CLIENT_PREFIX: Record<string, string> = { 'client-ssm': 'ssm', 'client-auto-scaling': 'autoscaling', 'client-sqs': 'sqs' };

/**
 * The IAM actions the handler's code calls: every `XCommand` it imports from an AWS SDK client is
 * the action `<prefix>:X`. A new call without a case below fails the coverage test.
 */
export function handlerSdkActions(): string[] {
  const actions = new Set<string>();
  for (const file of readdirSync(HANDLER_DIR).filter((f) => f.endsWith('.ts'))) {
    const src = readFileSync(path.join(HANDLER_DIR, file), 'utf8');
    for (const m of src.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/([a-z0-9-]+)'/g)) {
      const prefix = SDK_CLIENT_PREFIX[m[2]];
      // Only command classes (`SendCommandCommand`), not types such as `Command` or `CommandPlugin`.
      const commands = m[1].split(',').map((s) => s.trim()).filter((s) => /^[A-Z][A-Za-z0-9]+Command$/.test(s));
      if (commands.length && !prefix) throw new Error(`${file} imports commands from @aws-sdk/${m[2]}: add its IAM prefix to SDK_CLIENT_PREFIX`);
      for (const c of commands) actions.add(`${prefix}:${c.replace(/Command$/, '')}`);
    }
  }
  return [...actions].sort();
}

const CONFIGS: Array<[string, Record<string, unknown>, Record<string, Record<string, unknown>>?]> = [
  ['default', {}],
  ['every KMS option on', { logRescue: { archiveBucket: { encryption: 'SSE-KMS' }, alarms: { createTopic: true } } }],
  // Groups another team's state owns: the policy's group list is a Terraform expression over that
  // state's output, evaluated here with the output's value.
  ['groups from another team\'s state', {
    remoteStates: { fleet: { type: 's3', bucket: 'acme-tf-state', key: 'fleet/terraform.tfstate', region: 'us-east-1' } },
    logRescue: { autoScalingGroups: ['web-fleet', { fromRemoteState: { state: 'fleet', output: 'asg_names' } }] },
  }, { fleet: { asg_names: ['batch-fleet', 'web-fleet'] } }],
];

const INSTANCE = 'i-0123456789abcdef0';
const OTHER_INSTANCE = 'i-0fedcba9876543210';
const EVENT_TIME = '2026-12-03T20-15-00Z';

interface Built { cases: Case[]; handlerCalls: string[] }

function build(r: RenderedStack): Built {
  const w = r.world;
  const region = w.region;
  const arn = (service: string, resource: string, account = ACCOUNT) => `arn:${PARTITION}:${service}:${region}:${account}:${resource}`;
  const bucket = w.find('aws_s3_bucket', 'archive/bucket');
  const bucketName = String(bucket.bucket);
  const bucketPolicy = r.attachedTo(bucketName).map((p) => p.document)[0];
  const role = w.find('aws_iam_role', 'handler/role');
  const roleName = String(role.name);
  const fn = w.find('aws_lambda_function', 'handler/function');
  const handlerIdentity = r.attachedTo(roleName).map((p) => p.document);
  const handler = roleSession(roleName, String(fn.function_name));
  const queue = w.find('aws_sqs_queue', 'event-queue/queue');
  const dlq = w.find('aws_sqs_queue', 'events/dlq');
  const queuePolicy = r.attachedTo(String(queue.url)).map((p) => p.document)[0];
  const dlqPolicy = r.attachedTo(String(dlq.url)).map((p) => p.document)[0];
  const document = w.find('aws_ssm_document', 'document');
  const logGroup = w.find('aws_cloudwatch_log_group', 'handler/logs');
  const rules = w.addresses('aws_cloudwatch_event_rule').map((a) => w.of(a));
  const trust = r.policy(w.addresses('aws_iam_role').find((a) => w.of(a).name === roleName)!, 'assume_role_policy');
  const env = w.config(w.addresses('aws_lambda_function')[0]).environment.variables;
  const groups = String(w.evaluate([env.ASG_NAMES])[0]).split(',');
  const instancePolicy = r.policy(w.addresses('aws_iam_policy').find((a) => /instance-upload$/.test(String(w.of(a).name)))!);
  const keyArn = w.addresses('aws_kms_key').map((a) => String(w.of(a).arn))[0];

  const groupArn = (g: string) => arn('autoscaling', `autoScalingGroup:6d3c9b5e-2f4a-4c1e-9a7b-0e5d8c4f1a2b:autoScalingGroupName/${g}`);
  const instanceArn = (id: string) => arn('ec2', `instance/${id}`);
  const tagged = (g: string) => ({ 'ssm:resourceTag/aws:autoscaling:groupName': g, 'aws:ResourceTag/aws:autoscaling:groupName': g });
  const h = (name: string, expect: Case['expect'], action: string, resource: string, context: Record<string, string | string[]> = {}, resourcePolicy?: PolicyDocument): Case => ({
    name: `handler ${name}`, expect, principal: handler, action, resource, context: asRole(roleName, context), identity: handlerIdentity, resourcePolicy,
  });

  const cases: Case[] = [];
  const handlerCalls: string[] = [];
  const call = (c: Case) => { handlerCalls.push(c.action); cases.push(c); };

  // Lambda assumes the execution role for the function (and sends the function's account).
  cases.push({ name: 'lambda.amazonaws.com assumes the handler role', expect: 'Allowed', principal: 'lambda.amazonaws.com', action: 'sts:AssumeRole', resource: String(role.arn),
    context: { ...TLS, 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': String(fn.arn) }, resourcePolicy: trust });
  cases.push({ name: 'lambda.amazonaws.com for another account\'s function assumes the handler role', expect: 'Denied', principal: 'lambda.amazonaws.com', action: 'sts:AssumeRole', resource: String(role.arn),
    context: { ...TLS, 'aws:SourceAccount': OTHER_ACCOUNT, 'aws:SourceArn': arn('lambda', 'function:evil', OTHER_ACCOUNT) }, resourcePolicy: trust });

  for (const g of groups) {
    // One SendCommand is authorized against the document and against every target instance.
    call(h(`SendCommand: the rescue document (group ${g})`, 'Allowed', 'ssm:SendCommand', String(document.arn)));
    call(h(`SendCommand: an instance tagged with protected group ${g}`, 'Allowed', 'ssm:SendCommand', instanceArn(INSTANCE), tagged(g)));
    call(h(`CompleteLifecycleAction on protected group ${g}`, 'Allowed', 'autoscaling:CompleteLifecycleAction', groupArn(g)));
    call(h(`RecordLifecycleActionHeartbeat on protected group ${g}`, 'Allowed', 'autoscaling:RecordLifecycleActionHeartbeat', groupArn(g)));
  }
  // Actions without resource-level permissions are authorized against "*".
  for (const a of ['ssm:DescribeInstanceInformation', 'autoscaling:DescribeAutoScalingInstances', 'ssm:ListCommands', 'ssm:ListCommandInvocations']) {
    call(h(`${a.split(':')[1]}`, 'Allowed', a, '*'));
  }
  call(h('SendMessage: an event back to its own queue (look again later)', 'Allowed', 'sqs:SendMessage', String(queue.arn), {}, queuePolicy));
  // What the event source mapping does with the execution role (AWS Lambda Developer Guide,
  // "Using Lambda with Amazon SQS": ReceiveMessage, DeleteMessage, GetQueueAttributes).
  for (const a of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) {
    cases.push(h(`(event source mapping) ${a.split(':')[1]} on the event queue`, 'Allowed', a, String(queue.arn), {}, queuePolicy));
  }
  // Lambda writes the function's logs with the execution role.
  const stream = `${logGroup.arn}:log-stream:2026/12/03/[$LATEST]0123456789abcdef0123456789abcdef`;
  cases.push(h('(Lambda runtime) CreateLogStream in its log group', 'Allowed', 'logs:CreateLogStream', stream));
  cases.push(h('(Lambda runtime) PutLogEvents in its log group', 'Allowed', 'logs:PutLogEvents', stream));

  // Abuses by the handler's role.
  // AWS-owned documents have no account in their ARN (arn:aws:ssm:<region>::document/AWS-...),
  // a form the engine cannot match to the document resource type; the account form is what it can
  // evaluate, and the policy names one exact document ARN either way.
  cases.push(h('SendCommand: AWS-RunShellScript', 'Denied', 'ssm:SendCommand', arn('ssm', 'document/AWS-RunShellScript')));
  cases.push(h('SendCommand: another document of the account', 'Denied', 'ssm:SendCommand', arn('ssm', 'document/someone-elses-document')));
  cases.push(h('SendCommand: an untagged instance', 'Denied', 'ssm:SendCommand', instanceArn(OTHER_INSTANCE)));
  cases.push(h('SendCommand: an instance of another group', 'Denied', 'ssm:SendCommand', instanceArn(OTHER_INSTANCE), tagged('payments-fleet')));
  cases.push(h('CompleteLifecycleAction on another group', 'Denied', 'autoscaling:CompleteLifecycleAction', groupArn('payments-fleet')));
  cases.push(h('RecordLifecycleActionHeartbeat on another group', 'Denied', 'autoscaling:RecordLifecycleActionHeartbeat', groupArn('payments-fleet')));
  cases.push(h('SendMessage to another queue', 'Denied', 'sqs:SendMessage', arn('sqs', 'payments-orders')));
  cases.push(h('ReceiveMessage from the dead-letter queue', 'Denied', 'sqs:ReceiveMessage', String(dlq.arn), {}, dlqPolicy));
  cases.push(h('DeleteMessage on another queue', 'Denied', 'sqs:DeleteMessage', arn('sqs', 'payments-orders')));
  cases.push(h('ChangeMessageVisibility on the event queue (nothing uses it)', 'Denied', 'sqs:ChangeMessageVisibility', String(queue.arn), {}, queuePolicy));
  cases.push(h('SendMessage to its queue over plain HTTP', 'Denied', 'sqs:SendMessage', String(queue.arn), PLAIN_HTTP, queuePolicy));
  cases.push(h('PutLogEvents into another log group', 'Denied', 'logs:PutLogEvents', arn('logs', 'log-group:/aws/lambda/other:log-stream:x')));
  cases.push(h('PutObject into the archive', 'Denied', 's3:PutObject', `${bucket.arn}/instance-logs/x`, { 's3:x-amz-server-side-encryption': keyArn ? 'aws:kms' : 'AES256' }, bucketPolicy));

  // EventBridge delivers each rule's events to the event queue, and dead-letters to the DLQ.
  for (const rule of rules) {
    const ctx = { ...TLS, 'aws:SourceArn': String(rule.arn), 'aws:SourceAccount': ACCOUNT };
    cases.push({ name: `EventBridge rule ${rule.name} sends to the event queue`, expect: 'Allowed', principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: String(queue.arn), context: ctx, resourcePolicy: queuePolicy });
    cases.push({ name: `EventBridge rule ${rule.name} dead-letters to the DLQ`, expect: 'Allowed', principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: String(dlq.arn), context: ctx, resourcePolicy: dlqPolicy });
  }
  const foreignRule = { ...TLS, 'aws:SourceArn': arn('events', 'rule/someone-elses-rule'), 'aws:SourceAccount': ACCOUNT };
  cases.push({ name: 'EventBridge: another rule of the account sends to the event queue', expect: 'Denied', principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: String(queue.arn), context: foreignRule, resourcePolicy: queuePolicy });
  cases.push({ name: 'EventBridge: a rule of another account sends to the event queue', expect: 'Denied', principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: String(queue.arn),
    context: { ...TLS, 'aws:SourceArn': arn('events', `rule/${rules[0].name}`, OTHER_ACCOUNT), 'aws:SourceAccount': OTHER_ACCOUNT }, resourcePolicy: queuePolicy });
  cases.push({ name: 'EventBridge: another rule dead-letters to the DLQ', expect: 'Denied', principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: String(dlq.arn), context: foreignRule, resourcePolicy: dlqPolicy });
  cases.push({ name: 'EventBridge: our rule sends over plain HTTP', expect: 'Denied', principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: String(queue.arn),
    context: { ...PLAIN_HTTP, 'aws:SourceArn': String(rules[0].arn), 'aws:SourceAccount': ACCOUNT }, resourcePolicy: queuePolicy });

  // The instance's upload, as the rescue script sends it (collect-logs.sh: put-object with
  // --server-side-encryption AES256, or aws:kms with --ssekms-key-id), with an instance role that
  // has the exported upload policy attached. EC2 names the role session after the instance.
  const instanceRole = 'web-fleet-instance';
  const instance = roleSession(instanceRole, INSTANCE);
  const sse: Record<string, string> = keyArn
    ? { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn }
    : { 's3:x-amz-server-side-encryption': 'AES256' };
  const key = (g: string, id: string, file: string) => `${bucket.arn}/instance-logs/${g}/${id}/${EVENT_TIME}/${file}`;
  const up = (name: string, expect: Case['expect'], action: string, resource: string, context: Record<string, string | string[]>, resourcePolicy: PolicyDocument | undefined = bucketPolicy): Case => ({
    name: `instance ${name}`, expect, principal: instance, action, resource, context: asRole(instanceRole, context), identity: [instancePolicy], resourcePolicy,
  });
  for (const file of ['logs.tar.gz', 'manifest.json']) {
    // PutObject also authorizes CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
    cases.push(up(`PutObject ${file} with the script's encryption headers`, 'Allowed', 's3:PutObject', key(groups[0], INSTANCE, file), sse));
  }
  cases.push(up('AbortMultipartUpload of its failed upload', 'Allowed', 's3:AbortMultipartUpload', key(groups[0], INSTANCE, 'logs.tar.gz'), {}));
  cases.push(up('AbortMultipartUpload outside its prefix', 'Denied', 's3:AbortMultipartUpload', `${bucket.arn}/session-logs/x.gz`, {}));
  if (keyArn) {
    // S3 asks KMS for a data key on the caller's behalf; with an S3 Bucket Key the encryption
    // context is the bucket ARN (Amazon S3 User Guide, "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys").
    const kmsCtx = { 'kms:ViaService': `s3.${region}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': String(bucket.arn), 'kms:CallerAccount': ACCOUNT };
    cases.push(up('GenerateDataKey through S3 for its upload', 'Allowed', 'kms:GenerateDataKey', keyArn, kmsCtx, defaultKeyPolicy()));
    cases.push(up('GenerateDataKey directly, not through S3', 'Denied', 'kms:GenerateDataKey', keyArn, { 'kms:CallerAccount': ACCOUNT }, defaultKeyPolicy()));
    cases.push(up('GenerateDataKey through S3 for another bucket', 'Denied', 'kms:GenerateDataKey', keyArn,
      { ...kmsCtx, 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::someone-elses-bucket' }, defaultKeyPolicy()));
    cases.push(up('Encrypt with the archive key through S3 (S3 never calls it)', 'Denied', 'kms:Encrypt', keyArn, kmsCtx, defaultKeyPolicy()));
    cases.push(up('Decrypt through S3 for its multipart upload', 'Allowed', 'kms:Decrypt', keyArn, kmsCtx, defaultKeyPolicy()));
    cases.push(up('Decrypt directly, not through S3', 'Denied', 'kms:Decrypt', keyArn, { 'kms:EncryptionContext:aws:s3:arn': String(bucket.arn) }, defaultKeyPolicy()));
    cases.push(up('Decrypt through S3 for another bucket', 'Denied', 'kms:Decrypt', keyArn,
      { ...kmsCtx, 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::someone-elses-bucket' }, defaultKeyPolicy()));
    cases.push(up('PutObject with SSE-S3 instead of the archive key', 'Denied', 's3:PutObject', key(groups[0], INSTANCE, 'logs.tar.gz'), { 's3:x-amz-server-side-encryption': 'AES256' }));
    cases.push(up('PutObject with another KMS key', 'Denied', 's3:PutObject', key(groups[0], INSTANCE, 'logs.tar.gz'),
      { 's3:x-amz-server-side-encryption': 'aws:kms', 's3:x-amz-server-side-encryption-aws-kms-key-id': arn('kms', 'key/00000000-0000-4000-8000-000000000000') }));
  } else {
    cases.push(up('PutObject with SSE-KMS on an SSE-S3 archive', 'Denied', 's3:PutObject', key(groups[0], INSTANCE, 'logs.tar.gz'), { 's3:x-amz-server-side-encryption': 'aws:kms' }));
  }
  if (keyArn) {
    // S3 would use the AWS managed aws/s3 key, not the archive's (Amazon S3 User Guide, "Specifying
    // server-side encryption with AWS KMS (SSE-KMS)").
    cases.push(up('PutObject with aws:kms but no key id', 'Denied', 's3:PutObject', key(groups[0], INSTANCE, 'logs.tar.gz'), { 's3:x-amz-server-side-encryption': 'aws:kms' }));
  }
  cases.push(up('PutObject without an encryption header (the bucket default applies)', 'Allowed', 's3:PutObject', key(groups[0], INSTANCE, 'logs.tar.gz'), {}));
  cases.push(up('PutObject outside its prefix', 'Denied', 's3:PutObject', `${bucket.arn}/session-logs/x.gz`, sse));
  cases.push(up('PutObject over plain HTTP', 'Denied', 's3:PutObject', key(groups[0], INSTANCE, 'logs.tar.gz'), { ...sse, ...PLAIN_HTTP }));
  cases.push(up('DeleteObject of its own upload', 'Denied', 's3:DeleteObject', key(groups[0], INSTANCE, 'logs.tar.gz'), {}));
  cases.push(up('GetObject of another instance\'s logs', 'Denied', 's3:GetObject', key(groups[0], OTHER_INSTANCE, 'logs.tar.gz'), {}));
  cases.push(up('ListBucket of the archive', 'Denied', 's3:ListBucket', String(bucket.arn), {}));

  // The alarm topic, when the stack creates one: CloudWatch alarms of this account publish.
  const topics = w.addresses('aws_sns_topic').map((a) => w.of(a));
  for (const t of topics) {
    const topicPolicy = r.attachedTo(String(t.arn)).map((p) => p.document)[0];
    const alarm = (account: string) => ({ ...TLS, 'aws:SourceArn': arn('cloudwatch', 'alarm:logrescue-dev-log-rescue-not-rescued', account), 'aws:SourceAccount': account });
    cases.push({ name: `CloudWatch alarm publishes to ${t.name}`, expect: 'Allowed', principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: String(t.arn), context: alarm(ACCOUNT), resourcePolicy: topicPolicy });
    cases.push({ name: `CloudWatch alarm of another account publishes to ${t.name}`, expect: 'Denied', principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: String(t.arn), context: alarm(OTHER_ACCOUNT), resourcePolicy: topicPolicy });
  }
  return { cases, handlerCalls };
}

describe.each(CONFIGS)('log-rescue policies judged by the IAM engine (%s config)', (label, overrides, remoteOutputs) => {
  let built: Built;
  beforeAll(() => {
    built = build(renderStack(synthStacks(testConfig(overrides))['log-rescue'], remoteOutputs));
  });

  it('allows every call the system makes and denies every abuse', async () => {
    const results = await evaluate(`log-rescue (${label})`, built.cases);
    expect(results.length).toBeGreaterThan(40);
    if (remoteOutputs) expect(results.map((r) => r.name)).toContain('handler CompleteLifecycleAction on protected group batch-fleet');
    expect(wrong(results)).toEqual([]);
  });

  it('has an allowed case for every AWS call the handler\'s code makes', () => {
    const sdk = handlerSdkActions();
    // What the handler imports today; a new command must get a case above.
    expect(sdk.length).toBeGreaterThanOrEqual(8);
    expect(sdk.filter((a) => !built.handlerCalls.includes(a))).toEqual([]);
  });
});
