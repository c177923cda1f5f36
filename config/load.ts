import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { AppConfig, configSchema } from './schema';

export const DEFAULT_CONFIG_PATH = path.join(__dirname, 'default.json');
export const CONFIG_ENV_VAR = 'LOG_RESCUE_CONFIG';

/** Raised for any config problem; `problems` holds one line per problem. */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`Invalid configuration in ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
      problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

function valueAt(input: unknown, pathParts: (string | number)[]): unknown {
  let v: unknown = input;
  for (const p of pathParts) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return '(missing)';
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

const fieldName = (parts: (string | number)[]) =>
  parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(root)';

/** One line per problem: field path, the value given, and what is allowed. */
export function describeIssues(input: unknown, issues: z.ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const parent = valueAt(input, issue.path);
      for (const key of issue.keys) {
        lines.push(`${fieldName([...issue.path, key])}: got ${show((parent as Record<string, unknown>)[key])}; allowed: no such key here (check the spelling)`);
      }
      continue;
    }
    let allowed = issue.message;
    if (issue.code === z.ZodIssueCode.invalid_type) allowed = `a value of type ${issue.expected}`;
    if (issue.code === z.ZodIssueCode.invalid_enum_value) allowed = `one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`;
    if (issue.code === z.ZodIssueCode.invalid_literal) allowed = JSON.stringify(issue.expected);
    // Cross-field rules may fire on a defaulted field; they pass the effective value along.
    const given = valueAt(input, issue.path) ?? (issue.code === z.ZodIssueCode.custom ? issue.params?.value : undefined);
    lines.push(`${fieldName(issue.path)}: got ${show(given)}; allowed: ${allowed}`);
  }
  return [...new Set(lines)];
}

/** Validate a parsed JSON value; throws ConfigError listing every problem. */
export function parseConfig(input: unknown, source = '(inline config)'): AppConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(source, describeIssues(input, result.error.issues));
  return result.data;
}

/** Load from the file named by LOG_RESCUE_CONFIG, else config/default.json. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const file = env[CONFIG_ENV_VAR] ? path.resolve(env[CONFIG_ENV_VAR] as string) : DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`${CONFIG_ENV_VAR}: cannot read ${file}: ${(e as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [`(file): not valid JSON: ${(e as Error).message}`]);
  }
  return parseConfig(json, file);
}
