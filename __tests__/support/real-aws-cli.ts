/**
 * The real AWS CLI v2 for tests, pointed at the local S3 stand-in (./s3-standin.ts).
 *
 * Which CLI: `LOG_RESCUE_TEST_AWS_CLI` when set (a path), otherwise Debian's `awscli` package at
 * /usr/bin/aws, otherwise the official installer's /usr/local/bin/aws. Never whatever `aws` comes
 * first on PATH: on a workstation that is often a v1 (pyenv, pip) and v1 accepts different options.
 * It must say `aws-cli/2.`; if none does, findAwsCliV2 throws, so the suite fails instead of
 * skipping (a skipped suite would let a flag v2 does not know reach production).
 *
 * The wrapper: an `aws` for the sandbox PATH that execs that CLI with `--endpoint-url` of the stand-in,
 * the stand-in's credentials, its CA as AWS_CA_BUNDLE, no instance metadata, no config or credential
 * files, no proxy. It sets no region: the script's own `--region` must reach the request (the stand-in
 * refuses a signature scoped to another region, as S3 does).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { STANDIN_ACCESS_KEY_ID, STANDIN_SECRET_ACCESS_KEY, S3StandIn } from './s3-standin';

export const AWS_CLI_ENV_OVERRIDE = 'LOG_RESCUE_TEST_AWS_CLI';
const DEFAULT_CANDIDATES = ['/usr/bin/aws', '/usr/local/bin/aws'];
/** Set in the sandbox environment to make `aws --version` print this line instead of the real one. */
export const VERSION_LINE_OVERRIDE = 'LOG_RESCUE_TEST_CLI_VERSION_LINE';

export interface AwsCliV2 {
  readonly path: string;
  /** `aws --version`, trimmed: `aws-cli/2.9.19 Python/3.11.2 ...`. */
  readonly version: string;
}

/** The AWS CLI v2 the real-CLI tests use; throws with how to install one if there is none. */
export function findAwsCliV2(env: NodeJS.ProcessEnv = process.env): AwsCliV2 {
  const override = env[AWS_CLI_ENV_OVERRIDE];
  const candidates = override ? [override] : DEFAULT_CANDIDATES;
  const rejected: string[] = [];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) {
      rejected.push(`${candidate}: not found`);
      continue;
    }
    const r = spawnSync(candidate, ['--version'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', AWS_PAGER: '', AWS_EC2_METADATA_DISABLED: 'true' },
    });
    const version = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status === 0 && version.startsWith('aws-cli/2.')) return { path: candidate, version };
    rejected.push(`${candidate}: ${r.error ? r.error.message : `exit ${r.status}, ${JSON.stringify(version.slice(0, 200))}`}`);
  }
  throw new Error(
    'The rescue script tests need the real AWS CLI v2 and found none '
    + `(${override ? `${AWS_CLI_ENV_OVERRIDE}=${override}` : `looked at ${DEFAULT_CANDIDATES.join(' and ')}`}; `
    + `${rejected.join('; ')}). Install Debian's package as root: apt-get update && apt-get install -y awscli `
    + `(.ci/run does this), or point ${AWS_CLI_ENV_OVERRIDE} at an AWS CLI v2 binary. The aws first on PATH is `
    + 'not used on purpose: it is often a v1, which accepts other options.',
  );
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Writes `<binDir>/aws`: the real CLI against `s3`. With `$LOG_RESCUE_TEST_CLI_VERSION_LINE` set,
 * `aws --version` prints that line instead (so the rescue script picks its Content-MD5 path) while
 * every other call still runs the real CLI.
 */
export function writeAwsWrapper(binDir: string, cli: AwsCliV2, s3: S3StandIn): string {
  const caFile = path.join(binDir, '..', 's3-standin-ca.pem');
  if (s3.caPem) fs.writeFileSync(caFile, s3.caPem);
  const wrapper = path.join(binDir, 'aws');
  fs.writeFileSync(wrapper, [
    '#!/bin/bash',
    `# Test wrapper: the real AWS CLI v2 (${cli.version.split(' ')[0]}) against the local S3 stand-in.`,
    'unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \\',
    '  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \\',
    '  AWS_REGION AWS_DEFAULT_REGION AWS_USE_FIPS_ENDPOINT AWS_USE_DUALSTACK_ENDPOINT \\',
    '  HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy',
    `export AWS_ACCESS_KEY_ID=${sq(STANDIN_ACCESS_KEY_ID)} AWS_SECRET_ACCESS_KEY=${sq(STANDIN_SECRET_ACCESS_KEY)}`,
    'export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent/aws-config AWS_SHARED_CREDENTIALS_FILE=/nonexistent/aws-credentials',
    'export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1',
    ...(s3.caPem ? [`export AWS_CA_BUNDLE=${sq(caFile)}`] : ['unset AWS_CA_BUNDLE']),
    'if [[ $# -eq 1 && $1 == --version ]]; then',
    `  if [[ -n \${${VERSION_LINE_OVERRIDE}:-} ]]; then printf '%s\\n' "$${VERSION_LINE_OVERRIDE}"; exit 0; fi`,
    `  exec ${sq(cli.path)} --version`,
    'fi',
    `exec ${sq(cli.path)} --endpoint-url ${sq(s3.endpoint)} "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });
  return wrapper;
}

export interface CommandRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one command without blocking the event loop (the S3 stand-in answers on it). */
export function runAsync(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}
