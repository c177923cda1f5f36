/**
 * SessionAnalysis on a bare stack: the Glue table over the prefix it is given, a results bucket of
 * its own, the workgroup and saved queries its flat props make, with an SSE-S3 or SSE-KMS archive;
 * then what the session-logs stack passes it from config, and that analysis.enabled false drops it.
 * @lane synth
 */
import { onlyResource, resourceAt, resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareArchive, bareStack, synthBare } from '../../support/bare-stack';
import { addressOf, ref, sessionStack, terraformUnescape } from '../../stacks/session-logs.helpers';
import { SessionAnalysis, SessionAnalysisProps } from '../../../modules/session-logs/analysis';
import { LogArchiveBucketProps } from '../../../modules/shared/log-archive-bucket';

type Props = Omit<SessionAnalysisProps, 'aws' | 'archive'>;

const PROPS: Props = {
  firstYear: 2024,
  lastYear: 2035,
  bytesScannedCutoffPerQueryMb: 5120,
  resultsExpirationDays: 3,
  prefix: 'session-logs',
  project: 'acme',
  environment: 'prod',
  namePrefix: 'acme-prod',
};

/** The analysis (construct id `analysis`) over an archive bucket (`archive`, SSE-S3 unless `archive` says otherwise) on a bare stack in eu-west-1. */
function synth(over: Partial<Props> = {}, archive: Partial<LogArchiveBucketProps> = {}): { s: StackJson; analysis: SessionAnalysis } {
  const b = bareStack('eu-west-1');
  const analysis = new SessionAnalysis(b.stack, 'analysis', { ...PROPS, ...over, aws: b.aws, archive: bareArchive(b, archive) });
  return { s: synthBare(b.stack), analysis };
}

/** The lifecycle rule of the bucket whose id is `bucketId`. */
function lifecycleRule(s: StackJson, bucketId: string): any {
  const found = Object.values(resourcesOf(s, 'aws_s3_bucket_lifecycle_configuration') as Record<string, any>).filter((l) => l.bucket === bucketId);
  if (found.length !== 1) throw new Error(`expected one lifecycle configuration of ${bucketId}, found ${found.length}`);
  return found[0].rule[0];
}

const ARCHIVE_BUCKET = '${aws_s3_bucket.archive.bucket}';
const DB = '${aws_glue_catalog_database.sessions.name}';
const WORKGROUP = '${aws_athena_workgroup.sessions.name}';
const RESULTS = 'aws_s3_bucket.athena_results';
const QUERY_NAMES = ['Session activity per instance, last 7 days', 'Session transcripts in a date range', 'Sessions per user, last 7 days'];
const ANALYSIS_TYPES = ['aws_glue_catalog_database', 'aws_glue_catalog_table', 'aws_athena_workgroup', 'aws_athena_named_query'];

describe('SessionAnalysis', () => {
  const { s, analysis } = synth();
  const table = () => at(s, 'aws_glue_catalog_table', 'sessions');

  it('a Glue table over the prefix it is given, with year/month/day partition projection over its years', () => {
    expect(Object.keys(resourcesOf(s, 'aws_glue_catalog_database'))).toEqual(['sessions']);
    expect(at(s, 'aws_glue_catalog_database', 'sessions').name).toBe('acme_prod_session_logs');
    expect(Object.keys(resourcesOf(s, 'aws_glue_catalog_table'))).toEqual(['sessions']);
    const t = table();
    expect(t).toMatchObject({ name: 'sessions', database_name: DB, table_type: 'EXTERNAL_TABLE' });
    expect(t.parameters).toEqual({
      EXTERNAL: 'TRUE',
      classification: 'json',
      compressionType: 'gzip',
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.year.range': '2024,2035',
      'projection.month.type': 'integer',
      'projection.month.range': '1,12',
      'projection.month.digits': '2',
      'projection.day.type': 'integer',
      'projection.day.range': '1,31',
      'projection.day.digits': '2',
      'storage.location.template': `s3://${ARCHIVE_BUCKET}/session-logs/year=$\${year}/month=$\${month}/day=$\${day}/`,
    });
    // Athena receives its own placeholders, not Terraform interpolations.
    expect(terraformUnescape(t.parameters['storage.location.template'])).toBe(`s3://${ARCHIVE_BUCKET}/session-logs/year=\${year}/month=\${month}/day=\${day}/`);
    expect(t.partition_keys).toEqual([{ name: 'year', type: 'string' }, { name: 'month', type: 'string' }, { name: 'day', type: 'string' }]);
  });

  it('names the database <project>_<environment>_session_logs in the characters Glue takes, and reads another prefix when given one', () => {
    const other = synth({ project: 'acme-web', environment: 'prod-eu', prefix: 'archive/sessions' }).s;
    expect(at(other, 'aws_glue_catalog_database', 'sessions').name).toBe('acme_web_prod_eu_session_logs');
    const t = at(other, 'aws_glue_catalog_table', 'sessions');
    expect(t.storage_descriptor.location).toBe(`s3://${ARCHIVE_BUCKET}/archive/sessions/`);
    expect(terraformUnescape(t.parameters['storage.location.template'])).toBe(`s3://${ARCHIVE_BUCKET}/archive/sessions/year=\${year}/month=\${month}/day=\${day}/`);
  });

  it('reads gzip JSON lines with the columns of the record Session Manager streams', () => {
    const sd = table().storage_descriptor;
    expect(sd).toMatchObject({
      location: `s3://${ARCHIVE_BUCKET}/session-logs/`,
      input_format: 'org.apache.hadoop.mapred.TextInputFormat',
      output_format: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      ser_de_info: { serialization_library: 'org.openx.data.jsonserde.JsonSerDe', parameters: { 'case.insensitive': 'TRUE' } },
    });
    expect(sd.columns.map((c: any) => [c.name, c.type])).toEqual([
      ['eventversion', 'string'], ['eventtime', 'string'], ['awsregion', 'string'],
      ['target', 'struct<id:string>'], ['useridentity', 'struct<arn:string>'],
      ['runasuser', 'string'], ['sessionid', 'string'], ['sessiondata', 'array<string>'],
    ]);
  });

  it('query results (session transcripts) go to a bucket of their own that expires them after resultsExpirationDays, never into the archive', () => {
    expect(Object.keys(resourcesOf(s, 'aws_s3_bucket')).sort()).toEqual(['archive', 'athena_results']);
    expect(at(s, 'aws_s3_bucket', 'athena_results')).toMatchObject({ bucket_prefix: 'acme-prod-athena-results-', force_destroy: false, lifecycle: { prevent_destroy: true } });
    const rule = lifecycleRule(s, `\${${RESULTS}.id}`);
    expect(rule).toMatchObject({ expiration: [{ days: 3 }], noncurrent_version_expiration: [{ noncurrent_days: 1 }] });
    expect(rule.transition).toBeUndefined();
    expect(at(s, 'aws_s3_bucket_server_side_encryption_configuration', 'athena_results').rule[0].apply_server_side_encryption_by_default)
      .toEqual({ sse_algorithm: 'AES256' });
    expect(analysis.results.bucket).toBeDefined();
    // Object Lock of the archive does not reach them.
    const locked = synth({}, { objectLock: { mode: 'GOVERNANCE', days: 365 }, expirationDays: 0 }).s;
    expect(Object.values(resourcesOf(locked, 'aws_s3_bucket_object_lock_configuration') as Record<string, any>).map((o) => o.bucket))
      .toEqual(['${aws_s3_bucket.archive.id}']);
  });

  it('an Athena workgroup that enforces encrypted results under athena-results/, metrics and the scan limit of its props', () => {
    expect(Object.keys(resourcesOf(s, 'aws_athena_workgroup'))).toEqual(['sessions']);
    const w = at(s, 'aws_athena_workgroup', 'sessions');
    expect(w).toMatchObject({ name: 'acme-prod-session-logs', force_destroy: false });
    expect(w.configuration).toEqual({
      enforce_workgroup_configuration: true,
      publish_cloudwatch_metrics_enabled: true,
      bytes_scanned_cutoff_per_query: 5 * 1024 * 1024 * 1024,
      result_configuration: {
        output_location: `s3://\${${RESULTS}.bucket}/athena-results/`,
        encryption_configuration: { encryption_option: 'SSE_S3' },
      },
    });
  });

  it('with an SSE-KMS archive, query results use the bucket key: in the workgroup and as their bucket\'s default, with no key of their own', () => {
    const k = synth({}, { encryption: 'SSE-KMS' }).s;
    expect(Object.keys(resourcesOf(k, 'aws_kms_key'))).toEqual(['archive']);
    expect(at(k, 'aws_athena_workgroup', 'sessions').configuration.result_configuration.encryption_configuration).toEqual({
      encryption_option: 'SSE_KMS', kms_key_arn: '${aws_kms_key.archive.arn}',
    });
    expect(at(k, 'aws_s3_bucket_server_side_encryption_configuration', 'athena_results').rule[0].apply_server_side_encryption_by_default)
      .toEqual({ sse_algorithm: 'aws:kms', kms_master_key_id: '${aws_kms_key.archive.arn}' });
  });

  it('saved queries (per user, per instance, a date range) in its workgroup that filter on the partition columns', () => {
    expect(Object.keys(resourcesOf(s, 'aws_athena_named_query')).sort()).toEqual(['commands_per_instance', 'sessions_in_range', 'sessions_per_user']);
    const queries = Object.values(resourcesOf(s, 'aws_athena_named_query')) as any[];
    expect(queries.map((q) => q.name).sort()).toEqual(QUERY_NAMES);
    for (const q of queries) {
      expect(q).toMatchObject({ database: DB, workgroup: WORKGROUP });
      expect(q.query).toContain(`FROM "${DB}"."sessions"`);
      // Pruning is certain only when the partition columns themselves are compared with values:
      // every use of year, month or day is a bare column on the left of = or BETWEEN.
      const uses = [...(q.query as string).matchAll(/(interval '\d+' )?\b(year|month|day)\b(.{0,9})/g)].filter((m) => !m[1]);
      expect(uses.length).toBeGreaterThanOrEqual(3);
      for (const m of uses) expect(`${m[2]}${m[3]}`).toMatch(/^(year|month|day) (= |BETWEEN )/);
      expect(q.query).not.toMatch(/concat\(|date_parse\(|cast\(year|cast\(month|cast\(day/);
    }
    const byName = (n: string) => queries.find((q) => q.name === n).query as string;
    expect(byName('Sessions per user, last 7 days')).toMatch(/GROUP BY useridentity\.arn/);
    expect(byName('Session activity per instance, last 7 days')).toMatch(/GROUP BY target\.id/);
    expect(byName('Session transcripts in a date range')).toMatch(/WHERE year = \? AND month = \? AND day BETWEEN \? AND \?/);
    // The last 7 days and today: eight days, each by its three columns.
    expect(byName('Sessions per user, last 7 days').match(/\(year = date_format\(/g)).toHaveLength(8);
    expect(byName('Sessions per user, last 7 days')).toContain("(year = date_format(current_date - interval '7' day, '%Y') AND month = date_format(current_date - interval '7' day, '%m') AND day = date_format(current_date - interval '7' day, '%d'))");
  });
});

describe('in the session-logs stack', () => {
  const s = sessionStack();
  const k = sessionStack({
    archiveBucket: { encryption: 'SSE-KMS', objectLock: { mode: 'GOVERNANCE', days: 365 }, lifecycle: { expirationDays: 0 } },
    analysis: { firstYear: 2024, lastYear: 2030, resultsExpirationDays: 3 },
  });
  const resultsOf = (x: StackJson) => `\${${addressOf(x, 'aws_s3_bucket', 'analysis/results/bucket')}.id}`;

  it('by default: logrescue_dev_session_logs over session-logs/ of the stack\'s archive for 2025-2040, results kept 7 days, a 10 GiB scan limit, SSE-S3; exported', () => {
    const bucket = ref(s, 'aws_s3_bucket', 'archive/bucket', 'bucket');
    expect(onlyResource(s, 'aws_glue_catalog_database').name).toBe('logrescue_dev_session_logs');
    const t = onlyResource(s, 'aws_glue_catalog_table');
    expect(t.storage_descriptor.location).toBe(`s3://${bucket}/session-logs/`);
    expect(terraformUnescape(t.parameters['storage.location.template'])).toBe(`s3://${bucket}/session-logs/year=\${year}/month=\${month}/day=\${day}/`);
    expect(t.parameters['projection.year.range']).toBe('2025,2040');
    expect(resourceAt(s, 'aws_s3_bucket', 'analysis/results/bucket').bucket_prefix).toBe('logrescue-dev-athena-results-');
    expect(lifecycleRule(s, resultsOf(s)).expiration).toEqual([{ days: 7 }]);
    const w = onlyResource(s, 'aws_athena_workgroup');
    expect(w.name).toBe('logrescue-dev-session-logs');
    expect(w.configuration).toMatchObject({
      bytes_scanned_cutoff_per_query: 10 * 1024 * 1024 * 1024,
      result_configuration: { encryption_configuration: { encryption_option: 'SSE_S3' } },
    });
    expect(Object.keys(resourcesOf(s, 'aws_athena_named_query'))).toHaveLength(3);
    expect(s.output!.athena_workgroup.value).toBe(ref(s, 'aws_athena_workgroup', 'analysis/workgroup', 'name'));
    expect(s.output!.athena_results_bucket.value).toBe(ref(s, 'aws_s3_bucket', 'analysis/results/bucket', 'bucket'));
  });

  it('passes analysis.* years and results expiry, and the archive\'s key; the archive\'s Object Lock does not reach the results', () => {
    expect(onlyResource(k, 'aws_glue_catalog_table').parameters['projection.year.range']).toBe('2024,2030');
    expect(lifecycleRule(k, resultsOf(k)).expiration).toEqual([{ days: 3 }]);
    expect(onlyResource(k, 'aws_athena_workgroup').configuration.result_configuration.encryption_configuration).toEqual({
      encryption_option: 'SSE_KMS', kms_key_arn: ref(k, 'aws_kms_key', 'archive/key', 'arn'),
    });
    expect(Object.values(resourcesOf(k, 'aws_s3_bucket_object_lock_configuration') as Record<string, any>).map((o) => o.bucket))
      .toEqual([`\${${addressOf(k, 'aws_s3_bucket', 'archive/bucket')}.id}`]);
  });

  it('analysis.enabled false: no Glue or Athena resources, no results bucket, no outputs for them', () => {
    const off = sessionStack({ analysis: { enabled: false } });
    for (const type of ANALYSIS_TYPES) expect(resourcesOf(off, type)).toEqual({});
    expect(Object.keys(resourcesOf(off, 'aws_s3_bucket'))).toEqual(['archive']);
    expect(off.output!.athena_workgroup).toBeUndefined();
    expect(off.output!.athena_results_bucket).toBeUndefined();
    // The same config with analysis on has them all.
    for (const type of ANALYSIS_TYPES) expect(resourcesOf(s, type)).not.toEqual({});
  });
});
