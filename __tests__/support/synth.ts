import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthApp } from '../../app';
import { ConfigError, parseConfig } from '../../config/load';
import { AppConfig } from '../../config/schema';

export { onlyResource, resourceAt, resourcesOf } from './stack-json';
export type { StackJson } from './stack-json';
import { StackJson } from './stack-json';

/** Minimal valid config plus `overrides` (deep-merged), validated like the app does. */
export function testConfig(overrides: Record<string, unknown> = {}): AppConfig {
  const base = JSON.parse(readFileSync(path.join(__dirname, '../../config/default.json'), 'utf8'));
  return parseConfig(deepMerge(base, overrides), 'test config');
}

/** The problems the config loader reports for the default config plus `overrides` ([] when it is accepted). */
export function configProblems(overrides: Record<string, unknown>): string[] {
  const base = JSON.parse(readFileSync(path.join(__dirname, '../../config/default.json'), 'utf8'));
  try {
    parseConfig(deepMerge(base, overrides), 'test');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

export function deepMerge(a: any, b: any): any {
  if (Array.isArray(b) || b === null || typeof b !== 'object' || typeof a !== 'object' || a === null || Array.isArray(a)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? deepMerge(a[k], v) : v;
  return out;
}

/** Synthesize the app into a fresh temp dir; returns that dir and each stack's JSON. */
export function synthToDir(config: AppConfig): { outdir: string; stacks: Record<string, StackJson> } {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-synth-'));
  // The same entry main.ts uses, so tests see what users get.
  const app = synthApp(config, { outdir, hcl: false });
  const stacks: Record<string, StackJson> = {};
  for (const stack of app.node.children.map((c) => c.node.id)) {
    stacks[stack] = JSON.parse(readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
  }
  return { outdir, stacks };
}

/** Synthesize and return the stacks' JSON, leaving nothing on disk. */
export function synthStacks(config: AppConfig = testConfig()): Record<string, StackJson> {
  const { outdir, stacks } = synthToDir(config);
  rmSync(outdir, { recursive: true, force: true });
  return stacks;
}
