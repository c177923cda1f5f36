/**
 * `npm run fetch-logs -- --instance i-0123456789abcdef0 [--since 2026-11-01] [--out dir]`: fetch an
 * instance's rescued logs from the archive bucket, without knowing its Auto Scaling group.
 *
 * The rescue script writes `<prefix>/<group>/<instance-id>/<event time, UTC>/{logs.tar.gz,
 * manifest.json}` (modules/collect-logs.sh). This lists the groups (one ListObjectsV2 with a `/`
 * delimiter), then each group's rescues of the instance (one listing per group), prints each
 * manifest's summary, downloads the archive (the version the manifest names), checks its SHA-256
 * against the manifest and extracts it into `<out>/<group>/<event time>/files/`. A mismatch is an
 * error: the download is deleted, nothing is extracted, exit 1.
 *
 * Options:
 *   --instance <id>    required, i-xxxxxxxx or i-xxxxxxxxxxxxxxxxx
 *   --since <date>     only rescues at or after this UTC day (YYYY-MM-DD) or time (ISO 8601)
 *   --out <dir>        default ./rescued-logs/<instance id>
 *   --bucket <name>    default: the `bucket_name` output of the log-rescue stack (`terraform output`
 *                      in --stack-dir, default cdktf.out/stacks/log-rescue)
 *   --prefix <p>       default: logRescue.prefix of the config (LOG_RESCUE_CONFIG, else config/default.json)
 *   --region <r>       default: AWS_REGION, else the config's region
 *   --endpoint-url <u> an S3-compatible endpoint (path-style requests), e.g. a local stand-in
 * Credentials: the AWS SDK's default chain (environment, profile, SSO, instance role).
 *
 * Exit codes: 0 fetched (or nothing found, which is said); 1 a download failed its check or AWS
 * refused; 2 bad arguments.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../config/load';

export class UsageError extends Error {}

export interface FetchOptions {
  readonly instance: string;
  readonly since?: string;
  readonly out: string;
  readonly bucket?: string;
  readonly stackDir: string;
  readonly prefix?: string;
  readonly region?: string;
  readonly endpointUrl?: string;
}

/** The id format EC2 gives instances (8 or 17 hex digits). */
const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
/** The event-time folder the script writes: compact UTC, `20261120T223000Z`. */
const EVENT_TIME = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/;

export function parseArgs(argv: readonly string[], cwd = process.cwd()): FetchOptions {
  const flags = new Map<string, string>();
  const known = ['--instance', '--since', '--out', '--bucket', '--stack-dir', '--prefix', '--region', '--endpoint-url'];
  for (let i = 0; i < argv.length; i += 1) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    if (!known.includes(name)) throw new UsageError(`unknown argument ${JSON.stringify(argv[i])} (known: ${known.join(', ')})`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
    flags.set(name, value);
  }
  const instance = flags.get('--instance');
  if (!instance) throw new UsageError('--instance is required, e.g. --instance i-0123456789abcdef0');
  if (!INSTANCE_ID.test(instance)) throw new UsageError(`--instance ${JSON.stringify(instance)} is not an EC2 instance id (i- and 8 or 17 hex digits)`);
  const since = flags.get('--since');
  if (since !== undefined && (!/^\d{4}-\d\d-\d\d(T[\d:.]+Z?)?$/.test(since) || Number.isNaN(Date.parse(since.length === 10 ? `${since}T00:00:00Z` : since)))) {
    throw new UsageError(`--since ${JSON.stringify(since)} is not a UTC day (YYYY-MM-DD) or ISO 8601 time`);
  }
  return {
    instance,
    since,
    out: path.resolve(cwd, flags.get('--out') ?? path.join('rescued-logs', instance)),
    bucket: flags.get('--bucket'),
    stackDir: path.resolve(cwd, flags.get('--stack-dir') ?? 'cdktf.out/stacks/log-rescue'),
    prefix: flags.get('--prefix'),
    region: flags.get('--region'),
    endpointUrl: flags.get('--endpoint-url'),
  };
}

/** The `bucket_name` output of the deployed log-rescue stack, read with `terraform output`. */
export function bucketFromStack(stackDir: string, terraform = 'terraform'): string {
  let json: string;
  try {
    json = execFileSync(terraform, [`-chdir=${stackDir}`, 'output', '-no-color', '-json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split('\n').slice(0, 3).join(' ');
    throw new UsageError(`no --bucket given and \`terraform output\` in ${stackDir} failed (${stderr}); pass --bucket, or run \`terraform init\` there first`);
  }
  const value = (JSON.parse(json) as Record<string, { value?: unknown }>).bucket_name?.value;
  if (typeof value !== 'string' || value === '') throw new UsageError(`no --bucket given and the state in ${stackDir} has no bucket_name output (is the log-rescue stack deployed?)`);
  return value;
}

export interface Rescue {
  readonly group: string;
  readonly eventTime: string;
  readonly manifestKey: string;
}

/** Every rescue of `instance` under `prefix`, in any group, oldest first; at or after `since`. */
export async function findRescues(s3: S3Client, bucket: string, prefix: string, instance: string, since?: string): Promise<Rescue[]> {
  const list = async (input: { Prefix: string; Delimiter?: string }) => {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...input, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      prefixes.push(...(page.CommonPrefixes ?? []).map((c) => c.Prefix!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { keys, prefixes };
  };
  const root = `${prefix}/`;
  const sinceMs = since === undefined ? undefined : Date.parse(since.length === 10 ? `${since}T00:00:00Z` : since);
  const rescues: Rescue[] = [];
  for (const groupPrefix of (await list({ Prefix: root, Delimiter: '/' })).prefixes) {
    const group = groupPrefix.slice(root.length, -1);
    const base = `${groupPrefix}${instance}/`;
    for (const key of (await list({ Prefix: base })).keys) {
      const [eventTime, file, ...rest] = key.slice(base.length).split('/');
      const t = EVENT_TIME.exec(eventTime);
      if (file !== 'manifest.json' || rest.length || !t) continue;
      if (sinceMs !== undefined && Date.UTC(+t[1], +t[2] - 1, +t[3], +t[4], +t[5], +t[6]) < sinceMs) continue;
      rescues.push({ group, eventTime, manifestKey: key });
    }
  }
  return rescues.sort((a, b) => a.eventTime.localeCompare(b.eventTime) || a.group.localeCompare(b.group));
}

/** The manifest fields this tool reads (schema version 2, modules/collect-logs.sh). */
interface Manifest {
  outcome: string;
  trigger?: string;
  archiveKey: string | null;
  archiveVersionId?: string | null;
  sha256: string | null;
  archiveBytes: number;
  files?: unknown[];
  leftOut?: unknown[];
  missingGlobs?: unknown[];
}

function summaryLine(r: Rescue, m: Manifest): string {
  const n = (v: unknown[] | undefined) => (Array.isArray(v) ? v.length : 0);
  return `${r.group} ${r.eventTime} ${m.trigger ?? '?'} ${m.outcome}: ${n(m.files)} files, ${m.archiveBytes} bytes archived ` +
    `(${n(m.missingGlobs)} missing globs, ${n(m.leftOut)} left out)`;
}

export interface FetchResult {
  readonly fetched: number;
  readonly failed: number;
  readonly lines: string[];
}

/** Fetch, verify and extract every rescue found; a failed check is counted, reported and not extracted. */
export async function fetchLogs(s3: S3Client, bucket: string, prefix: string, opts: FetchOptions, say: (line: string) => void): Promise<FetchResult> {
  const rescues = await findRescues(s3, bucket, prefix, opts.instance, opts.since);
  const lines: string[] = [];
  const out = (l: string) => { lines.push(l); say(l); };
  if (!rescues.length) {
    out(`no rescued logs of ${opts.instance} in s3://${bucket}/${prefix}/${opts.since ? ` since ${opts.since}` : ''}`);
    return { fetched: 0, failed: 0, lines };
  }
  let fetched = 0;
  let failed = 0;
  for (const r of rescues) {
    const dir = path.join(opts.out, r.group, r.eventTime);
    mkdirSync(dir, { recursive: true });
    const manifestBody = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: r.manifestKey }))).Body!.transformToString();
    writeFileSync(path.join(dir, 'manifest.json'), manifestBody);
    const m = JSON.parse(manifestBody) as Manifest;
    if (m.outcome !== 'rescued' || !m.archiveKey || !m.sha256) {
      out(`${summaryLine(r, m)}; no archive to fetch`);
      continue;
    }
    // The version the manifest names: a later object under the same key is not this rescue's.
    const archive = path.join(dir, 'logs.tar.gz');
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: m.archiveKey, VersionId: m.archiveVersionId ?? undefined }));
    const hash = createHash('sha256');
    await pipeline(got.Body as Readable, async function* (chunks) {
      for await (const chunk of chunks) {
        hash.update(chunk as Buffer);
        yield chunk;
      }
    }, createWriteStream(archive));
    const sha256 = hash.digest('hex');
    if (sha256 !== m.sha256) {
      rmSync(archive, { force: true });
      failed += 1;
      out(`${summaryLine(r, m)}; ERROR: s3://${bucket}/${m.archiveKey} has SHA-256 ${sha256}, the manifest says ${m.sha256}: not extracted, download deleted`);
      continue;
    }
    const files = path.join(dir, 'files');
    mkdirSync(files, { recursive: true });
    // GNU tar strips leading `/` and refuses members with `..`; owners are not restored.
    execFileSync('tar', ['-xzf', archive, '--no-same-owner', '-C', files], { stdio: ['ignore', 'ignore', 'pipe'] });
    fetched += 1;
    out(`${summaryLine(r, m)}; sha256 ${sha256} verified; extracted to ${files}`);
  }
  return { fetched, failed, lines };
}

export async function main(argv: readonly string[], io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) }): Promise<number> {
  let opts: FetchOptions;
  let bucket: string;
  let prefix: string;
  let region: string;
  try {
    opts = parseArgs(argv);
    const config = opts.prefix && opts.region ? undefined : loadConfig(process.env);
    prefix = (opts.prefix ?? config!.logRescue.prefix).replace(/\/+$/, '');
    region = opts.region ?? process.env.AWS_REGION ?? config!.region;
    bucket = opts.bucket ?? bucketFromStack(opts.stackDir);
  } catch (e) {
    io.err(`fetch-logs: ${(e as Error).message}\n`);
    return 2;
  }
  const s3 = new S3Client({ region, ...(opts.endpointUrl ? { endpoint: opts.endpointUrl, forcePathStyle: true } : {}) });
  try {
    const r = await fetchLogs(s3, bucket, prefix, opts, (l) => io.out(`${l}\n`));
    return r.failed ? 1 : 0;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    io.err(`fetch-logs: ${err.name}: ${err.message}${err.$metadata?.httpStatusCode ? ` (HTTP ${err.$metadata.httpStatusCode})` : ''}\n`);
    return 1;
  } finally {
    s3.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
