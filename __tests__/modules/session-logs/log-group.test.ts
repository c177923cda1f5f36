/**
 * SessionLogGroup on a bare stack: the group its flat props make, and with kms "none", "create" or
 * a key ARN which key (if any) it makes, uses or keeps from deletion; then the session-logs stack's
 * defaults for it.
 * @lane synth
 */
import { resourceAt, resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { contextRefs, parseJsonencode, sessionStack } from '../../stacks/session-logs.helpers';
import { SessionLogGroup, SessionLogGroupProps } from '../../../modules/session-logs/log-group';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

type Props = Omit<SessionLogGroupProps, 'aws'>;

const PROPS: Props = {
  name: '/acme/sessions',
  retentionDays: 14,
  logGroupClass: 'STANDARD',
  kms: 'none',
  namePrefix: 'acme-prod',
};

/** The log group (construct id `log-group`) on a bare stack in eu-west-1. */
function synth(over: Partial<Props> = {}): { s: StackJson; group: SessionLogGroup } {
  const b = bareStack('eu-west-1');
  const group = new SessionLogGroup(b.stack, 'log-group', { ...PROPS, ...over, aws: b.aws });
  return { s: synthBare(b.stack), group };
}

/** The `removed` block that keeps a key made under an earlier config from deletion. */
const KEEP_OLD_KEY = { from: 'aws_kms_key.sessions', lifecycle: { destroy: false } };

describe('SessionLogGroup', () => {
  it('takes name, retention and class from its props, at aws_cloudwatch_log_group.sessions', () => {
    const { s, group } = synth();
    expect(Object.keys(resourcesOf(s, 'aws_cloudwatch_log_group'))).toEqual(['sessions']);
    expect(at(s, 'aws_cloudwatch_log_group', 'sessions')).toMatchObject({ name: '/acme/sessions', retention_in_days: 14, log_group_class: 'STANDARD' });
    expect(group.name).toBe('/acme/sessions');
    const other = synth({ name: '/acme/other-sessions', retentionDays: 1, logGroupClass: 'INFREQUENT_ACCESS' }).s;
    expect(at(other, 'aws_cloudwatch_log_group', 'sessions')).toMatchObject({ name: '/acme/other-sessions', retention_in_days: 1, log_group_class: 'INFREQUENT_ACCESS' });
  });

  it('kms "none": no key, unencrypted, and a key an earlier config made is forgotten rather than deleted', () => {
    const { s, group } = synth();
    expect(at(s, 'aws_cloudwatch_log_group', 'sessions').kms_key_id).toBeUndefined();
    expect(resourcesOf(s, 'aws_kms_key')).toEqual({});
    expect(resourcesOf(s, 'aws_kms_alias')).toEqual({});
    expect(group.kmsKeyArn).toBeUndefined();
    expect(group.kmsKey).toBeUndefined();
    expect(s.removed).toEqual([KEEP_OLD_KEY]);
  });

  it('kms "create": a rotating, undeletable key CloudWatch Logs may use only for this group, administered by the account', () => {
    const { s, group } = synth({ kms: 'create' });
    expect(Object.keys(resourcesOf(s, 'aws_kms_key'))).toEqual(['sessions']);
    const key = at(s, 'aws_kms_key', 'sessions');
    expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
    expect(key.description).toContain('/acme/sessions');
    expect(at(s, 'aws_cloudwatch_log_group', 'sessions').kms_key_id).toBe('${aws_kms_key.sessions.arn}');
    expect(at(s, 'aws_kms_alias', 'sessions')).toMatchObject({ name: 'alias/acme-prod/session-logs', target_key_id: '${aws_kms_key.sessions.key_id}' });
    expect(group.kmsKey).toBeDefined();
    expect(s.removed ?? []).not.toContainEqual(KEEP_OLD_KEY);

    const { account, partition } = contextRefs(s);
    expect(parseJsonencode(key.policy).Statement).toEqual([
      {
        Sid: 'AccountAdministersKey', Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        // Administration and use by the account's IAM principals (grants included), spelled out
        // rather than kms:*.
        Action: [
          'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*',
          'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion',
          'kms:RotateKeyOnDemand', 'kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:RetireGrant',
        ],
        Resource: '*',
      },
      {
        Sid: 'CloudWatchLogsUsesKeyForThisGroupOnly', Effect: 'Allow',
        Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
        Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        Resource: '*',
        Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:eu-west-1:${account}:log-group:/acme/sessions` } },
      },
    ]);
  });

  it('kms given as an ARN: uses that key, creates none, and forgets rather than deletes one an earlier config made', () => {
    const { s, group } = synth({ kms: KEY_ARN });
    expect(at(s, 'aws_cloudwatch_log_group', 'sessions').kms_key_id).toBe(KEY_ARN);
    expect(resourcesOf(s, 'aws_kms_key')).toEqual({});
    expect(group.kmsKeyArn).toBe(KEY_ARN);
    expect(group.kmsKey).toBeUndefined();
    expect(s.removed).toEqual([KEEP_OLD_KEY]);
  });
});

describe('in the session-logs stack', () => {
  it('the defaults: /aws/ssm/session-logs, 3 days, STANDARD class, no KMS key', () => {
    const s = sessionStack();
    const group = resourceAt(s, 'aws_cloudwatch_log_group', 'log-group/group');
    expect(group).toMatchObject({ name: '/aws/ssm/session-logs', retention_in_days: 3, log_group_class: 'STANDARD' });
    expect(group.kms_key_id).toBeUndefined();
    expect(resourcesOf(s, 'aws_kms_key')).toEqual({});
  });
});
