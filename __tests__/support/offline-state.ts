/**
 * A Terraform state (v4) as if the synthesized stacks had been applied, built offline: plan, take
 * the planned values as the state (values known only after apply get stand-ins of their type from
 * the provider schema), plan again against that state with -refresh=false, and repeat until the
 * plan has nothing left to do. Used to freeze the addresses a version of the code deploys to, as
 * a fixture later versions must migrate from without destroying anything.
 *
 *   npx tsx __tests__/support/offline-state.ts <default|all-on> <out.json>
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthApp } from '../../app';
import { AppConfig } from '../../config/schema';
import { OFFLINE_ACCOUNT_ID, planOffline, prepareToolchain, startStsStandIn, Toolchain } from '../../scripts/offline-terraform';
import { ADDRESS_CONFIGS } from '../../scripts/addresses/configs';
import { startSsmStandIn } from './ssm-standin';
import { testConfig } from './synth';

const PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]';
type Block = { version?: number; attributes?: Record<string, { type: unknown }>; block_types?: Record<string, { block: Block; nesting_mode: string }> };

/** A stand-in of Terraform type `type` for a value known only after apply. */
/** AWS ids are checked for their prefix where another resource takes them. */
const ID_PREFIX: Record<string, string> = {
  aws_launch_template: 'lt-', aws_vpc: 'vpc-', aws_subnet: 'subnet-', aws_security_group: 'sg-', aws_default_security_group: 'sg-',
  aws_route_table: 'rtb-', aws_vpc_endpoint: 'vpce-',
};

function standIn(type: unknown, attr: string, seed: string): unknown {
  if (type === 'string') {
    const h = createHash('sha256').update(`${seed}.${attr}`).digest('hex').slice(0, 12);
    const prefix = attr === 'id' ? ID_PREFIX[seed.split('/')[0]] : attr === 'prefix_list_id' ? 'pl-' : undefined;
    if (prefix) return `${prefix}${h}`;
    if (attr.endsWith('arn')) return `arn:aws:offline:us-east-1:${OFFLINE_ACCOUNT_ID}:${seed}/${h}`;
    // Identifiers get a value; any other unset string stays empty, as AWS leaves it (a made-up
    // value there can fail validation, e.g. an SNS FIFO option on a standard topic).
    return /(^|_)(id|name|bucket|url|key)$/.test(attr) ? `${attr}-${h}` : '';
  }
  if (type === 'number') return 0;
  if (type === 'bool') return false;
  if (Array.isArray(type) && (type[0] === 'list' || type[0] === 'set')) return [];
  if (Array.isArray(type) && type[0] === 'map') return {};
  return null;
}

/** `values` with every unknown (per `unknown`) filled from `prior` where it had a value, else a stand-in. */
function fill(values: any, unknown: any, block: Block, prior: any, seed: string): any {
  const out: Record<string, unknown> = { ...(values ?? {}) };
  for (const [k, u] of Object.entries(unknown ?? {})) {
    const attr = block.attributes?.[k];
    const nested = block.block_types?.[k];
    if (u === true) {
      out[k] = prior?.[k] !== undefined && prior?.[k] !== null ? prior[k] : attr ? standIn(attr.type, k, seed) : nested?.nesting_mode === 'single' ? null : [];
    } else if (nested && Array.isArray(u)) {
      out[k] = (u as any[]).map((item, i) => fill((values?.[k] ?? [])[i], item, nested.block, prior?.[k]?.[i], seed));
    }
  }
  return out;
}

/** Terraform marks sensitive values in a state by path; a difference in marking alone plans an update. */
function sensitivePaths(sensitive: any, prefix: object[] = []): object[][] {
  if (sensitive === true) return [prefix];
  if (Array.isArray(sensitive)) return sensitive.flatMap((s, i) => sensitivePaths(s, [...prefix, { type: 'index', value: { value: i, type: 'number' } }]));
  if (sensitive && typeof sensitive === 'object') {
    return Object.entries(sensitive).flatMap(([k, s]) => sensitivePaths(s, [...prefix, { type: 'get_attr', value: k }]));
  }
  return [];
}

function toState(plan: any, schemas: Record<string, Block>, prior: Map<string, any>): { state: object; attributes: Map<string, any> } {
  const attributes = new Map<string, any>();
  const groups = new Map<string, { type: string; name: string; instances: any[] }>();
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode !== 'managed' || rc.change.actions.includes('delete') && !rc.change.actions.includes('create')) continue;
    const schema = schemas[rc.type];
    const attrs = fill(rc.change.after, rc.change.after_unknown, schema, prior.get(rc.address), `${rc.type}/${rc.name}${rc.index ?? ''}`);
    attributes.set(rc.address, attrs);
    const key = `${rc.type}.${rc.name}`;
    const g = groups.get(key) ?? { type: rc.type as string, name: rc.name as string, instances: [] as any[] };
    g.instances.push({ ...(rc.index !== undefined ? { index_key: rc.index } : {}), schema_version: schema.version ?? 0, attributes: attrs, sensitive_attributes: sensitivePaths(rc.change.after_sensitive) });
    groups.set(key, g);
  }
  const resources = [...groups.values()].map((g) => ({ mode: 'managed', type: g.type, name: g.name, provider: PROVIDER, instances: g.instances }));
  return {
    state: { version: 4, terraform_version: '1.11.4', serial: 1, lineage: '00000000-0000-4000-8000-00000000f17a', outputs: {}, resources },
    attributes,
  };
}

/** Apply every stack of `config` offline; returns each stack's final state. */
export async function offlineStates(config: AppConfig, tc: Toolchain, stsUrl: string, ssmUrl?: string): Promise<Record<string, object>> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-offline-state-'));
  const states: Record<string, object> = {};
  try {
    const app = synthApp(config, { outdir, hcl: false });
    for (const name of app.node.children.map((c) => c.node.id)) {
      const dir = path.join(outdir, 'stacks', name);
      if (ssmUrl) {
        writeFileSync(path.join(dir, 'zzz_ssm_stand_in_override.tf.json'), JSON.stringify({ provider: { aws: [{ endpoints: [{ sts: stsUrl, ssm: ssmUrl }] }] } }));
      }
      let schemas: Record<string, Block> | undefined;
      let current: { state: object; attributes: Map<string, any> } | undefined;
      for (let round = 0; ; round++) {
        const result = await planOffline(dir, tc, stsUrl, current ? { state: current.state, refresh: false, keep: !schemas } : { keep: true });
        if (!schemas) {
          const env = { ...process.env, TF_CLI_CONFIG_FILE: tc.cliConfigFile, TF_DATA_DIR: path.join(result.workDir, '.terraform') };
          const all = JSON.parse(execFileSync(tc.terraform, ['providers', 'schema', '-json'], { cwd: result.workDir, env, maxBuffer: 512 * 1024 * 1024 }).toString());
          const aws = Object.entries(all.provider_schemas as Record<string, any>).find(([k]) => k.endsWith('hashicorp/aws'))![1];
          schemas = Object.fromEntries(Object.entries(aws.resource_schemas as Record<string, any>).map(([t, s]) => [t, { ...s.block, version: s.version ?? 0 }]));
          rmSync(result.workDir, { recursive: true, force: true });
        } else result.cleanup();
        const pending = result.plan.resource_changes.filter((r: any) => r.mode === 'managed' && r.change.actions.join() !== 'no-op');
        if (current && pending.length === 0) break;
        if (round === 5) throw new Error(`${name}: still changing after ${round} rounds: ${pending.map((r: any) => r.address).join(', ')}`);
        current = toState(result.plan, schemas!, current?.attributes ?? new Map());
      }
      states[name] = current!.state;
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  return states;
}

if (require.main === module) {
  (async () => {
    const [which, out] = process.argv.slice(2) as ['default' | 'all-on', string];
    const tc = await prepareToolchain();
    const sts = await startStsStandIn();
    const ssm = which === 'all-on' ? await startSsmStandIn(true) : undefined;
    try {
      const states = await offlineStates(testConfig(ADDRESS_CONFIGS[which]), tc, sts.url, ssm?.url);
      writeFileSync(out, `${JSON.stringify(states, null, 1)}\n`);
    } finally {
      await sts.close();
      await ssm?.close();
    }
  })().catch((e) => { console.error(e); process.exitCode = 1; });
}
