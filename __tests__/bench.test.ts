/**
 * The benchmark's pieces that need no timing: the barrel rewrite, the statistics, the report
 * builder and the argument parser. Nothing here measures anything or asserts on a duration.
 *
 * @lane unit
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { lambdaEnvironment, parseArgs } from '../scripts/bench';
import {
  PROVIDER_PACKAGE, appSourceFiles, assertNoDeepImports, importSpecifiers, loadBarrelNamespaces, parseBarrelNamespaces, rewriteToBarrel,
} from '../scripts/bench/barrel';
import { groupOfUrl, summarizeCpuProfile } from '../scripts/bench/cpu-profile';
import { describeProcess, withRequire } from '../scripts/bench/measure';
import { AppSamples, RawMeasurements, REQUIRED_NUMERIC_KEYS, TARGETS, buildReport } from '../scripts/bench/report';
import { median, ratio, summarize } from '../scripts/bench/stats';

const ROOT = path.resolve(__dirname, '..');
const DEEP = `${PROVIDER_PACKAGE}/lib/`;

describe('barrel rewrite', () => {
  const namespaces = parseBarrelNamespaces([
    "export * as s3Bucket from './s3-bucket';",
    "export * as iamRole from './iam-role';",
    "export * as provider from './provider';",
    "export * as dataAwsPartition from './data-aws-partition';",
  ].join('\n'));

  const providerImports = (code: string) => importSpecifiers(code).filter((s) => s.startsWith(PROVIDER_PACKAGE));

  it('reads the namespaces the package root exports', () => {
    expect(namespaces.get('s3-bucket')).toBe('s3Bucket');
    expect(namespaces.get('provider')).toBe('provider');
    expect(() => parseBarrelNamespaces('export const x = 1;')).toThrow(/no 'export \* as/);
  });

  it('rewrites named, aliased, type-only, multi-line and namespace imports to the package root only', () => {
    const source = [
      "import { Construct } from 'constructs';",
      "import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';",
      'import {',
      '  IamRole,',
      '  IamRoleConfig as RoleConfig,',
      '  type IamRoleInlinePolicy,',
      "} from \"@cdktf/provider-aws/lib/iam-role\";",
      "import type { AwsProviderConfig } from '@cdktf/provider-aws/lib/provider/index';",
      "import * as partition from '@cdktf/provider-aws/lib/data-aws-partition';",
      'export function f(scope: Construct, c: RoleConfig, p: IamRoleInlinePolicy, q: AwsProviderConfig) {',
      "  return [new S3Bucket(scope, 'b'), new IamRole(scope, 'r', c), p, q, partition.DataAwsPartition];",
      '}',
    ].join('\n');
    const { code, statements } = rewriteToBarrel(source, namespaces, 'sample.ts');
    expect(statements).toBe(4);
    expect(code).not.toContain(DEEP);
    expect(providerImports(code)).toEqual([PROVIDER_PACKAGE]);
    expect(code).toContain("import * as __providerAws from '@cdktf/provider-aws';");
    for (const line of [
      'import S3Bucket = __providerAws.s3Bucket.S3Bucket;',
      'import IamRole = __providerAws.iamRole.IamRole;',
      'import RoleConfig = __providerAws.iamRole.IamRoleConfig;',
      'import IamRoleInlinePolicy = __providerAws.iamRole.IamRoleInlinePolicy;',
      'import AwsProviderConfig = __providerAws.provider.AwsProviderConfig;',
      'import partition = __providerAws.dataAwsPartition;',
    ]) expect(code).toContain(line);
    // The rest of the file is untouched, and the result is valid TypeScript.
    expect(code).toContain("return [new S3Bucket(scope, 'b'), new IamRole(scope, 'r', c), p, q, partition.DataAwsPartition];");
    const out = ts.transpileModule(code, { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
    expect(out.diagnostics ?? []).toEqual([]);
    expect(out.outputText).toContain('require("@cdktf/provider-aws")');
    expect(out.outputText).not.toContain(DEEP);
  });

  it('leaves files without provider imports alone and avoids clashing with an existing identifier', () => {
    expect(rewriteToBarrel("import { App } from 'cdktf';\n", namespaces)).toEqual({ code: "import { App } from 'cdktf';\n", statements: 0 });
    const { code } = rewriteToBarrel("const __providerAws = 1;\nimport { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';\n", namespaces);
    expect(code).toContain("import * as __providerAws2 from '@cdktf/provider-aws';");
    expect(code).toContain('import S3Bucket = __providerAws2.s3Bucket.S3Bucket;');
  });

  it('refuses what it cannot rewrite rather than leaving a deep path behind', () => {
    expect(() => rewriteToBarrel("import S3 from '@cdktf/provider-aws/lib/s3-bucket';", namespaces, 'a.ts')).toThrow(/default import/);
    expect(() => rewriteToBarrel("import { X } from '@cdktf/provider-aws/lib/no-such-thing';", namespaces, 'a.ts')).toThrow(/not a namespace/);
    expect(() => rewriteToBarrel("const m = require('@cdktf/provider-aws/lib/s3-bucket');", namespaces, 'a.ts')).toThrow(/a\.ts:1: a deep/);
    expect(() => assertNoDeepImports("export { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';")).toThrow(/deep/);
  });

  it("rewrites every one of the app's own sources to the package root, naming classes that exist there", () => {
    const real = loadBarrelNamespaces(ROOT);
    let rewritten = 0;
    for (const file of appSourceFiles(ROOT).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(file, 'utf8');
      const { code, statements } = rewriteToBarrel(source, real, path.relative(ROOT, file));
      expect(code).not.toContain(DEEP);
      if (statements === 0) continue;
      rewritten += statements;
      expect(providerImports(code)).toEqual([PROVIDER_PACKAGE]);
      // Each alias names a namespace of the root and a class its module declares.
      const dirOf = new Map([...real].map(([dir, ns]) => [ns, dir]));
      for (const m of code.matchAll(/^import (\w+) = __providerAws\.(\w+)\.(\w+);$/gm)) {
        const dir = dirOf.get(m[2]);
        expect(dir).toBeDefined();
        const dts = readFileSync(path.join(ROOT, 'node_modules', PROVIDER_PACKAGE, 'lib', dir!, 'index.d.ts'), 'utf8');
        expect(dts).toMatch(new RegExp(`export declare (class|interface) ${m[3]}\\b`));
      }
    }
    expect(rewritten).toBeGreaterThan(0);
  });
});

describe('statistics', () => {
  it('takes the median of odd and even sample counts without reordering the samples', () => {
    const xs = [3, 1, 2];
    expect(median(xs)).toBe(2);
    expect(xs).toEqual([3, 1, 2]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(/no samples/);
    expect(() => median([1, Number.NaN])).toThrow(/non-finite/);
  });

  it('summarizes with median, min, max, n and rounded samples', () => {
    expect(summarize([1.23456, 0.5, 2.71828, 1.1, 9], 2)).toEqual({ median: 1.23, min: 0.5, max: 9, n: 5, samples: [1.23, 0.5, 2.72, 1.1, 9] });
    expect(ratio(10, 4)).toBe(2.5);
    expect(() => ratio(1, 0)).toThrow(/undefined/);
  });
});

describe('report', () => {
  const app = (command: string, s: number, rss: number): AppSamples => ({
    command, seconds: [s, s * 1.1, s * 0.9, s, s * 1.2], rssMb: [rss, rss, rss + 1, rss - 1, rss],
    treeMaxRssMb: [rss, rss, rss, rss, rss], processRssMb: { 'node main.ts (the app)': [rss, rss, rss, rss, rss], 'node node_modules/.bin/tsx': [50, 50, 50, 50, 50] },
  });
  const fake = (appSeconds: number): RawMeasurements => ({
    machine: { cpus: 2, cpu_model: 'test', total_mem_mb: 4096, os: 'Linux', node: 'v20.0.0', terraform: '1.11.4', date: '2025-01-01T00:00:00.000Z', load_avg_start: [0.1, 0.2, 0.3] },
    runs: 5, quick: false,
    app: app('npx tsx main.ts', appSeconds, 120),
    appRawTsx: app('node_modules/.bin/tsx main.ts', appSeconds - 0.3, 118),
    barrel: app('npx tsx main.ts', 8, 700),
    alternatives: { precompiled_js: { ...app('node main.js', 0.6, 100), description: 'precompiled' } },
    cdktfSynthSeconds: [4, 5, 4.5, 4.2, 4.8],
    npmRunSynthSeconds: [1, 1.1, 0.9, 1, 1.05],
    terraformValidateSeconds: { 'log-rescue': [1, 1.1, 0.9, 1, 1], 'session-logs': [0.8, 0.8, 0.9, 0.7, 0.8] },
    terraformInitSeconds: { 'log-rescue': 3, 'session-logs': 2.5 },
    handlerBundleBytes: 400 * 1024,
    handlerInitMs: [40, 42, 38, 41, 39],
    nodeBaselineSeconds: [0.1, 0.11, 0.1, 0.1, 0.12],
    barrelVariant: { rewrittenStatements: 64 },
    notes: ['a note'],
  });

  it('has every required figure as a finite number, and every target with its limit and whether it was met', () => {
    const r = buildReport(fake(0.8));
    for (const k of REQUIRED_NUMERIC_KEYS) {
      expect(typeof r[k]).toBe('number');
      expect(Number.isFinite(r[k])).toBe(true);
    }
    expect(Object.keys(r.terraform_validate_s).sort()).toEqual(['log-rescue', 'session-logs']);
    for (const v of Object.values(r.terraform_validate_s)) expect(Number.isFinite(v)).toBe(true);
    expect(Object.keys(r.targets).sort()).toEqual(Object.keys(TARGETS).sort());
    for (const t of Object.values(r.targets)) {
      expect(typeof t.limit).toBe('number');
      expect(typeof t.met).toBe('boolean');
    }
    expect(r.machine.cpus).toBe(2);
    expect(typeof r.date).toBe('string');
    expect(r.stats.synth_app_s).toMatchObject({ median: 0.8, n: 5, min: 0.72, max: 0.96 });
    expect(r.speedup).toBe(10);
    expect(r.memory_ratio).toBe(5.83);
    expect(r.npx_overhead_s).toBe(0.3);
    expect(r.handler_bundle_kb).toBe(400);
    expect(r.handler_init_ms).toBe(40);
    expect([r.npm_run_synth_s, r.synth_app_x_node, r.npm_run_synth_x_node, r.cdktf_synth_x_node]).toEqual([1, 8, 10, 45]);
    expect(r.alternatives.precompiled_js).toMatchObject({ s: 0.6, rss_mb: 100, vs_app_s: -0.2 });
    expect(r.processes.synth_app['node main.ts (the app)']).toBe(120);
    expect(r.missed).toEqual([]);
  });

  it('lists each missed target on a line of its own', () => {
    const r = buildReport(fake(2));
    expect(r.targets.synth_app_s).toEqual({ value: 2, limit: 1, op: '<=', met: false });
    expect(r.targets.speedup.met).toBe(false);
    expect(r.missed).toEqual(['MISSED synth_app_s: 2 (target <= 1)', 'MISSED synth_app_x_node: 20 (target <= 8)', 'MISSED speedup: 4 (target >= 5)']);
  });
});

describe('arguments and helpers', () => {
  it('parses --runs, --quick and --no-profile', () => {
    expect(parseArgs([])).toEqual({ runs: 5, quick: false, profile: true });
    expect(parseArgs(['--runs', '7', '--quick'])).toEqual({ runs: 7, quick: true, profile: true });
    expect(parseArgs(['--runs=3', '--no-profile'])).toEqual({ runs: 3, quick: false, profile: false });
    expect(() => parseArgs(['--runs', '0'])).toThrow(/positive integer/);
    expect(() => parseArgs(['--runs'])).toThrow(/positive integer/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument/);
  });

  it("reads the handler's environment from the synthesized stack, resolving simple Terraform expressions", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
    try {
      mkdirSync(path.join(dir, 'stacks', 'log-rescue'), { recursive: true });
      const tf = (v: Record<string, string>) => JSON.stringify({
        provider: { aws: [{ region: 'eu-west-1' }] },
        resource: {
          aws_ssm_document: { document: { name: 'doc-name' } },
          aws_sqs_queue: { q: { name: 'events' } },
          aws_lambda_function: { fn: { handler: 'index.handler', environment: { variables: v } } },
        },
      });
      const file = path.join(dir, 'stacks', 'log-rescue', 'cdk.tf.json');
      writeFileSync(file, tf({
        A: '1', ASG_NAMES: '${join(",", ["a", "b"])}', DOCUMENT_NAME: '${aws_ssm_document.document.name}', QUEUE_URL: 'https://sqs.eu-west-1.${data.aws_partition.p.dns_suffix}/${data.aws_caller_identity.c.account_id}/${aws_sqs_queue.q.name}',
      }));
      expect(lambdaEnvironment(dir)).toEqual({
        AWS_REGION: 'eu-west-1', A: '1', ASG_NAMES: 'a,b', DOCUMENT_NAME: 'doc-name',
        // The context's data sources as a plan reads them (a stand-in account).
        QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events',
      });
      writeFileSync(file, tf({ X: '${aws_s3_bucket.b.arn}' }));
      expect(() => lambdaEnvironment(dir)).toThrow(/cannot resolve the Lambda's X/);
      writeFileSync(file, tf({ Y: 'https://sqs.${data.aws_region.r.name}.amazonaws.com/${aws_sqs_queue.q.url}' }));
      expect(() => lambdaEnvironment(dir)).toThrow(/cannot resolve the Lambda's Y/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adds the probe to NODE_OPTIONS without dropping what is there', () => {
    expect(withRequire(undefined, '/a b/p.cjs')).toBe('--require "/a b/p.cjs"');
    expect(withRequire('--max-old-space-size=4096', '/p.cjs')).toBe('--max-old-space-size=4096 --require "/p.cjs"');
  });

  it('labels the processes of an app run', () => {
    const p = (script?: string) => ({ pid: 1, ppid: 0, argv: script ? ['/usr/bin/node', script] : ['/usr/bin/node'], maxRssMb: 1 });
    expect(describeProcess(p('/w/main.ts'), '/w')).toBe('node main.ts');
    expect(describeProcess(p('/w/node_modules/.bin/tsx'), '/w')).toBe('node node_modules/.bin/tsx');
    expect(describeProcess(p('/w/node_modules/cdktf/lib/private/fs.js'), '/tmp/copy')).toBe('node node_modules/cdktf/lib/private/fs.js');
    expect(describeProcess(p('/usr/lib/node_modules/npm/bin/npm-cli.js'), '/w')).toBe('npx: node node_modules/npm/bin/npm-cli.js');
    expect(describeProcess(p(), '/w')).toBe('node (eval)');
  });

  it('groups CPU profile time by package', () => {
    expect(groupOfUrl('file:///w/node_modules/@cdktf/provider-aws/lib/x/index.js', 'f', '/w')).toBe('@cdktf/provider-aws');
    expect(groupOfUrl('file:///w/node_modules/cdktf/lib/app.js', 'f', '/w')).toBe('cdktf');
    expect(groupOfUrl('file:///w/modules/shared/iam.ts', 'f', '/w')).toBe('project:modules/shared/iam.ts');
    expect(groupOfUrl('node:internal/modules/cjs/loader', 'f', '/w')).toBe('node:internal');
    expect(groupOfUrl('', '(garbage collector)', '/w')).toBe('(garbage collector)');
    const s = summarizeCpuProfile({
      startTime: 0, endTime: 3000,
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'load', url: 'file:///w/node_modules/cdktf/lib/app.js', lineNumber: 9 } },
      ],
      samples: [2, 2, 1], timeDeltas: [0, 1000, 1000],
    }, '/w');
    expect(s.by_group[0]).toEqual({ group: 'cdktf', self_ms: 2, pct: 66.7 });
    expect(s.top_functions[0]).toEqual({ fn: 'load', where: 'cdktf:10', self_ms: 2 });
  });
});
