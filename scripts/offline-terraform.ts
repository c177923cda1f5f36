/**
 * Offline Terraform for synthesized stacks: copy a stack directory to a temp dir, add
 * `_override.tf.json` files (local backend, dummy credentials, skip_* flags, a local STS stand-in
 * for `aws_caller_identity`), point Terraform at the provider mirror with our own CLI config, then
 * init, validate and plan. What users deploy is never changed; only the copy is.
 *
 * Used by the test suite and by the benchmark. Missing tools are errors, never skips.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const PROVIDER_VERSION = '5.100.0';
export const OFFLINE_ACCOUNT_ID = '123456789012';
const DEFAULT_MIRROR = '/opt/tf-plugins';

export interface Toolchain {
  readonly terraform: string;
  readonly mirror: string;
  readonly cliConfigFile: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = new Error(`${path.basename(cmd)} ${args.join(' ')} failed${opts.cwd ? ` in ${opts.cwd}` : ''}:\n${stderr || stdout || err.message}`);
        reject(e);
      } else resolve({ stdout, stderr });
    });
  });
}

/**
 * Find terraform and the AWS provider mirror (TERRAFORM_BIN, TF_PROVIDER_MIRROR override the
 * defaults) and write a CLI config of our own that installs only from the mirror.
 */
export async function prepareToolchain(env: NodeJS.ProcessEnv = process.env): Promise<Toolchain> {
  const terraform = env.TERRAFORM_BIN || 'terraform';
  try {
    const { stdout } = await run(terraform, ['version', '-json'], { env: { ...env, TF_CLI_CONFIG_FILE: '/dev/null' } });
    const version = JSON.parse(stdout).terraform_version as string;
    const [maj, min] = version.split('.').map(Number);
    if (maj < 1 || (maj === 1 && min < 10)) throw new Error(`terraform ${version} is too old: S3 use_lockfile needs 1.10 or newer`);
  } catch (e) {
    throw new Error(`Terraform is required for the offline plan tests but '${terraform}' could not be run ` +
      `(set TERRAFORM_BIN or put terraform >= 1.10 on PATH): ${(e as Error).message}`);
  }
  const mirror = path.resolve(env.TF_PROVIDER_MIRROR || DEFAULT_MIRROR);
  const providerDir = path.join(mirror, 'registry.terraform.io/hashicorp/aws', PROVIDER_VERSION);
  if (!existsSync(providerDir) || readdirSync(providerDir).length === 0) {
    throw new Error(`The AWS provider ${PROVIDER_VERSION} mirror is missing: expected ${providerDir} ` +
      `(set TF_PROVIDER_MIRROR to a filesystem mirror holding registry.terraform.io/hashicorp/aws/${PROVIDER_VERSION}).`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-tfrc-'));
  const cliConfigFile = path.join(dir, 'terraform.tfrc');
  writeFileSync(cliConfigFile, `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirror)}
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
`);
  return { terraform, mirror, cliConfigFile };
}

/**
 * A local stand-in for STS so `data.aws_caller_identity` resolves offline, to a fixed account.
 * Everything else in a plan of new resources needs no AWS call.
 */
export async function startStsStandIn(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (!body.includes('Action=GetCallerIdentity')) {
        res.statusCode = 400;
        res.end(`offline STS stand-in only answers GetCallerIdentity, got: ${body.slice(0, 200)}`);
        return;
      }
      res.setHeader('content-type', 'text/xml');
      res.end(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
        `<Arn>arn:aws:iam::${OFFLINE_ACCOUNT_ID}:user/offline-plan</Arn><UserId>AIDAOFFLINEPLAN</UserId><Account>${OFFLINE_ACCOUNT_ID}</Account>` +
        `</GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata></GetCallerIdentityResponse>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface OfflinePlan {
  /** `terraform show -json` of the saved plan. */
  readonly plan: any;
  /** The temp working copy (removed by `cleanup`). */
  readonly workDir: string;
  readonly timings: { init: number; validate: number; plan: number };
  cleanup(): void;
}

/** Copy `stackDir`, add overrides, and run init, validate, plan and show -json. */
export interface PlanOptions {
  /** Keep the working copy for inspection. */
  readonly keep?: boolean;
  /** A prior state (terraform.tfstate v4 JSON) to plan against, as if earlier applies had run. */
  readonly state?: object;
  /** With a prior state there is nothing real to refresh against offline. @default true */
  readonly refresh?: boolean;
}

export async function planOffline(stackDir: string, tc: Toolchain, stsUrl: string, opts: PlanOptions = {}): Promise<OfflinePlan> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), `logrescue-plan-${path.basename(stackDir)}-`));
  cpSync(stackDir, workDir, { recursive: true });
  if (opts.state) writeFileSync(path.join(workDir, 'offline.tfstate'), JSON.stringify(opts.state));
  // Generated names sort after the stack's own files; Terraform merges every *_override.tf.json last.
  writeFileSync(path.join(workDir, 'zz_backend_override.tf.json'), JSON.stringify({
    terraform: { backend: { local: { path: path.join(workDir, 'offline.tfstate') } } },
  }, null, 2));
  writeFileSync(path.join(workDir, 'zz_provider_override.tf.json'), JSON.stringify({
    provider: {
      aws: [{
        access_key: 'AKIAOFFLINEPLAN00000',
        secret_key: 'offline-plan-dummy-secret',
        skip_credentials_validation: true,
        skip_requesting_account_id: true,
        skip_metadata_api_check: true,
        skip_region_validation: true,
        endpoints: [{ sts: stsUrl }],
      }],
    },
  }, null, 2));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_CLI_CONFIG_FILE: tc.cliConfigFile,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    TF_DATA_DIR: path.join(workDir, '.terraform'),
  };
  const time = async (args: string[]) => {
    const t0 = process.hrtime.bigint();
    await run(tc.terraform, args, { cwd: workDir, env });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const init = await time(['init', '-input=false', '-no-color', '-backend=true']);
  const validate = await time(['validate', '-no-color']);
  const planT = await time(['plan', '-input=false', '-lock=false', '-no-color', `-refresh=${opts.refresh ?? true}`, '-out=offline.tfplan']);
  const { stdout } = await run(tc.terraform, ['show', '-json', 'offline.tfplan'], { cwd: workDir, env });
  const cleanup = () => { if (!opts.keep) rmSync(workDir, { recursive: true, force: true }); };
  return { plan: JSON.parse(stdout), workDir, timings: { init, validate, plan: planT }, cleanup };
}
