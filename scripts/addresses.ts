/**
 * The address contract: every Terraform address each stack has, for the default config and for
 * every optional part on (scripts/addresses/configs.ts), against the golden lists committed in
 * docs/addresses/. Any difference fails: an address change needs a moved block and a new golden
 * list, in the same commit.
 *
 *   npm run addresses             # compare, exit 1 on a difference
 *   npm run addresses -- --write  # rewrite the golden lists (commit them with the moved blocks)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { App } from 'cdktf';
import { buildApp } from '../app';
import { parseConfig } from '../config/load';
import { AppConfig } from '../config/schema';
import { ADDRESS_CONFIGS } from './addresses/configs';

export const GOLDEN_DIR = path.join(__dirname, '../docs/addresses');
export const CONTRACT_MESSAGE = 'an address change needs a moved block and a new golden list, in the same commit';

/** Config of a contract name: config/default.json with its overrides. */
export function contractConfig(name: keyof typeof ADDRESS_CONFIGS): AppConfig {
  const base = JSON.parse(readFileSync(path.join(__dirname, '../config/default.json'), 'utf8'));
  const merge = (a: any, b: any): any => (b && typeof b === 'object' && !Array.isArray(b) && a && typeof a === 'object' && !Array.isArray(a)
    ? Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, k in b ? merge(a[k], b[k]) : a[k]]))
    : b);
  return parseConfig(merge(base, ADDRESS_CONFIGS[name]), `address contract "${name}"`);
}

/** Every address (resources, data sources) of every stack, sorted; `for_each` ones end in `[*]`. */
export function addressesOf(config: AppConfig, build: (c: AppConfig, outdir: string) => App = (c, outdir) => buildApp(c, { outdir, hcl: false })): Record<string, string[]> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-addresses-'));
  try {
    const app = build(config, outdir);
    app.synth();
    const out: Record<string, string[]> = {};
    for (const stack of app.node.children.map((c) => c.node.id)) {
      const json = JSON.parse(readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
      const list: string[] = [];
      for (const [kind, prefix] of [['resource', ''], ['data', 'data.']] as const) {
        for (const [type, byName] of Object.entries((json[kind] ?? {}) as Record<string, Record<string, any>>)) {
          for (const [name, body] of Object.entries(byName)) list.push(`${prefix}${type}.${name}${body.for_each ? '[*]' : ''}`);
        }
      }
      out[stack] = list.sort();
    }
    return out;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function goldenPath(name: string): string {
  return path.join(GOLDEN_DIR, `${name}.json`);
}

export function readGolden(name: string): Record<string, string[]> {
  return JSON.parse(readFileSync(goldenPath(name), 'utf8'));
}

/** Lines that differ between the golden list and what the code synthesizes. */
export function differences(golden: Record<string, string[]>, actual: Record<string, string[]>): string[] {
  const out: string[] = [];
  for (const stack of [...new Set([...Object.keys(golden), ...Object.keys(actual)])].sort()) {
    const g = new Set(golden[stack] ?? []);
    const a = new Set(actual[stack] ?? []);
    for (const x of a) if (!g.has(x)) out.push(`${stack}: + ${x}`);
    for (const x of g) if (!a.has(x)) out.push(`${stack}: - ${x}`);
  }
  return out;
}

if (require.main === module) {
  const write = process.argv.includes('--write');
  let failed = false;
  for (const name of Object.keys(ADDRESS_CONFIGS) as Array<keyof typeof ADDRESS_CONFIGS>) {
    const actual = addressesOf(contractConfig(name));
    if (write) {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(goldenPath(name), `${JSON.stringify(actual, null, 2)}\n`);
      console.log(`wrote ${path.relative(process.cwd(), goldenPath(name))}`);
      continue;
    }
    const diff = differences(readGolden(name), actual);
    if (diff.length) {
      failed = true;
      console.error(`${name}: ${CONTRACT_MESSAGE}:\n  ${diff.join('\n  ')}`);
    } else console.log(`${name}: addresses match ${path.relative(process.cwd(), goldenPath(name))}`);
  }
  if (failed) process.exitCode = 1;
}
