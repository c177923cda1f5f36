/** @lane synth */
import { onlyResource, resourceAt, resourcesOf } from '../../support/synth';
import { addressOf, ref, sessionStack, terraformUnescape } from '../../stacks/session-logs.helpers';

describe('session analysis (Glue + Athena)', () => {
  const s = sessionStack();
  const bucket = ref(s, 'aws_s3_bucket', 'archive/bucket', 'bucket');
  const db = ref(s, 'aws_glue_catalog_database', 'analysis/database', 'name');

  it('a Glue table over session-logs/ with year/month/day partition projection', () => {
    expect(onlyResource(s, 'aws_glue_catalog_database').name).toBe('logrescue_dev_session_logs');
    const t = onlyResource(s, 'aws_glue_catalog_table');
    expect(t).toMatchObject({ name: 'sessions', database_name: db, table_type: 'EXTERNAL_TABLE' });
    expect(t.parameters).toEqual({
      EXTERNAL: 'TRUE',
      classification: 'json',
      compressionType: 'gzip',
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.year.range': '2025,2040',
      'projection.month.type': 'integer',
      'projection.month.range': '1,12',
      'projection.month.digits': '2',
      'projection.day.type': 'integer',
      'projection.day.range': '1,31',
      'projection.day.digits': '2',
      'storage.location.template': `s3://${bucket}/session-logs/year=$\${year}/month=$\${month}/day=$\${day}/`,
    });
    // Athena receives its own placeholders, not Terraform interpolations.
    expect(terraformUnescape(t.parameters['storage.location.template'])).toBe(`s3://${bucket}/session-logs/year=\${year}/month=\${month}/day=\${day}/`);
    expect(t.partition_keys).toEqual([{ name: 'year', type: 'string' }, { name: 'month', type: 'string' }, { name: 'day', type: 'string' }]);
  });

  it('reads gzip JSON lines with the columns of the record Session Manager streams', () => {
    const sd = onlyResource(s, 'aws_glue_catalog_table').storage_descriptor;
    expect(sd).toMatchObject({
      location: `s3://${bucket}/session-logs/`,
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

  it('takes the projected years from config', () => {
    const t = onlyResource(sessionStack({ analysis: { firstYear: 2024, lastYear: 2030 } }), 'aws_glue_catalog_table');
    expect(t.parameters['projection.year.range']).toBe('2024,2030');
  });

  it('query results (session transcripts) go to a bucket of their own that expires them after 7 days, never into the archive', () => {
    const results = resourceAt(s, 'aws_s3_bucket', 'analysis/results/bucket');
    expect(results).toMatchObject({ bucket_prefix: 'logrescue-dev-athena-results-', force_destroy: false, lifecycle: { prevent_destroy: true } });
    const rule = Object.values(resourcesOf(s, 'aws_s3_bucket_lifecycle_configuration') as Record<string, any>)
      .find((l) => l.bucket === `\${${addressOf(s, 'aws_s3_bucket', 'analysis/results/bucket')}.id}`)!.rule[0];
    expect(rule).toMatchObject({ expiration: [{ days: 7 }], noncurrent_version_expiration: [{ noncurrent_days: 1 }] });
    expect(rule.transition).toBeUndefined();
    // Object Lock of the archive does not reach them.
    const locked = sessionStack({ archiveBucket: { objectLock: { mode: 'GOVERNANCE', days: 365 }, lifecycle: { expirationDays: 0 } }, analysis: { resultsExpirationDays: 3 } });
    expect(Object.values(resourcesOf(locked, 'aws_s3_bucket_object_lock_configuration') as Record<string, any>).map((o) => o.bucket))
      .toEqual([`\${${addressOf(locked, 'aws_s3_bucket', 'archive/bucket')}.id}`]);
    expect(s.output!.athena_results_bucket.value).toBe(ref(s, 'aws_s3_bucket', 'analysis/results/bucket', 'bucket'));
  });

  it('an Athena workgroup that enforces encrypted results under athena-results/, metrics and a scan limit', () => {
    const w = onlyResource(s, 'aws_athena_workgroup');
    expect(w).toMatchObject({ name: 'logrescue-dev-session-logs', force_destroy: false });
    expect(w.configuration).toEqual({
      enforce_workgroup_configuration: true,
      publish_cloudwatch_metrics_enabled: true,
      bytes_scanned_cutoff_per_query: 10 * 1024 * 1024 * 1024,
      result_configuration: {
        output_location: `s3://\${${addressOf(s, 'aws_s3_bucket', 'analysis/results/bucket')}.bucket}/athena-results/`,
        encryption_configuration: { encryption_option: 'SSE_S3' },
      },
    });
    expect(s.output!.athena_workgroup.value).toBe(ref(s, 'aws_athena_workgroup', 'analysis/workgroup', 'name'));
  });

  it('with a KMS bucket, query results use the bucket key', () => {
    const k = sessionStack({ archiveBucket: { encryption: 'SSE-KMS' } });
    expect(onlyResource(k, 'aws_athena_workgroup').configuration.result_configuration.encryption_configuration).toEqual({
      encryption_option: 'SSE_KMS', kms_key_arn: ref(k, 'aws_kms_key', 'archive/key', 'arn'),
    });
  });

  it('saved queries (per user, per instance, a date range) that filter on the partition columns', () => {
    const queries = Object.values(resourcesOf(s, 'aws_athena_named_query')) as any[];
    expect(queries.map((q) => q.name).sort()).toEqual([
      'Session activity per instance, last 7 days', 'Session transcripts in a date range', 'Sessions per user, last 7 days',
    ]);
    const workgroup = ref(s, 'aws_athena_workgroup', 'analysis/workgroup', 'name');
    for (const q of queries) {
      expect(q).toMatchObject({ database: db, workgroup });
      expect(q.query).toContain(`FROM "${db}"."sessions"`);
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

  it('analysis.enabled false: no Glue or Athena resources', () => {
    const off = sessionStack({ analysis: { enabled: false } });
    for (const type of ['aws_glue_catalog_database', 'aws_glue_catalog_table', 'aws_athena_workgroup', 'aws_athena_named_query']) {
      expect(resourcesOf(off, type)).toEqual({});
    }
    expect(off.output!.athena_workgroup).toBeUndefined();
  });
});
