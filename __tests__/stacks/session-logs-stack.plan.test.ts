/**
 * Terraform accepts the session-logs stack: offline init, validate and plan (against the AWS
 * provider mirror, dummy credentials, the STS stand-in) for the default config, with KMS, and
 * adopting the regional Session document. VPC endpoints fed from another team's state are planned
 * in organisation.test.ts, with the other remote-state inputs.
 *
 * Adopting plans a Terraform `import`, and an import reads the real object: the provider calls SSM
 * DescribeDocument/GetDocument/DescribeDocumentPermission for SSM-SessionManagerRunShell. Offline
 * there is no such object, so these tests answer those three calls from a local SSM stand-in
 * holding the document as the console writes it, and show the other case too: with no document
 * the plan stops with Terraform's own "Cannot import non-existent remote object".
 *
 * @lane plan
 */
import { useOfflineTerraform } from '../support/plan';
import { startSsmStandIn } from '../support/ssm-standin';
import { testConfig } from '../support/synth';

const plan = useOfflineTerraform();

/** Synthesize with `overrides`, optionally add override files to the stack dir, plan it offline. */
async function planSessionLogs(overrides: Record<string, unknown>, extraFiles?: (stsUrl: string) => Record<string, unknown>, state?: object): Promise<any> {
  return (await plan(testConfig(overrides), { only: ['session-logs'], extraFiles, states: state ? { 'session-logs': state } : undefined }))['session-logs'];
}

/** A state holding one aws_ssm_document at `address` with these attributes, as an apply would have left it. */
function stateWithDocument(address: string, attributes: Record<string, unknown>): object {
  const [type, name] = address.split('.');
  return {
    version: 4, terraform_version: '1.11.4', serial: 1, lineage: '5b3d2c1a-0f9e-4d8c-b7a6-123456789abc', outputs: {},
    resources: [{ mode: 'managed', type, name, provider: 'provider["registry.terraform.io/hashicorp/aws"]', instances: [{ schema_version: 0, attributes, sensitive_attributes: [] }] }],
  };
}

const changes = (plan: any, type: string) => plan.resource_changes.filter((r: any) => r.type === type);
const after = (plan: any, type: string) => changes(plan, type).map((r: any) => r.change.after);
const onlyCreates = (plan: any) => plan.resource_changes.every((r: any) => r.change.actions.every((a: string) => a === 'create'));

const PIPELINE = [
  'aws_cloudwatch_log_group', 'aws_ssm_document', 'aws_kinesis_firehose_delivery_stream', 'aws_cloudwatch_log_subscription_filter',
  'aws_iam_role', 'aws_iam_role_policy', 'aws_iam_policy', 'aws_glue_catalog_database', 'aws_glue_catalog_table',
  'aws_athena_workgroup', 'aws_athena_named_query', 'aws_cloudwatch_metric_alarm', 'aws_s3_bucket',
];

describe('session-logs offline terraform plan', () => {
  it('default config', async () => {
    const plan = await planSessionLogs({});
    expect(onlyCreates(plan)).toBe(true);
    for (const t of PIPELINE) expect(changes(plan, t).length).toBeGreaterThan(0);
    const [stream] = after(plan, 'aws_kinesis_firehose_delivery_stream');
    expect(stream.extended_s3_configuration[0].processing_configuration[0].processors.map((p: any) => p.type))
      .toEqual(['Decompression', 'CloudWatchLogProcessing', 'AppendDelimiterToRecord']);
  });

  it('KMS on: a log group key, an SSE-KMS bucket, a session key, instance role and alarm topic', async () => {
    const plan = await planSessionLogs({
      sessionLogs: {
        logGroup: { kms: 'create' },
        archiveBucket: { encryption: 'SSE-KMS' },
        sessionDocument: { sessionKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        createInstanceRole: true,
        alarms: { createTopic: true, email: 'oncall@example.com' },
      },
    });
    expect(onlyCreates(plan)).toBe(true);
    expect(changes(plan, 'aws_kms_key')).toHaveLength(2);
    for (const t of ['aws_kms_alias', 'aws_iam_instance_profile', 'aws_sns_topic', 'aws_sns_topic_policy', 'aws_sns_topic_subscription']) {
      expect(changes(plan, t)).toHaveLength(1);
    }
    const [stream] = after(plan, 'aws_kinesis_firehose_delivery_stream');
    expect(stream.server_side_encryption[0]).toMatchObject({ enabled: true, key_type: 'CUSTOMER_MANAGED_CMK' });
    expect(after(plan, 'aws_athena_workgroup')[0].configuration[0].result_configuration[0].encryption_configuration[0].encryption_option).toBe('SSE_KMS');
  });

  describe('adopting SSM-SessionManagerRunShell', () => {
    let ssm: { url: string; close: () => Promise<void>; calls: string[] } | undefined;
    afterEach(async () => { await ssm?.close(); ssm = undefined; });
    const endpoints = (ssmUrl: string) => (stsUrl: string) => ({
      // Sorts after the planner's own provider override, so this endpoints block is the one used.
      'zzz_ssm_stand_in_override.tf.json': { provider: { aws: [{ endpoints: [{ sts: stsUrl, ssm: ssmUrl }] }] } },
    });

    const ADOPT = { sessionLogs: { sessionDocument: { mode: 'adopt', s3Logging: 'none', sessionKmsKeyArn: 'none' } } };
    /** The document as adopting reads it from the account (the import's "before"). */
    let adopted: Record<string, unknown> | undefined;
    const destroys = (p: any) => p.resource_changes.filter((r: any) => r.change.actions.includes('delete')).map((r: any) => r.address);

    it('plans an import of the existing document and an in-place update to our preferences', async () => {
      ssm = await startSsmStandIn(true);
      const plan = await planSessionLogs(ADOPT, endpoints(ssm.url));
      const [doc] = changes(plan, 'aws_ssm_document');
      adopted = doc.change.before;
      expect(doc.address).toBe('aws_ssm_document.regional_preferences');
      expect(doc.change.importing).toEqual({ id: 'SSM-SessionManagerRunShell' });
      expect(doc.change.actions).toEqual(['update']);
      expect(JSON.parse(doc.change.before.content).inputs.cloudWatchLogGroupName).toBe('');
      expect(JSON.parse(doc.change.after.content).inputs).toMatchObject({ cloudWatchLogGroupName: '/aws/ssm/session-logs', cloudWatchStreamingEnabled: true });
      expect(ssm.calls).toEqual(expect.arrayContaining(['AmazonSSM.DescribeDocument', 'AmazonSSM.GetDocument']));
      // Everything else is still created; nothing is replaced or destroyed.
      expect(plan.resource_changes.filter((r: any) => r.type !== 'aws_ssm_document').every((r: any) => r.change.actions.join() === 'create')).toBe(true);
    });

    it('stops the plan when the account has no such document yet (choose mode "custom" there)', async () => {
      ssm = await startSsmStandIn(false);
      await expect(planSessionLogs(ADOPT, endpoints(ssm.url)))
        .rejects.toThrow(/Cannot import non-existent remote object/);
    });

    it('a deployment that adopted the document at the old address: forgets it there and adopts it again, deleting nothing', async () => {
      ssm = await startSsmStandIn(true);
      expect(adopted).toBeDefined();
      const plan = await planSessionLogs(ADOPT, endpoints(ssm.url), stateWithDocument('aws_ssm_document.preferences_document_57F88763', adopted!));
      const docs = changes(plan, 'aws_ssm_document');
      expect(docs.map((d: any) => [d.address, d.change.actions])).toEqual(expect.arrayContaining([
        ['aws_ssm_document.preferences_document_57F88763', ['forget']],
        ['aws_ssm_document.regional_preferences', ['update']],
      ]));
      expect(destroys(plan)).toEqual([]);
    });

    it('leaving adopt mode forgets SSM-SessionManagerRunShell and creates the custom document, deleting nothing', async () => {
      ssm = await startSsmStandIn(true);
      const adoptPlan = await planSessionLogs(ADOPT, endpoints(ssm.url));
      const adoptedAt = changes(adoptPlan, 'aws_ssm_document')[0].address;
      const plan = await planSessionLogs({}, undefined, stateWithDocument(adoptedAt, adopted!));
      const docs = changes(plan, 'aws_ssm_document').map((d: any) => [d.address, d.change.actions, d.change.after?.name ?? d.change.before?.name]);
      expect(docs).toEqual(expect.arrayContaining([
        [adoptedAt, ['forget'], 'SSM-SessionManagerRunShell'],
        ['aws_ssm_document.preferences', ['create'], 'logrescue-dev-session-preferences'],
      ]));
      expect(destroys(plan)).toEqual([]);
    });
  });
});
