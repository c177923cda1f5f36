/**
 * Real Terraform accepts what we synthesize: init, validate and plan every stack offline against
 * the AWS provider mirror. Fails (never skips) when terraform or the mirror is missing.
 *
 * @lane plan
 */
import { useOfflineTerraform } from './support/plan';
import { testConfig } from './support/synth';

const planAll = useOfflineTerraform();
const creates = (plan: any) => plan.resource_changes.filter((r: any) => r.change.actions.includes('create')).map((r: any) => r.type);

describe('offline terraform init/validate/plan', () => {
  it('plans every stack of the default config', async () => {
    const plans = await planAll(testConfig());
    expect(Object.keys(plans).sort()).toEqual(['log-rescue', 'session-logs']);
    for (const plan of Object.values(plans)) {
      expect(creates(plan)).toEqual(expect.arrayContaining(['aws_s3_bucket', 'aws_s3_bucket_policy', 'aws_s3_bucket_public_access_block']));
      expect(plan.resource_changes.every((r: any) => r.change.actions.every((a: string) => a === 'create'))).toBe(true);
    }
    expect(creates(plans['log-rescue'])).toEqual(expect.arrayContaining([
      'aws_autoscaling_lifecycle_hook', 'aws_cloudwatch_event_rule', 'aws_cloudwatch_event_target', 'aws_lambda_function',
      'aws_lambda_event_source_mapping', 'aws_sqs_queue', 'aws_sqs_queue_policy', 'aws_sqs_queue_redrive_allow_policy', 'aws_ssm_document', 'aws_iam_policy',
      'aws_cloudwatch_metric_alarm',
    ]));
    const mapping = plans['log-rescue'].resource_changes.find((r: any) => r.type === 'aws_lambda_event_source_mapping').change.after;
    expect(mapping).toMatchObject({ batch_size: 50, maximum_batching_window_in_seconds: 1, function_response_types: ['ReportBatchItemFailures'], scaling_config: [{ maximum_concurrency: 30 }] });
    // No reservation by default (Lambda refuses one that leaves the account fewer than 100
    // unreserved executions): the provider plans the omitted argument as -1, which its docs define
    // as "removes any concurrency limitations" (aws_lambda_function, reserved_concurrent_executions).
    const fn = plans['log-rescue'].resource_changes.find((r: any) => r.type === 'aws_lambda_function').change.after;
    expect(fn.reserved_concurrent_executions).toBe(-1);
  });

  it('plans with SSE-KMS, Object Lock, an alarm topic and a cloud backend replaced by the local override', async () => {
    const plans = await planAll(testConfig({
      backend: { type: 'cloud', organization: 'acme', project: 'platform' },
      logRescue: { archiveBucket: { encryption: 'SSE-KMS', objectLock: { mode: 'GOVERNANCE', days: 30 } }, alarms: { createTopic: true, email: 'oncall@example.com' } },
    }), { only: ['log-rescue'] });
    expect(creates(plans['log-rescue'])).toEqual(expect.arrayContaining(['aws_kms_key', 'aws_s3_bucket_object_lock_configuration', 'aws_sns_topic']));
  });
});
