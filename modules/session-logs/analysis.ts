import { Construct } from 'constructs';
import { AthenaNamedQuery } from '@cdktf/provider-aws/lib/athena-named-query';
import { AthenaWorkgroup } from '@cdktf/provider-aws/lib/athena-workgroup';
import { GlueCatalogDatabase } from '@cdktf/provider-aws/lib/glue-catalog-database';
import { GlueCatalogTable } from '@cdktf/provider-aws/lib/glue-catalog-table';
import { AwsContext } from '../shared/aws-context';
import { LogArchiveBucket } from '../shared/log-archive-bucket';
import { multilineText } from '../shared/terraform-text';
import { named, addressName } from '../shared/addresses';

/** Key prefix of Athena query results in their bucket. */
export const ATHENA_RESULTS_PREFIX = 'athena-results';

/**
 * The record Session Manager streams for each chunk of a session (the SSM agent's
 * CloudWatchMessage), as Glue columns. The JSON SerDe matches keys case-insensitively.
 */
export const SESSION_RECORD_COLUMNS = [
  { name: 'eventversion', type: 'string', comment: 'eventVersion' },
  { name: 'eventtime', type: 'string', comment: 'eventTime, ISO 8601 UTC' },
  { name: 'awsregion', type: 'string', comment: 'awsRegion' },
  { name: 'target', type: 'struct<id:string>', comment: 'target.id: the managed instance' },
  { name: 'useridentity', type: 'struct<arn:string>', comment: 'userIdentity.arn: who started the session' },
  { name: 'runasuser', type: 'string', comment: 'runAsUser: the OS user of the session' },
  { name: 'sessionid', type: 'string', comment: 'sessionId' },
  { name: 'sessiondata', type: 'array<string>', comment: 'sessionData: terminal input and output lines' },
];

export interface SessionAnalysisProps {
  /** First and last `year` of the table's partition projection: the years that can hold data. */
  readonly firstYear: number;
  readonly lastYear: number;
  /** Athena cancels a query of the workgroup that would scan more (cost guard). */
  readonly bytesScannedCutoffPerQueryMb: number;
  /** Days before query results (whole session transcripts) expire from their bucket. */
  readonly resultsExpirationDays: number;
  readonly archive: LogArchiveBucket;
  /** Key prefix Firehose delivers to, with `year=/month=/day=` partitions under it. */
  readonly prefix: string;
  readonly project: string;
  readonly environment: string;
  readonly namePrefix: string;
  readonly aws: AwsContext;
}

/**
 * Athena over the delivered session records: a Glue table with partition projection (no crawler,
 * no partition maintenance), a workgroup that enforces encrypted results and a scan limit, and a
 * few saved queries that filter on the partitions so they read days, not the whole archive.
 */
export class SessionAnalysis extends Construct {
  readonly database: GlueCatalogDatabase;
  readonly table: GlueCatalogTable;
  readonly workgroup: AthenaWorkgroup;
  readonly queries: AthenaNamedQuery[];
  /** Where query results go: a bucket of their own with a short expiry. */
  readonly results: LogArchiveBucket;

  constructor(scope: Construct, id: string, props: SessionAnalysisProps) {
    super(scope, id);
    const { archive } = props;
    const location = `s3://${archive.bucketName}/${props.prefix}/`;

    this.database = named(new GlueCatalogDatabase(this, 'database', {
      // Glue and Athena want lowercase letters, digits and underscores.
      name: `${props.project}_${props.environment}_session_logs`.replace(/-/g, '_'),
      description: 'Session Manager session records archived by Firehose',
    }), 'sessions');

    this.table = named(new GlueCatalogTable(this, 'table', {
      databaseName: this.database.name,
      name: 'sessions',
      description: 'One row per streamed Session Manager record (JSON lines, gzip)',
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        EXTERNAL: 'TRUE',
        classification: 'json',
        compressionType: 'gzip',
        'projection.enabled': 'true',
        'projection.year.type': 'integer',
        'projection.year.range': `${props.firstYear},${props.lastYear}`,
        'projection.month.type': 'integer',
        'projection.month.range': '1,12',
        'projection.month.digits': '2',
        'projection.day.type': 'integer',
        'projection.day.range': '1,31',
        'projection.day.digits': '2',
        // `$${` is a literal `${` for Terraform: these are Athena's placeholders.
        'storage.location.template': location + 'year=$${year}/month=$${month}/day=$${day}/',
      },
      // Strings, as in the keys: month and day are zero-padded ("07").
      partitionKeys: [
        { name: 'year', type: 'string' },
        { name: 'month', type: 'string' },
        { name: 'day', type: 'string' },
      ],
      storageDescriptor: {
        location,
        inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        compressed: true,
        serDeInfo: {
          name: 'session-record-json',
          serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
          parameters: { 'case.insensitive': 'TRUE' },
        },
        columns: SESSION_RECORD_COLUMNS,
      },
    }), 'sessions');

    // Query results are full session transcripts, written by whoever queries. In the archive they
    // would inherit its year of retention and, with Object Lock on, its lock: they get a bucket of
    // their own, as private and encrypted as the archive, that forgets them after a few days.
    this.results = new LogArchiveBucket(this, 'results', {
      aws: props.aws,
      namePrefix: `${props.namePrefix}-athena-results`,
      addressName: 'athena_results',
      tiering: false,
      encryption: archive.kmsKeyArn ? 'SSE-KMS' : 'SSE-S3',
      kmsKeyArn: archive.kmsKeyArn,
      transitionDays: 0,
      storageClass: 'STANDARD_IA',
      expirationDays: props.resultsExpirationDays,
      noncurrentVersionExpirationDays: 1,
      preventDestroy: true,
    });

    this.workgroup = named(new AthenaWorkgroup(this, 'workgroup', {
      name: `${props.namePrefix}-session-logs`,
      description: 'Queries over archived Session Manager sessions',
      forceDestroy: false,
      configuration: {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQueryMb * 1024 * 1024,
        resultConfiguration: {
          outputLocation: `s3://${this.results.bucketName}/${ATHENA_RESULTS_PREFIX}/`,
          // Same key as the results bucket's default encryption, which its policy enforces.
          encryptionConfiguration: this.results.kmsKeyArn
            ? { encryptionOption: 'SSE_KMS', kmsKeyArn: this.results.kmsKeyArn }
            : { encryptionOption: 'SSE_S3' },
        },
      },
    }), 'sessions');

    const table = `"${this.database.name}"."sessions"`;
    // Athena prunes partitions on predicates that compare the partition columns themselves with
    // values it can compute before reading (constants, current_date arithmetic); a function of a
    // partition column, such as concat(year, '-', month, '-', day), may make it project and read
    // every partition in range (Athena User Guide, "Use partition projection with Amazon Athena",
    // and its troubleshooting notes on filters). So each day is named by its three columns, each
    // compared with a zero-padded string like the keys Firehose writes.
    const lastDays = (n: number) => Array.from({ length: n + 1 }, (_, i) => {
      const d = i === 0 ? 'current_date' : `current_date - interval '${i}' day`;
      return `(year = date_format(${d}, '%Y') AND month = date_format(${d}, '%m') AND day = date_format(${d}, '%d'))`;
    });
    const inLastDays = (n: number) => `WHERE (${lastDays(n).join('\n    OR ')})`;
    const queries: Array<{ id: string; name: string; description: string; query: string }> = [
      {
        id: 'sessions-per-user',
        name: 'Sessions per user, last 7 days',
        description: 'Who opened how many sessions on how many instances',
        query: [
          'SELECT useridentity.arn AS user_arn,',
          '       count(DISTINCT sessionid) AS sessions,',
          '       count(DISTINCT target.id) AS instances,',
          '       min(eventtime) AS first_seen,',
          '       max(eventtime) AS last_seen',
          `FROM ${table}`,
          inLastDays(7),
          'GROUP BY useridentity.arn',
          'ORDER BY sessions DESC;',
        ].join('\n'),
      },
      {
        id: 'commands-per-instance',
        name: 'Session activity per instance, last 7 days',
        description: 'Sessions, users and terminal lines (commands and their output) per instance',
        query: [
          'SELECT target.id AS instance_id,',
          '       count(DISTINCT sessionid) AS sessions,',
          '       count(DISTINCT useridentity.arn) AS users,',
          '       sum(cardinality(sessiondata)) AS terminal_lines',
          `FROM ${table}`,
          inLastDays(7),
          'GROUP BY target.id',
          'ORDER BY terminal_lines DESC;',
        ].join('\n'),
      },
      {
        id: 'sessions-in-range',
        name: 'Session transcripts in a date range',
        description: "Every line of every session between two days of one month; Athena asks for the year ('2026'), the month ('07') and the first and last day ('01', '31')",
        query: [
          'SELECT eventtime, sessionid, useridentity.arn AS user_arn, target.id AS instance_id, runasuser, line',
          `FROM ${table}`,
          'CROSS JOIN UNNEST(sessiondata) AS t(line)',
          'WHERE year = ? AND month = ? AND day BETWEEN ? AND ?',
          'ORDER BY sessionid, eventtime;',
        ].join('\n'),
      },
    ];
    this.queries = queries.map((q) => named(new AthenaNamedQuery(this, q.id, {
      name: q.name,
      description: q.description,
      database: this.database.name,
      workgroup: this.workgroup.name,
      query: multilineText(q.query),
    }), addressName(q.id)));
  }
}
