/**
 * Flow 2 on data: real-shaped CloudWatch Logs subscription records go through a model of the
 * Firehose stream exactly as synthesized (its processors, their parameters, its compression and
 * prefix), and what lands in S3 must be rows of the synthesized Glue table under a key its
 * partition projection finds.
 *
 * The processor model follows the Amazon Data Firehose documentation:
 * - Decompression (CompressionFormat GZIP): gunzip the record CloudWatch Logs sent.
 * - CloudWatchLogProcessing (DataMessageExtraction true): drop everything but the `message` of each
 *   log event ("delivers only the content inside the message fields"); the messages of one record
 *   come out newline-separated; CONTROL_MESSAGE records carry no log data and are dropped.
 * - AppendDelimiterToRecord: "add a new line delimiter between records in objects delivered to S3".
 * - Firehose concatenates the processed records of a buffer as they are (no separator of its own),
 *   compresses the object with compression_format, and renders `!{timestamp:...}` in UTC from the
 *   records' arrival time.
 *
 * @lane synth
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { onlyResource, resourceAt, StackJson } from '../support/stack-json';
import { addressOf, sessionStack, terraformUnescape } from './session-logs.helpers';

// ------------------------------------------------------------------ the Firehose model

interface Processor { type: string; parameters?: Array<{ parameter_name: string; parameter_value: string }> }
interface IncomingRecord { data: string; arrival: Date }

function parameter(p: Processor, name: string): string | undefined {
  return p.parameters?.find((x) => x.parameter_name === name)?.parameter_value;
}

/** One record through the configured processors; null when a processor drops it. */
function processRecord(processing: { enabled: boolean; processors: Processor[] } | undefined, data: Buffer): Buffer | null {
  if (!processing?.enabled) return data;
  let current = data;
  for (const p of processing.processors) {
    switch (p.type) {
      case 'Decompression': {
        const format = parameter(p, 'CompressionFormat');
        if (format !== 'GZIP') throw new Error(`model: Decompression supports GZIP, got ${format}`);
        current = gunzipSync(current);
        break;
      }
      case 'CloudWatchLogProcessing': {
        if (parameter(p, 'DataMessageExtraction') !== 'true') break;
        const envelope = JSON.parse(current.toString('utf8'));
        if (envelope.messageType !== 'DATA_MESSAGE') return null;
        current = Buffer.from(envelope.logEvents.map((e: { message: string }) => e.message).join('\n'), 'utf8');
        break;
      }
      case 'AppendDelimiterToRecord':
        current = Buffer.concat([current, Buffer.from('\n')]);
        break;
      default:
        throw new Error(`model: no model of processor ${p.type}`);
    }
  }
  return current;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `!{timestamp:...}` with the Java date patterns Firehose accepts (the ones used here), in UTC. */
function renderPrefix(prefix: string, at: Date): string {
  return prefix.replace(/!\{([a-z-]+):([^}]+)\}/g, (_, namespace: string, format: string) => {
    if (namespace !== 'timestamp') throw new Error(`model: !{${namespace}:...} is not valid in the main prefix`);
    return format
      .replace('yyyy', String(at.getUTCFullYear()))
      .replace('MM', pad(at.getUTCMonth() + 1))
      .replace('dd', pad(at.getUTCDate()))
      .replace('HH', pad(at.getUTCHours()));
  });
}

/** The S3 object Firehose writes for one buffer of records. */
function deliver(stream: any, records: IncomingRecord[]): { key: string; body: Buffer } {
  const s3 = stream.extended_s3_configuration;
  const processed = records
    .map((r) => processRecord(s3.processing_configuration, Buffer.from(r.data, 'base64')))
    .filter((b): b is Buffer => b !== null);
  const content = Buffer.concat(processed);
  const oldest = new Date(Math.min(...records.map((r) => r.arrival.getTime())));
  const stamp = `${oldest.getUTCFullYear()}-${pad(oldest.getUTCMonth() + 1)}-${pad(oldest.getUTCDate())}-${pad(oldest.getUTCHours())}-${pad(oldest.getUTCMinutes())}-${pad(oldest.getUTCSeconds())}`;
  const name = `${stream.name}-1-${stamp}-${randomUUID()}`;
  switch (s3.compression_format) {
    case 'GZIP': return { key: `${renderPrefix(s3.prefix, oldest)}${name}.gz`, body: gzipSync(content) };
    case 'UNCOMPRESSED': return { key: `${renderPrefix(s3.prefix, oldest)}${name}`, body: content };
    default: throw new Error(`model: compression ${s3.compression_format}`);
  }
}

// ------------------------------------------------------------------ what Athena would read

/** Does a parsed JSON value fit a Hive type as the OpenX JSON SerDe (case-insensitive) reads it? */
function fitsHiveType(value: unknown, type: string): boolean {
  if (value === null || value === undefined) return true;
  const t = type.trim();
  if (t === 'string') return typeof value === 'string';
  if (t === 'boolean') return typeof value === 'boolean';
  if (['int', 'bigint', 'smallint', 'tinyint'].includes(t)) return Number.isInteger(value);
  if (['double', 'float'].includes(t)) return typeof value === 'number';
  const array = /^array<(.+)>$/.exec(t);
  if (array) return Array.isArray(value) && value.every((v) => fitsHiveType(v, array[1]));
  const struct = /^struct<(.+)>$/.exec(t);
  if (struct) {
    if (typeof value !== 'object' || Array.isArray(value)) return false;
    const fields = splitTopLevel(struct[1]).map((f) => {
      const i = f.indexOf(':');
      return { name: f.slice(0, i).toLowerCase(), type: f.slice(i + 1) };
    });
    return Object.entries(value as object).every(([k, v]) => {
      const field = fields.find((f) => f.name === k.toLowerCase());
      return field !== undefined && fitsHiveType(v, field.type);
    });
  }
  throw new Error(`no check for Hive type ${t}`);
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '<') depth++;
    if (s[i] === '>') depth--;
    if (s[i] === ',' && depth === 0) { parts.push(s.slice(start, i)); start = i + 1; }
  }
  parts.push(s.slice(start));
  return parts;
}

/** Each line of an object as a row of the table: every key a declared column of the right type. */
function rowsOf(table: any, body: Buffer): Array<Record<string, unknown>> {
  const columns: Array<{ name: string; type: string }> = table.storage_descriptor.columns;
  const text = gunzipSync(body).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1} is not one JSON record: ${line.slice(0, 120)}`);
    }
    for (const [key, value] of Object.entries(row)) {
      const column = columns.find((c) => c.name === key.toLowerCase());
      if (!column) throw new Error(`line ${i + 1}: field ${key} is not a column of ${table.name}`);
      if (!fitsHiveType(value, column.type)) throw new Error(`line ${i + 1}: ${key} does not fit ${column.type}`);
    }
    for (const c of columns) {
      if (!Object.keys(row).some((k) => k.toLowerCase() === c.name)) throw new Error(`line ${i + 1}: column ${c.name} missing`);
    }
    return row;
  });
}

/** Partition values Athena's projection assigns to an object, or an error if it would not find it. */
function partitionOf(table: any, bucket: string, bucketToken: string, key: string): Record<string, string> {
  const p = table.parameters;
  expect(p['projection.enabled']).toBe('true');
  const template = terraformUnescape(p['storage.location.template']).replace(bucketToken, bucket);
  const names: string[] = table.partition_keys.map((k: any) => k.name);
  let pattern = template.replace(/[.*+?^()|[\]\\]/g, '\\$&');
  for (const n of names) pattern = pattern.replace(`\${${n}}`, `(?<${n}>[^/]+)`);
  const directory = `s3://${bucket}/${key.slice(0, key.lastIndexOf('/') + 1)}`;
  const match = new RegExp(`^${pattern}$`).exec(directory);
  if (!match) throw new Error(`${directory} is not under ${template}`);
  const values = match.groups as Record<string, string>;
  for (const n of names) {
    expect(p[`projection.${n}.type`]).toBe('integer');
    const [lo, hi] = String(p[`projection.${n}.range`]).split(',').map(Number);
    const digits = p[`projection.${n}.digits`];
    const v = values[n];
    if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new Error(`${n}=${v} outside projected range ${lo}..${hi}`);
    if (digits && v.length !== Number(digits)) throw new Error(`${n}=${v} is not ${digits} digits`);
  }
  return values;
}

// ------------------------------------------------------------------ real-shaped input

function sessionRecord(sessionId: string, time: string, lines: string[]) {
  return {
    eventVersion: '1.0',
    eventTime: time,
    awsRegion: 'us-east-1',
    target: { id: 'i-0123456789abcdef0' },
    userIdentity: { arn: 'arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice' },
    runAsUser: 'ssm-user',
    sessionId,
    sessionData: lines,
  };
}

/** What CloudWatch Logs puts into Firehose for a subscription: gzip of the JSON, base64 on the wire. */
function subscriptionRecord(envelope: object, arrival: Date): IncomingRecord {
  return { data: gzipSync(Buffer.from(JSON.stringify(envelope))).toString('base64'), arrival };
}

function dataMessage(stack: StackJson, logStream: string, records: object[], firstTimestamp: number) {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: resourceAt(stack, 'aws_cloudwatch_log_group', 'log-group/group').name,
    logStream,
    subscriptionFilters: [onlyResource(stack, 'aws_cloudwatch_log_subscription_filter').name],
    logEvents: records.map((r, i) => ({
      id: `3719813489741239847129837498127349871234987123498712349${i}`,
      timestamp: firstTimestamp + i,
      message: JSON.stringify(r),
    })),
  };
}

const CONTROL_MESSAGE = {
  messageType: 'CONTROL_MESSAGE',
  owner: 'CloudwatchLogs',
  logGroup: '',
  logStream: '',
  subscriptionFilters: [],
  logEvents: [{ id: '', timestamp: 1741391970000, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' }],
};

// ------------------------------------------------------------------ the tests

describe('session records from CloudWatch Logs to Athena rows', () => {
  const stack = sessionStack();
  const stream = onlyResource(stack, 'aws_kinesis_firehose_delivery_stream');
  const table = onlyResource(stack, 'aws_glue_catalog_table');
  const bucket = 'acme-session-archive';
  const bucketToken = `\${${addressOf(stack, 'aws_s3_bucket', 'archive/bucket')}.bucket}`;

  // Arrivals a few seconds before midnight UTC: the partition must be that UTC day.
  const arrival = new Date(Date.UTC(2025, 2, 7, 23, 59, 30));
  const alice = 'alice-0a1b2c3d4e5f6a7b8';
  const bob = 'bob-9f8e7d6c5b4a39281';
  const batches = [
    dataMessage(stack, alice, [
      sessionRecord(alice, '2025-03-07T23:59:21Z', ['sh-5.2$ sudo tail -n 2 /var/log/messages', 'Mar  7 23:59:20 ip-10-0-1-23 systemd[1]: Started "session-1".\r']),
      sessionRecord(alice, '2025-03-07T23:59:24Z', ['sh-5.2$ exit', 'exit\r\n']),
    ], 1741391961000),
    dataMessage(stack, bob, [
      sessionRecord(bob, '2025-03-07T23:59:27Z', ['sh-5.2$ df -h /', 'Filesystem      Size  Used Avail Use% Mounted on', '/dev/nvme0n1p1  8.0G  2.1G  6.0G  26% /']),
    ], 1741391967000),
  ];
  const incoming = [
    subscriptionRecord(batches[0], arrival),
    subscriptionRecord(CONTROL_MESSAGE, new Date(arrival.getTime() + 1000)),
    subscriptionRecord(batches[1], new Date(arrival.getTime() + 2000)),
  ];

  it('S3 holds the session records themselves, one per line, gzipped once', () => {
    const object = deliver(stream, incoming);
    expect(object.key.endsWith('.gz')).toBe(true);
    const text = gunzipSync(object.body).toString('utf8');
    // Not gzip inside gzip, not the subscription envelope.
    expect(text.startsWith('{"eventVersion"')).toBe(true);
    expect(text).not.toContain('logEvents');
    expect(text).not.toContain('CONTROL_MESSAGE');
    const rows = rowsOf(table, object.body);
    expect(rows).toEqual(batches.flatMap((b) => b.logEvents.map((e) => JSON.parse(e.message))));
    expect(rows.map((r) => r.sessionId)).toEqual([alice, alice, bob]);
  });

  it('every line parses as a row of the synthesized Glue table', () => {
    const rows = rowsOf(table, deliver(stream, incoming).body);
    expect(rows).toHaveLength(3);
    // The column list the check used is the synthesized table's, not a copy.
    expect(table.storage_descriptor.columns.map((c: any) => c.name)).toEqual(Object.keys(rows[0]).map((k) => k.toLowerCase()));
  });

  it('the object lands where the partition projection looks: the UTC arrival day', () => {
    const object = deliver(stream, incoming);
    expect(partitionOf(table, bucket, bucketToken, object.key)).toEqual({ year: '2025', month: '03', day: '07' });
    expect(object.key).toMatch(/^session-logs\/year=2025\/month=03\/day=07\/logrescue-dev-session-logs-1-2025-03-07-23-59-30-[0-9a-f-]{36}\.gz$/);
  });

  it('a buffer of only control messages writes nothing to the table', () => {
    const object = deliver(stream, [subscriptionRecord(CONTROL_MESSAGE, arrival)]);
    expect(rowsOf(table, object.body)).toEqual([]);
  });

  describe('the same check fails when the stream is configured differently', () => {
    const withProcessors = (processors: (ps: Processor[]) => Processor[]) => ({
      ...stream,
      extended_s3_configuration: {
        ...stream.extended_s3_configuration,
        processing_configuration: { ...stream.extended_s3_configuration.processing_configuration, processors: processors(stream.extended_s3_configuration.processing_configuration.processors) },
      },
    });

    it('without AppendDelimiterToRecord, one batch\'s last record and the next batch\'s first share a line', () => {
      const broken = withProcessors((ps) => ps.filter((p) => p.type !== 'AppendDelimiterToRecord'));
      expect(() => rowsOf(table, deliver(broken, incoming).body)).toThrow(/line 2 is not one JSON record/);
    });

    it('without message extraction, S3 holds subscription envelopes, not session records', () => {
      const broken = withProcessors((ps) => ps.map((p) => (p.type === 'CloudWatchLogProcessing'
        ? { ...p, parameters: [{ parameter_name: 'DataMessageExtraction', parameter_value: 'false' }] } : p)));
      expect(() => rowsOf(table, deliver(broken, incoming).body)).toThrow(/not one JSON record|not a column/);
    });

    it('without Decompression, the gzip from CloudWatch Logs is not readable as JSON', () => {
      const broken = withProcessors((ps) => ps.filter((p) => p.type !== 'Decompression'));
      expect(() => deliver(broken, incoming)).toThrow(SyntaxError);
    });

    it('a prefix without the date partitions is not where the projection looks', () => {
      const flat = { ...stream, extended_s3_configuration: { ...stream.extended_s3_configuration, prefix: 'session-logs/' } };
      expect(() => partitionOf(table, bucket, bucketToken, deliver(flat, incoming).key)).toThrow(/is not under/);
    });
  });
});
