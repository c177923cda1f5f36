/**
 * Running the rescue document's shell script on a workstation: a sandbox whose PATH holds only
 * the tools the script may use plus stand-ins for curl (IMDSv2), aws (`--version` and s3api
 * put-object: a CLI of the configured version that checks the SHA-256 or Content-MD5 like S3; see
 * bin/aws) and journalctl, all recording what they were asked.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { RescueDocument, RescueDocumentContentProps } from '../../../modules/log-rescue/document';

/** What a synthesized SSM Command document looks like once Terraform has rendered it. */
export interface SsmCommandDocument {
  schemaVersion: string;
  description: string;
  parameters: Record<string, { type: string; description: string; default?: string; interpolationType: string; allowedPattern: string }>;
  mainSteps: Array<{
    action: string;
    name: string;
    precondition?: { StringEquals: string[] };
    inputs: { timeoutSeconds: number; runCommand: string[] };
  }>;
}

/**
 * What Terraform makes of a string template: `${ref}` becomes `substitutions[ref]`, `$${` becomes
 * `${` and `%%{` becomes `%{`. An unknown reference or an unescaped `%{` directive throws, since
 * Terraform would read either as an expression.
 */
export function renderTerraformStringForTest(text: string, substitutions: Record<string, string> = {}): string {
  return text.replace(/\$\$\{|%%\{|\$\{([^}]*)\}|%\{/g, (match: string, ref: string | undefined) => {
    if (match === '$${') return '${';
    if (match === '%%{') return '%{';
    if (match === '%{') throw new Error('unescaped %{ (a Terraform template directive) in the text');
    if (ref === undefined || !(ref in substitutions)) throw new Error(`no substitution given for the Terraform reference \${${ref}}`);
    return substitutions[ref];
  });
}

/** The document JSON as the SSM service receives it after Terraform renders `content`. */
export function renderDocumentForTest(synthesizedContent: string, substitutions: Record<string, string> = {}): SsmCommandDocument {
  return JSON.parse(renderTerraformStringForTest(synthesizedContent, substitutions));
}

/** The shell text the agent writes to `_script.sh`: the step's lines joined by newlines. */
export function scriptOf(document: SsmCommandDocument): string {
  return `${document.mainSteps[0].inputs.runCommand.join('\n')}\n`;
}

/** What an agent older than 3.3.2746.0 does: substitute `{{name}}` textually. */
export function substituteLikeOldAgent(script: string, values: Record<string, string>): string {
  return script.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (match: string, name: string) => (name in values ? values[name] : match));
}

/** The tools the script may find on PATH; anything else it calls fails the run. */
export const SCRIPT_TOOLS = [
  'bash', 'tar', 'gzip', 'sha256sum', 'md5sum', 'base64', 'tr', 'wc', 'find', 'mkdir', 'mktemp', 'date', 'rm', 'uname', 'head', 'iconv',
  'tee', 'sort', 'df', 'mkfifo', 'readlink',
];
const STANDINS = ['curl', 'aws', 'journalctl'] as const;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function which(tool: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, tool);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch { /* next */ }
  }
  throw new Error(`${tool} is needed to run the rescue script tests but is not on PATH`);
}

export interface SandboxOptions {
  /** Put the journalctl stand-in on PATH. @default true */
  readonly journalctl?: boolean;
  /** Put the aws stand-in on PATH. @default true */
  readonly aws?: boolean;
  /** Replace tar with one that fails with this exit code. */
  readonly tarExitCode?: number;
  /**
   * Replace df with one that reports this many KiB available for a directory at or under each
   * path given (the real df answers for any other): a full disk without filling one.
   */
  readonly dfAvailableKb?: Readonly<Record<string, number>>;
}

export interface RunOptions {
  /**
   * Environment besides PATH, TMPDIR and the stand-ins' own (SSM_* and STANDIN_* knobs, such as
   * STANDIN_AWS_VERSION, STANDIN_AWS_TAMPER and STANDIN_AWS_FAIL; see bin/).
   */
  readonly env?: Record<string, string>;
  /**
   * How the script is started: `agent` as aws:runShellScript does (`sh -c <file>`, so the
   * shebang picks the shell), `bash` as `bash <file>`, `sh` as `sh <file>`. @default "agent"
   */
  readonly via?: 'agent' | 'bash' | 'sh';
  /** Kill the script after this long. @default 60000 */
  readonly timeoutMs?: number;
}

export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Uploaded bodies by object key. */
  readonly uploads: Record<string, Buffer>;
  /** argv of every aws call but `aws --version`, in order. */
  readonly awsCalls: string[][];
  /** How many times `aws --version` ran. */
  readonly awsVersionCalls: number;
  readonly curlLog: string;
  readonly journalctlArgs?: string[];
  /** Work directories the script left in TMPDIR (it should clean up even when failing). */
  readonly leftovers: string[];
  /** Disk use of TMPDIR (KiB, `du -sk`) at each aws call: the script's local disk while uploading. */
  readonly tmpdirKb: number[];
}

/** A temp tree with a PATH of real tools and stand-ins; `run` executes one script text in it. */
export class ScriptSandbox {
  /** Root of the tree; its name has a space in it, as real paths may. */
  readonly root: string;
  /** Where hostile values try to create files; no space, so an injected `touch` would work. */
  readonly canaryDir: string;
  readonly binDir: string;
  private runs = 0;

  constructor(opts: SandboxOptions = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'rescue script '));
    this.canaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rescue-canary-'));
    this.binDir = path.join(this.root, 'bin');
    fs.mkdirSync(this.binDir);
    for (const tool of SCRIPT_TOOLS) fs.symlinkSync(which(tool), path.join(this.binDir, tool));
    for (const standIn of STANDINS) {
      if ((standIn === 'journalctl' && opts.journalctl === false) || (standIn === 'aws' && opts.aws === false)) continue;
      fs.copyFileSync(path.join(__dirname, 'bin', standIn), path.join(this.binDir, standIn));
      fs.chmodSync(path.join(this.binDir, standIn), 0o755);
    }
    if (opts.tarExitCode !== undefined) {
      fs.rmSync(path.join(this.binDir, 'tar'));
      fs.writeFileSync(path.join(this.binDir, 'tar'), `#!/bin/bash\necho 'tar: stand-in failure' >&2\nexit ${opts.tarExitCode}\n`, { mode: 0o755 });
    }
    if (opts.dfAvailableKb !== undefined) {
      const realDf = which('df');
      fs.rmSync(path.join(this.binDir, 'df'));
      const cases = Object.entries(opts.dfAvailableKb)
        .map(([dir, kb]) => `    ${shellQuote(dir)}|${shellQuote(dir)}/*) printf '%s\\n' 'Filesystem 1024-blocks Used Available Capacity Mounted on' "standin 9999999 0 ${kb} 1% ${dir.replace(/[^A-Za-z0-9/._-]/g, '_')}"; exit 0 ;;`);
      fs.writeFileSync(path.join(this.binDir, 'df'), [
        '#!/bin/bash',
        '# Stand-in for df -P -k <dir>: a chosen free space for some directories, the real df for others.',
        'case ${!#} in',
        ...cases,
        'esac',
        `exec ${shellQuote(realDf)} "$@"`,
        '',
      ].join('\n'), { mode: 0o755 });
    }
  }

  run(script: string, opts: RunOptions = {}): ScriptRun {
    const { command, args, options, collect } = this.prepare(script, opts);
    const result = spawnSync(command, args, { ...options, encoding: 'utf8' });
    if (result.error) throw result.error;
    return collect(result.status, result.stdout, result.stderr);
  }

  /**
   * `run` without blocking the event loop: for scripts that talk to a server in this process (a
   * synchronous spawn would stop it from answering).
   */
  runAsync(script: string, opts: RunOptions = {}): Promise<ScriptRun> {
    const { command, args, options, collect } = this.prepare(script, opts);
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', reject);
      child.on('close', (status) => {
        try {
          resolve(collect(status, Buffer.concat(out).toString('utf8'), Buffer.concat(err).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  private prepare(script: string, opts: RunOptions): {
    command: string;
    args: string[];
    options: { cwd: string; timeout: number; env: NodeJS.ProcessEnv };
    collect: (status: number | null, stdout: string, stderr: string) => ScriptRun;
  } {
    const dir = path.join(this.root, `run-${++this.runs}`);
    const logDir = path.join(dir, 'log');
    const captureDir = path.join(dir, 'capture');
    const tmpDir = path.join(dir, 'tmp dir');
    for (const d of [logDir, captureDir, tmpDir]) fs.mkdirSync(d, { recursive: true });
    const scriptPath = path.join(dir, '_script.sh');
    fs.writeFileSync(scriptPath, script, { mode: 0o755 });

    const via = opts.via ?? 'agent';
    // The agent runs `sh -c <path>`; `"$0"` is that, for a path with a space in it.
    const [command, args] = via === 'agent' ? ['/bin/sh', ['-c', '"$0"', scriptPath]] : via === 'sh' ? ['/bin/sh', [scriptPath]] : ['/bin/bash', [scriptPath]];
    const options = {
      cwd: dir,
      timeout: opts.timeoutMs ?? 60_000,
      env: {
        PATH: this.binDir,
        TMPDIR: tmpDir,
        HOME: dir,
        STANDIN_LOG: logDir,
        STANDIN_CAPTURE: captureDir,
        STANDIN_NODE: process.execPath,
        ...opts.env,
      },
    };
    const collect = (status: number | null, stdout: string, stderr: string): ScriptRun => {
      const awsCalls: string[][] = [];
      for (let n = 1; fs.existsSync(path.join(logDir, `aws-call-${n}`)); n++) {
        awsCalls.push(fs.readFileSync(path.join(logDir, `aws-call-${n}`), 'utf8').split('\0').slice(0, -1));
      }
      const versionCount = path.join(logDir, 'aws-version.count');
      const journalArgs = path.join(logDir, 'journalctl.args');
      const curlLog = path.join(logDir, 'curl.log');
      return {
        status,
        stdout,
        stderr,
        uploads: readTree(captureDir),
        awsCalls,
        awsVersionCalls: fs.existsSync(versionCount) ? Number(fs.readFileSync(versionCount, 'utf8')) : 0,
        curlLog: fs.existsSync(curlLog) ? fs.readFileSync(curlLog, 'utf8') : '',
        journalctlArgs: fs.existsSync(journalArgs) ? fs.readFileSync(journalArgs, 'utf8').split('\n').slice(0, -1) : undefined,
        leftovers: fs.readdirSync(tmpDir),
        tmpdirKb: fs.existsSync(path.join(logDir, 'tmpdir-kb')) ? fs.readFileSync(path.join(logDir, 'tmpdir-kb'), 'utf8').split('\n').filter(Boolean).map(Number) : [],
      };
    };
    return { command, args, options, collect };
  }

  /** Files the canary directory gained: an injected command ran. */
  canaries(): string[] {
    return fs.readdirSync(this.canaryDir);
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
    fs.rmSync(this.canaryDir, { recursive: true, force: true });
  }
}

/** A file name as text: UTF-8 when it is, otherwise Latin-1 (as the manifest escapes it). */
export function nameAsText(name: Buffer): string {
  const utf8 = name.toString('utf8');
  return Buffer.from(utf8, 'utf8').equals(name) ? utf8 : name.toString('latin1');
}

/** Every file under `dir` by relative path (see nameAsText); a symlink's content is `-> target`. */
export function readTree(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (abs: Buffer, rel: string) => {
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) {
      const full = Buffer.concat([abs, Buffer.from('/'), name]);
      const relPath = rel ? `${rel}/${nameAsText(name)}` : nameAsText(name);
      const stat = fs.lstatSync(full);
      if (stat.isDirectory()) walk(full, relPath);
      else if (stat.isSymbolicLink()) out[relPath] = Buffer.from(`-> ${fs.readlinkSync(full, { encoding: 'buffer' }).toString()}`);
      else out[relPath] = fs.readFileSync(full);
    }
  };
  walk(Buffer.from(dir), '');
  return out;
}

/** Extracts a tar.gz with the system tar and returns its members (see readTree). */
export function extractTarGz(archive: Buffer): Record<string, Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rescue-extract-'));
  try {
    const file = path.join(dir, 'a.tar.gz');
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(file, archive);
    const r = spawnSync('tar', ['-xzf', file, '-C', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar -xzf failed: ${r.stderr}`);
    return readTree(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The document as `cdktf synth` writes it into `aws_ssm_document.content` when the bucket and key
 * are resources of the stack, so their names are Terraform references, not literals.
 */
export function synthDocumentWithReferences(props: Omit<RescueDocumentContentProps, 'bucketName' | 'kmsKeyArn'>, opts: { kms: boolean }): {
  content: string;
  bucketRef: string;
  kmsRef?: string;
} {
  const stack = new TerraformStack(Testing.app(), 'rescue-document-test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const bucket = new S3Bucket(stack, 'archive', { bucketPrefix: 'rescue-' });
  const key = opts.kms ? new KmsKey(stack, 'key', { enableKeyRotation: true }) : undefined;
  new RescueDocument(stack, 'rescue', { ...props, name: 'rescue', archive: { bucketName: bucket.bucket, kmsKeyArn: key?.arn } });
  const synthesized = JSON.parse(Testing.synth(stack));
  return {
    content: synthesized.resource.aws_ssm_document.rescue_logs.content,
    bucketRef: 'aws_s3_bucket.archive.bucket',
    kmsRef: key ? 'aws_kms_key.key.arn' : undefined,
  };
}
