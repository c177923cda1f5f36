/**
 * The bad-input catalogue, loaded the way a user's config is (config/load.ts: the file named by
 * LOG_RESCUE_CONFIG, through main): every entry must stop the app with exit code 1, name the field
 * in the message, and leave no synthesized output behind. The rules themselves are config/schema.ts's.
 *
 * @lane unit
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../main';
import { deepMerge } from '../support/synth';
import defaults from '../../config/default.json';

const KMS = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** [what is wrong, config overrides, field the message must name, text the message must contain] */
type Row = [string, Record<string, unknown>, string, string?];
const CATALOGUE: Row[] = [
  ['region that does not exist', { region: 'us-east-9' }, 'region', 'an AWS region'],
  ['region of the wrong type', { region: 42 }, 'region', 'type string'],
  ['project with spaces and capitals', { project: 'My Project' }, 'project', 'lowercase letters'],
  ['empty environment', { environment: '' }, 'environment'],
  ['owner tag with a semicolon', { owner: 'team;rm' }, 'owner', 'a tag value'],
  ['tag key in the reserved aws: namespace', { tags: { 'aws:cost': 'x' } }, 'tags.aws:cost', 'not starting with aws:'],
  ['unknown backend type', { backend: { type: 'consul' } }, 'backend.type', 'one of local, s3, cloud'],
  ['s3 backend without bucket', { backend: { type: 's3', region: 'us-east-1' } }, 'backend.bucket', 'type string'],
  ['s3 backend with an invalid bucket name', { backend: { type: 's3', bucket: 'Bad_Bucket', region: 'us-east-1' } }, 'backend.bucket', 'a valid S3 bucket name'],
  ['s3 backend in a region that does not exist', { backend: { type: 's3', bucket: 'tf-state', region: 'moon-1' } }, 'backend.region'],
  ['local state outside the project (absolute)', { backend: { type: 'local', directory: '/var/lib/state' } }, 'backend.directory', 'a relative path'],
  ['local state outside the project (..)', { backend: { type: 'local', directory: '../../elsewhere' } }, 'backend.directory', 'no ..'],
  ['cloud organization with spaces', { backend: { type: 'cloud', organization: 'acme corp' } }, 'backend.organization'],
  ['remote state with an uppercase name', { remoteStates: { Fleet: { type: 'local', path: '/tmp/x.tfstate' } } }, 'remoteStates.Fleet'],
  ['group read from an undeclared state', { logRescue: { autoScalingGroups: [{ fromRemoteState: { state: 'fleet', output: 'asg' } }] } }, 'logRescue.autoScalingGroups[0].fromRemoteState.state', 'declared under remoteStates'],
  ['empty group list with the hook on', { logRescue: { autoScalingGroups: [] } }, 'logRescue.autoScalingGroups', 'at least one group'],
  ['group name with shell metacharacters', { logRescue: { autoScalingGroups: ['web;rm -rf /'] } }, 'logRescue.autoScalingGroups[0]'],
  ['heartbeat below 30 s', { logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: 20 } } }, 'logRescue.lifecycleHook.heartbeatTimeoutSeconds', '30..7200'],
  ['heartbeat above 7200 s', { logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: 7201 } } }, 'logRescue.lifecycleHook.heartbeatTimeoutSeconds', '30..7200'],
  ['fractional heartbeat', { logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: 300.5 } } }, 'logRescue.lifecycleHook.heartbeatTimeoutSeconds', 'integer'],
  ['heartbeat given as a string', { logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: '300' } } }, 'logRescue.lifecycleHook.heartbeatTimeoutSeconds'],
  ['unknown lifecycle default result', { logRescue: { lifecycleHook: { defaultResult: 'ABORT' } } }, 'logRescue.lifecycleHook.defaultResult', '"CONTINUE", "ABANDON"'],
  ['hook name with spaces', { logRescue: { lifecycleHook: { name: 'my hook' } } }, 'logRescue.lifecycleHook.name'],
  ['command without 240 s to spare before the heartbeat', { logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: 800 }, command: { executionTimeoutSeconds: 600 } } }, 'logRescue.command.executionTimeoutSeconds', 'heartbeatTimeoutSeconds - 240'],
  ['relative log glob', { logRescue: { command: { logGlobs: ['var/log/messages'] } } }, 'logRescue.command.logGlobs[0]', 'an absolute path'],
  ['command substitution in a log glob', { logRescue: { command: { logGlobs: ['/var/log/$(reboot)'] } } }, 'logRescue.command.logGlobs[0]', 'no shell metacharacters'],
  ['backticks in a log glob', { logRescue: { command: { logGlobs: ['/var/log/`id`'] } } }, 'logRescue.command.logGlobs[0]'],
  ['semicolon in a log glob', { logRescue: { command: { logGlobs: ['/var/log/a;b'] } } }, 'logRescue.command.logGlobs[0]'],
  ['newline in a log glob', { logRescue: { command: { logGlobs: ['/var/log/a\nreboot'] } } }, 'logRescue.command.logGlobs[0]'],
  ['path traversal in a log glob', { logRescue: { command: { logGlobs: ['/var/log/../../etc/shadow'] } } }, 'logRescue.command.logGlobs[0]', 'no . or .. path segments'],
  ['a . segment in a log glob', { logRescue: { command: { logGlobs: ['/var/log/./messages'] } } }, 'logRescue.command.logGlobs[0]', 'no . or .. path segments'],
  ['the whole disk as a log glob', { logRescue: { command: { logGlobs: ['/'] } } }, 'logRescue.command.logGlobs[0]', 'not /, /proc, /sys or /dev'],
  ['a pseudo-filesystem as a log glob', { logRescue: { command: { logGlobs: ['/proc/*'] } } }, 'logRescue.command.logGlobs[0]', 'not /, /proc, /sys or /dev'],
  ['the same group twice', { logRescue: { autoScalingGroups: ['web-fleet', 'web-fleet'] } }, 'logRescue.autoScalingGroups[1]', 'no duplicates'],
  ['the same role twice', { logRescue: { attachInstancePolicyToRoles: ['fleet-role', 'fleet-role'] } }, 'logRescue.attachInstancePolicyToRoles[1]', 'no duplicates'],
  ['a workspace for a stack that does not exist', { backend: { type: 'cloud', organization: 'acme', workspaces: { 'log-rescu': 'ws' } } }, 'backend.workspaces.log-rescu', 'one of "log-rescue", "session-logs", "demo-fleet"'],
  ['log globs too long for the SSM document in all', { logRescue: { command: { logGlobs: Array.from({ length: 50 }, () => `/var/log/${'a'.repeat(100)}`) } } }, 'logRescue.command.logGlobs', 'at most 4096 characters in all'],
  ['no log globs at all', { logRescue: { command: { logGlobs: [] } } }, 'logRescue.command.logGlobs', 'at least one glob'],
  ['key prefix with a leading slash', { logRescue: { prefix: '/instance-logs' } }, 'logRescue.prefix'],
  ['key prefix with ..', { logRescue: { prefix: 'logs/../other' } }, 'logRescue.prefix'],
  ['bucket name too short', { logRescue: { archiveBucket: { bucketName: 'ab' } } }, 'logRescue.archiveBucket.bucketName', 'length 3..63'],
  ['bucket name shaped like an IP address', { logRescue: { archiveBucket: { bucketName: '192.168.0.1' } } }, 'logRescue.archiveBucket.bucketName', 'IP address'],
  ['existing and new bucket name together', { logRescue: { archiveBucket: { existingBucketName: 'central-logs', bucketName: 'new-logs' } } }, 'logRescue.archiveBucket.bucketName', 'not together with existingBucketName'],
  ['KMS key with SSE-S3', { logRescue: { archiveBucket: { kmsKeyArn: KMS } } }, 'logRescue.archiveBucket.kmsKeyArn', 'only with encryption SSE-KMS'],
  ['KMS key that is not an ARN', { logRescue: { archiveBucket: { encryption: 'SSE-KMS', kmsKeyArn: 'alias/logs' } } }, 'logRescue.archiveBucket.kmsKeyArn', 'an ARN'],
  ['STANDARD_IA before 30 days', { logRescue: { archiveBucket: { lifecycle: { storageClass: 'STANDARD_IA', transitionDays: 10 } } } }, 'logRescue.archiveBucket.lifecycle.transitionDays', 'at least 30'],
  ['expiry before the transition', { logRescue: { archiveBucket: { lifecycle: { transitionDays: 30, expirationDays: 20 } } } }, 'logRescue.archiveBucket.lifecycle.expirationDays'],
  ['expiry shorter than Object Lock retention', { logRescue: { archiveBucket: { objectLock: { mode: 'COMPLIANCE', days: 400 } } } }, 'logRescue.archiveBucket.lifecycle.expirationDays', 'objectLock.days'],
  ['handler memory below Lambda minimum', { logRescue: { handler: { memoryMb: 64 } } }, 'logRescue.handler.memoryMb', '128..10240'],
  ['mapping concurrency above the reserved concurrency', { logRescue: { handler: { reservedConcurrency: 10, maximumConcurrency: 20 } } }, 'logRescue.handler.maximumConcurrency', 'at most handler.reservedConcurrency (10)'],
  ['retry attempts above EventBridge maximum', { logRescue: { retry: { maximumRetryAttempts: 200 } } }, 'logRescue.retry.maximumRetryAttempts', '0..185'],
  ['alarm e-mail without a topic to subscribe', { logRescue: { alarms: { email: 'oncall@example.com' } } }, 'logRescue.alarms.email', 'only with createTopic'],
  ['alarm topic that is not an SNS ARN', { logRescue: { alarms: { snsTopicArn: 'arn:aws:sqs:us-east-1:111122223333:q' } } }, 'logRescue.alarms.snsTopicArn'],
  ['session log retention CloudWatch does not accept', { sessionLogs: { logGroup: { retentionDays: 4 } } }, 'sessionLogs.logGroup.retentionDays', 'CloudWatch Logs accepts'],
  ['INFREQUENT_ACCESS log class', { sessionLogs: { logGroup: { class: 'INFREQUENT_ACCESS' } } }, 'sessionLogs.logGroup.class', 'subscription filters'],
  ['run-as on without a user', { sessionLogs: { sessionDocument: { runAsEnabled: true } } }, 'sessionLogs.sessionDocument.runAsDefaultUser', 'required'],
  ['VPC endpoints on without a VPC', { sessionLogs: { vpcEndpoints: { enabled: true } } }, 'sessionLogs.vpcEndpoints.vpcId', 'required'],
  ['typo at the top level', { regoin: 'us-east-1' }, 'regoin', 'no such key'],
  ['typo in a nested object', { logRescue: { lifecycleHook: { heartbeat: 300 } } }, 'logRescue.lifecycleHook.heartbeat', 'no such key'],
];

describe('bad-input catalogue', () => {
  it('has at least 30 entries', () => expect(CATALOGUE.length).toBeGreaterThanOrEqual(30));

  // A rest parameter keeps jest from taking a missing 4th column for a `done` callback.
  it.each(CATALOGUE)('%s: exit 1, names the field, writes nothing', (...[, overrides, field, text]: Row) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-bad-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(deepMerge(defaults, overrides)));
    const outdir = path.join(dir, 'cdktf.out');
    let stderr = '';
    const code = main({ LOG_RESCUE_CONFIG: file, CDKTF_OUTDIR: outdir }, { write: (s: string) => { stderr += s; } });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^  - ${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: got `, 'm'));
    if (text) expect(stderr).toContain(text);
    expect(existsSync(outdir)).toBe(false);
  });
});
