/**
 * SessionLogGroup on a bare stack (Testing.synth drops construct paths: resources are found by
 * type and readable address); the session-logs stack's defaults are checked through the stack.
 * @lane synth
 */
import { TerraformStack, Testing } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SessionLogGroup, SessionLogGroupProps } from '../../../modules/session-logs/log-group';
import { AwsContext } from '../../../modules/shared/aws-context';
import { onlyResource, resourcesOf, StackJson } from '../../support/synth';
import { contextRefs, parseJsonencode, sessionStack } from '../../stacks/session-logs.helpers';

const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const sessionGroup = (s: any) => Object.values(resourcesOf(s, 'aws_cloudwatch_log_group'))
  .find((g: any) => String(g['//'].metadata.path).endsWith('log-group/group')) as any;

function logGroup(props: Partial<Omit<SessionLogGroupProps, 'aws'>> = {}): StackJson {
  const stack = new TerraformStack(Testing.app(), 'log-group-test');
  new AwsProvider(stack, 'aws', { region: 'us-east-1' });
  const aws = new AwsContext(stack, 'context', { region: 'us-east-1' });
  new SessionLogGroup(stack, 'log-group', {
    name: '/aws/ssm/session-logs', retentionDays: 3, logGroupClass: 'STANDARD', kms: 'none', namePrefix: 'logrescue-dev', aws, ...props,
  });
  return JSON.parse(Testing.synth(stack));
}

describe('session log group', () => {
  it('the stack\'s defaults: /aws/ssm/session-logs, 3 days, STANDARD class, no KMS key', () => {
    const s = sessionStack();
    expect(sessionGroup(s)).toMatchObject({ name: '/aws/ssm/session-logs', retention_in_days: 3, log_group_class: 'STANDARD' });
    expect(sessionGroup(s).kms_key_id).toBeUndefined();
    expect(resourcesOf(s, 'aws_kms_key')).toEqual({});
  });

  it('takes name and retention from its props', () => {
    const s = logGroup({ name: '/acme/sessions', retentionDays: 14 });
    expect(onlyResource(s, 'aws_cloudwatch_log_group')).toMatchObject({ name: '/acme/sessions', retention_in_days: 14, log_group_class: 'STANDARD' });
    expect(resourcesOf(s, 'aws_kms_key')).toEqual({});
  });

  it('kms "create": a rotating key CloudWatch Logs may use only for this group, administered by the account', () => {
    const s = logGroup({ kms: 'create' });
    const key = onlyResource(s, 'aws_kms_key');
    expect(key).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    expect(onlyResource(s, 'aws_cloudwatch_log_group').kms_key_id).toBe('${aws_kms_key.sessions.arn}');
    expect(onlyResource(s, 'aws_kms_alias')).toMatchObject({ name: 'alias/logrescue-dev/session-logs', target_key_id: '${aws_kms_key.sessions.key_id}' });

    const { account, partition } = contextRefs(s);
    const policy = parseJsonencode(key.policy);
    expect(policy.Statement).toEqual([
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
        Principal: { Service: 'logs.us-east-1.amazonaws.com' },
        Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        Resource: '*',
        Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:us-east-1:${account}:log-group:/aws/ssm/session-logs` } },
      },
    ]);
  });

  it('kms given as an ARN: uses that key and creates none', () => {
    const s = logGroup({ kms: KEY_ARN });
    expect(onlyResource(s, 'aws_cloudwatch_log_group').kms_key_id).toBe(KEY_ARN);
    expect(resourcesOf(s, 'aws_kms_key')).toEqual({});
  });
});
