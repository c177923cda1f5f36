/**
 * SessionLogsStack: what the stack decides from config: the outputs users need, the subscription
 * wired from the stack's log group to its Firehose stream, no broad IAM anywhere in it, not built
 * when disabled; and the sessionLogs config defaults and checks. What each module makes from its
 * props is in __tests__/modules/session-logs/ and __tests__/modules/shared/.
 * @lane synth
 */
import { ConfigError, parseConfig } from '../../config/load';
import { deepMerge, onlyResource, resourceAt, synthStacks, testConfig } from '../support/synth';
import defaults from '../../config/default.json';
import { addressOf, parseJsonencode, ref, sessionStack, statement } from './session-logs.helpers';

function problemsOf(sessionLogs: Record<string, unknown>): string {
  try {
    parseConfig(deepMerge(defaults, { sessionLogs }), 'test');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  throw new Error(`config was accepted: ${JSON.stringify(sessionLogs)}`);
}

describe('session-logs stack', () => {
  it('outputs what users need: log group, stream, bucket, workgroup, instance policy, document', () => {
    const s = sessionStack({ createInstanceRole: true });
    const values = Object.fromEntries(Object.entries(s.output!).map(([k, v]) => [k, v.value]));
    expect(values).toEqual({
      bucket_name: ref(s, 'aws_s3_bucket', 'archive/bucket', 'bucket'),
      log_group_name: '/aws/ssm/session-logs',
      dashboard_name: '${aws_cloudwatch_dashboard.overview.dashboard_name}',
      firehose_stream_name: 'logrescue-dev-session-logs',
      session_document_name: 'logrescue-dev-session-preferences',
      start_session_command: 'aws ssm start-session --target <instance-id> --document-name logrescue-dev-session-preferences',
      operator_policy_arn: ref(s, 'aws_iam_policy', 'preferences/operator-policy', 'arn'),
      instance_policy_arn: ref(s, 'aws_iam_policy', 'instance-iam/policy', 'arn'),
      instance_profile_name: ref(s, 'aws_iam_instance_profile', 'instance-iam/profile', 'name'),
      athena_workgroup: ref(s, 'aws_athena_workgroup', 'analysis/workgroup', 'name'),
      athena_results_bucket: ref(s, 'aws_s3_bucket', 'analysis/results/bucket', 'bucket'),
      glue_table: `${ref(s, 'aws_glue_catalog_database', 'analysis/database', 'name')}.${ref(s, 'aws_glue_catalog_table', 'analysis/table', 'name')}`,
    });
    for (const o of Object.values(s.output!)) expect(o.description).toBeTruthy();
  });

  it('subscribes its log group to its Firehose stream, with the subscription named from the stack\'s name prefix', () => {
    const s = sessionStack();
    const streamArn = ref(s, 'aws_kinesis_firehose_delivery_stream', 'firehose/stream', 'arn');
    expect(onlyResource(s, 'aws_cloudwatch_log_subscription_filter')).toEqual(expect.objectContaining({
      name: 'logrescue-dev-sessions-to-firehose',
      log_group_name: ref(s, 'aws_cloudwatch_log_group', 'log-group/group', 'name'),
      destination_arn: streamArn,
      role_arn: ref(s, 'aws_iam_role', 'subscription/role', 'arn'),
      depends_on: [addressOf(s, 'aws_iam_role_policy', 'subscription/role-policy')],
    }));
    expect(statement(resourceAt(s, 'aws_iam_role_policy', 'subscription/role-policy').policy, 'PutIntoSessionStream').Resource).toBe(streamArn);
    const prod = sessionStack({}, { environment: 'prod' });
    expect(onlyResource(prod, 'aws_cloudwatch_log_subscription_filter').name).toBe('logrescue-prod-sessions-to-firehose');
  });

  it('never uses *FullAccess policies, and allows no wildcard action except the key policy\'s account admin', () => {
    const s = sessionStack({ createInstanceRole: true, logGroup: { kms: 'create' }, archiveBucket: { encryption: 'SSE-KMS' }, alarms: { createTopic: true } });
    expect(JSON.stringify(s.resource)).not.toMatch(/FullAccess/);
    const documents = Object.values(s.resource!).flatMap((byName) => Object.values(byName))
      .flatMap((r: any) => [r.policy, r.assume_role_policy].filter((p) => typeof p === 'string' && p.startsWith('${jsonencode(')));
    expect(documents.length).toBeGreaterThanOrEqual(8);
    const allows = documents.flatMap((d) => parseJsonencode(d).Statement).filter((st: any) => st.Effect === 'Allow' && st.Sid !== 'AccountAdministersKey');
    for (const st of allows) {
      for (const action of [st.Action].flat()) expect(action).not.toMatch(/(^|:)\*$/);
    }
  });

  it('is not built when sessionLogs.enabled is false', () => {
    expect(Object.keys(synthStacks(testConfig({ sessionLogs: { enabled: false } })))).toEqual(['log-rescue']);
  });

  it('fills the new defaults', () => {
    const c = testConfig().sessionLogs;
    expect(c.firehose).toEqual({ bufferingSizeMb: 128, bufferingIntervalSeconds: 900, errorLogRetentionDays: 14 });
    expect(c.analysis).toEqual({ enabled: true, firstYear: 2025, lastYear: 2040, bytesScannedCutoffPerQueryMb: 10240, resultsExpirationDays: 7 });
    expect(c.vpcEndpoints.vpcCidr).toBeUndefined();
  });

  it.each([
    ['log class other than STANDARD', { logGroup: { class: 'INFREQUENT_ACCESS' } }, 'sessionLogs.logGroup.class: got "INFREQUENT_ACCESS"; allowed: STANDARD only: subscription filters'],
    ['kms neither none, create nor an ARN', { logGroup: { kms: 'yes' } }, 'sessionLogs.logGroup.kms: got "yes"; allowed: "none", "create" or a KMS key ARN'],
    ['buffer above the Firehose maximum', { firehose: { bufferingIntervalSeconds: 901 } }, 'sessionLogs.firehose.bufferingIntervalSeconds: got 901; allowed: integer 0..900'],
    ['error log retention CloudWatch does not accept', { firehose: { errorLogRetentionDays: 2 } }, 'sessionLogs.firehose.errorLogRetentionDays: got 2; allowed: one of the retention values'],
    ['projection years backwards', { analysis: { firstYear: 2030, lastYear: 2026 } }, 'sessionLogs.analysis.lastYear: got 2026; allowed: at least firstYear (2030)'],
    ['endpoints without a CIDR', { vpcEndpoints: { enabled: true, vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] } }, 'sessionLogs.vpcEndpoints.vpcCidr: got (missing); allowed: required when vpcEndpoints.enabled is true'],
    ['a CIDR that is not one', { vpcEndpoints: { vpcCidr: '10.0.0.0' } }, 'sessionLogs.vpcEndpoints.vpcCidr: got "10.0.0.0"; allowed: an IPv4 CIDR such as 10.0.0.0/16'],
    ['adopt with a custom name', { sessionDocument: { mode: 'adopt', customName: 'mine', s3Logging: 'none', sessionKmsKeyArn: 'none' } }, 'sessionLogs.sessionDocument.customName: got "mine"; allowed: only with mode "custom"'],
    // Adopting rewrites the account's document: what it already had must be stated, or switched off on purpose.
    ['adopt without saying what to keep of S3 upload', { sessionDocument: { mode: 'adopt', sessionKmsKeyArn: 'none' } }, 'sessionLogs.sessionDocument.s3Logging: got (missing); allowed: required with mode "adopt"'],
    ['adopt without saying what to keep of session encryption', { sessionDocument: { mode: 'adopt', s3Logging: 'none' } }, 'sessionLogs.sessionDocument.sessionKmsKeyArn: got (missing); allowed: required with mode "adopt"'],
    ['S3 upload to a bucket name S3 refuses', { sessionDocument: { s3Logging: { bucketName: 'Bad_Bucket' } } }, 'sessionLogs.sessionDocument.s3Logging.bucketName: got "Bad_Bucket"; allowed: a valid S3 bucket name'],
  ])('rejects %s, naming field, value and what is allowed', (_name, sessionLogs, expected) => {
    expect(problemsOf(sessionLogs)).toContain(expected);
  });
});
