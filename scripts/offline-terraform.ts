/**
 * Offline Terraform for synthesized stacks: copy a stack directory to a temp dir, add
 * `_override.tf.json` files (local backend, dummy credentials, skip_* flags, a local STS stand-in
 * for `aws_caller_identity`), point Terraform at the provider mirror with our own CLI config, then
 * plan (which validates first) and show the plan as JSON. What users deploy is never changed; only
 * the copy is.
 *
 * Every plan shares one provider install: `prepareToolchain` runs `terraform init` once per
 * toolchain (terraform, mirror, provider) into a shared directory, and each copy links that
 * install's providers and takes its lock file and backend record instead of running init again.
 *
 * Used by the test suite and by the benchmark. Missing tools are errors, never skips.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
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
  /** A directory `terraform init` ran in once: `.terraform/` (providers, backend) and `.terraform.lock.hcl`. */
  readonly sharedInitDir: string;
}

/** The backend every offline copy uses: relative, so one init's backend record fits every copy. */
const OFFLINE_BACKEND = { local: { path: 'offline.tfstate' } };

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
  let terraformVersion = '';
  try {
    const { stdout } = await run(terraform, ['version', '-json'], { env: { ...env, TF_CLI_CONFIG_FILE: '/dev/null' } });
    const version = JSON.parse(stdout).terraform_version as string;
    terraformVersion = version;
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
  // One directory per toolchain, shared by every process (jest workers, worktrees, the benchmark):
  // the key changes with terraform, the mirror or the provider binary.
  const platformDir = path.join(providerDir, `${os.platform()}_${archOf()}`);
  const binary = existsSync(platformDir) ? readdirSync(platformDir).find((f) => f.startsWith('terraform-provider-aws')) : undefined;
  if (!binary) {
    throw new Error(`The AWS provider ${PROVIDER_VERSION} mirror has no provider binary for this machine: expected ${platformDir}/terraform-provider-aws_*`);
  }
  const stat = statSync(path.join(platformDir, binary));
  const key = createHash('sha256').update(JSON.stringify([terraformVersion, mirror, binary, stat?.size, stat?.mtimeMs, os.userInfo().uid]))
    .digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `logrescue-terraform-${key}`);
  const pluginCache = path.join(dir, 'plugin-cache');
  mkdirSync(pluginCache, { recursive: true });
  // The plugin cache holds the one provider install, for the inits that do run: the shared one,
  // and a copy's own (PlanOptions.ownInit). Terraform 1.4+ takes a provider from the cache only
  // when the lock file already records its checksum, so an init without a lock file installs from
  // the mirror again: a symlink (the mirror is unpacked), but after hashing the 700 MB binary,
  // seconds per init. Copies therefore skip init and take the shared install and lock file.
  const cliConfigFile = path.join(dir, 'terraform.tfrc');
  writeAtomically(cliConfigFile, `plugin_cache_dir = ${JSON.stringify(pluginCache)}

provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirror)}
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
`);
  const sharedInitDir = path.join(dir, 'init');
  if (!initDone(sharedInitDir)) await sharedInit(dir, sharedInitDir, terraform, cliConfigFile, env);
  return { terraform, mirror, cliConfigFile, sharedInitDir };
}

function archOf(): string {
  return ({ x64: 'amd64', arm64: 'arm64', ia32: '386' } as Record<string, string>)[os.arch()] ?? os.arch();
}

/** The shared init finished, and the provider it links to is still there (temp dirs get cleaned). */
function initDone(sharedInitDir: string): boolean {
  return existsSync(path.join(sharedInitDir, '.terraform.lock.hcl'))
    && existsSync(path.join(sharedInitDir, '.terraform/providers/registry.terraform.io/hashicorp/aws', PROVIDER_VERSION, `${os.platform()}_${archOf()}`));
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * `terraform init` once, in a scratch directory renamed into place when complete, under a lock
 * (a directory only one process can create) because the plugin cache is not safe for concurrent
 * installs. A lock older than five minutes is a crashed run's and is taken over.
 */
async function sharedInit(dir: string, sharedInitDir: string, terraform: string, cliConfigFile: string, env: NodeJS.ProcessEnv): Promise<void> {
  const lock = path.join(dir, 'init.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (initDone(sharedInitDir)) return;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 5 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* released meanwhile */ }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (initDone(sharedInitDir)) return;
    const scratch = mkdtempSync(path.join(dir, 'init-'));
    writeFileSync(path.join(scratch, 'main.tf.json'), JSON.stringify({
      terraform: { required_providers: { aws: { source: 'aws', version: PROVIDER_VERSION } }, backend: OFFLINE_BACKEND },
    }, null, 2));
    await run(terraform, ['init', '-input=false', '-no-color'], {
      cwd: scratch,
      env: { ...env, TF_CLI_CONFIG_FILE: cliConfigFile, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', TF_DATA_DIR: path.join(scratch, '.terraform') },
    });
    rmSync(sharedInitDir, { recursive: true, force: true });
    renameSync(scratch, sharedInitDir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Access keys the stand-in hands out for AssumeRole: the account is in the key, so GetCallerIdentity can answer for it. */
const ASSUMED_KEY = /^ASIAOFFLINE(\d{12})$/;

/**
 * A local stand-in for STS so a plan resolves offline: GetCallerIdentity answers with a fixed
 * account, and AssumeRole (a provider with `assume_role`, as the organisation's stacks have) hands
 * out credentials for the role's account, which GetCallerIdentity then answers with, as STS would
 * (the assumed-role session ARN of that account). Everything else in a plan of new resources needs
 * no AWS call.
 */
export async function startStsStandIn(): Promise<{ url: string; close: () => Promise<void> }> {
  const sessions = new Map<string, { account: string; role: string; session: string }>();
  const xml = (action: string, result: string) =>
    `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata></${action}Response>`;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const action = params.get('Action');
      res.setHeader('content-type', 'text/xml');
      if (action === 'AssumeRole') {
        const roleArn = params.get('RoleArn') ?? '';
        const m = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(.+)$/.exec(roleArn);
        if (!m) {
          res.statusCode = 400;
          res.end(`offline STS stand-in: not a role ARN: ${roleArn}`);
          return;
        }
        const keyId = `ASIAOFFLINE${m[1]}`;
        const session = params.get('RoleSessionName') ?? 'offline';
        sessions.set(keyId, { account: m[1], role: m[2], session });
        const expires = new Date(Date.now() + 3600_000).toISOString();
        res.end(xml('AssumeRole', `<Credentials><AccessKeyId>${keyId}</AccessKeyId><SecretAccessKey>offline-assumed-secret</SecretAccessKey>` +
          `<SessionToken>offline-session-token</SessionToken><Expiration>${expires}</Expiration></Credentials>` +
          `<AssumedRoleUser><AssumedRoleId>AROAOFFLINE:${session}</AssumedRoleId><Arn>arn:aws:sts::${m[1]}:assumed-role/${m[2]}/${session}</Arn></AssumedRoleUser>`));
        return;
      }
      if (action !== 'GetCallerIdentity') {
        res.statusCode = 400;
        res.end(`offline STS stand-in only answers GetCallerIdentity and AssumeRole, got: ${body.slice(0, 200)}`);
        return;
      }
      // SigV4: Authorization: AWS4-HMAC-SHA256 Credential=<access key id>/<date>/<region>/sts/aws4_request, ...
      const keyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
      const who = ASSUMED_KEY.test(keyId) ? sessions.get(keyId) : undefined;
      const account = who?.account ?? OFFLINE_ACCOUNT_ID;
      const arn = who ? `arn:aws:sts::${who.account}:assumed-role/${who.role}/${who.session}` : `arn:aws:iam::${OFFLINE_ACCOUNT_ID}:user/offline-plan`;
      res.end(xml('GetCallerIdentity', `<Arn>${arn}</Arn><UserId>AIDAOFFLINEPLAN</UserId><Account>${account}</Account>`));
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
  /** `init` is linking the shared install unless `ownInit`. */
  readonly timings: { init: number; plan: number };
  cleanup(): void;
}

export interface PlanOptions {
  /** Keep the working copy for inspection. */
  readonly keep?: boolean;
  /** A prior state (terraform.tfstate v4 JSON) to plan against, as if earlier applies had run. */
  readonly state?: object;
  /** With a prior state there is nothing real to refresh against offline. @default true */
  readonly refresh?: boolean;
  /** Run `terraform init` in the copy, as a user's first init (the benchmark times it). @default false: link the shared init */
  readonly ownInit?: boolean;
}

/**
 * Copy `stackDir`, add overrides, init (or link the shared init), plan and show -json.
 *
 * No separate `terraform validate`: `plan` runs the same validation walk first (a trace log shows
 * "backend/local: running validation operation" then walkValidate before walkPlan), and each
 * Terraform command starts the 700 MB provider again, so validate cost a third of every plan.
 */
export async function planOffline(stackDir: string, tc: Toolchain, stsUrl: string, opts: PlanOptions = {}): Promise<OfflinePlan> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), `logrescue-plan-${path.basename(stackDir)}-`));
  cpSync(stackDir, workDir, { recursive: true });
  if (opts.state) writeFileSync(path.join(workDir, 'offline.tfstate'), JSON.stringify(opts.state));
  // Generated names sort after the stack's own files; Terraform merges every *_override.tf.json last.
  writeFileSync(path.join(workDir, 'zz_backend_override.tf.json'), JSON.stringify({ terraform: { backend: OFFLINE_BACKEND } }, null, 2));
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
  const dataDir = path.join(workDir, '.terraform');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_CLI_CONFIG_FILE: tc.cliConfigFile,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    TF_DATA_DIR: dataDir,
    // Go's collector runs half as often (terraform and the provider are Go programs): much of a
    // plan's CPU is the AWS provider's schema, built and decoded afresh by each process, allocation-
    // heavy and short-lived (`terraform providers schema -json` alone takes about 4 s of CPU here).
    // Measured here on the log-rescue stack, plan + show -json: 11.8-11.9 s of CPU
    // by default, 10.7 s with GOGC=200 (GOGC=400 no better, GOMAXPROCS=1 worse), for about 40 MB
    // more memory per process. Pacing the collector cannot change what Terraform plans. A caller's
    // own GOGC wins.
    GOGC: process.env.GOGC ?? '200',
  };
  const time = async (args: string[]) => {
    const t0 = process.hrtime.bigint();
    await run(tc.terraform, args, { cwd: workDir, env });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  let init: number;
  if (opts.ownInit) {
    init = await time(['init', '-input=false', '-no-color', '-backend=true']);
  } else {
    // What init would leave: the providers (linked, read-only for plan), the lock file, and the
    // backend record (the same relative local backend in every copy, so the same record).
    const t0 = process.hrtime.bigint();
    mkdirSync(dataDir, { recursive: true });
    symlinkSync(path.join(tc.sharedInitDir, '.terraform', 'providers'), path.join(dataDir, 'providers'));
    copyFileSync(path.join(tc.sharedInitDir, '.terraform', 'terraform.tfstate'), path.join(dataDir, 'terraform.tfstate'));
    copyFileSync(path.join(tc.sharedInitDir, '.terraform.lock.hcl'), path.join(workDir, '.terraform.lock.hcl'));
    init = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const planT = await time(['plan', '-input=false', '-lock=false', '-no-color', `-refresh=${opts.refresh ?? true}`, '-out=offline.tfplan']);
  const { stdout } = await run(tc.terraform, ['show', '-json', 'offline.tfplan'], { cwd: workDir, env });
  const cleanup = () => { if (!opts.keep) rmSync(workDir, { recursive: true, force: true }); };
  return { plan: JSON.parse(stdout), workDir, timings: { init, plan: planT }, cleanup };
}
