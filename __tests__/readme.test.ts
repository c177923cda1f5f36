/**
 * The README is what a new user trusts first: its commands must work and its config table be complete.
 *
 * @lane unit
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { configSchema } from '../config/schema';

const ROOT = path.join(__dirname, '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const ciRun = readFileSync(path.join(ROOT, '.ci/run'), 'utf8');

/** Every field path of the config schema (`a.b.c`), looking through defaults, optionals and refinements. */
function fieldPaths(schema: z.ZodTypeAny, prefix = ''): string[] {
  let s: z.ZodTypeAny = schema;
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodOptional) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s._def.schema;
    else break;
  }
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) => [`${prefix}${k}`, ...fieldPaths(v, `${prefix}${k}.`)]);
  }
  if (s instanceof z.ZodDiscriminatedUnion) {
    return [...new Set((s.options as z.ZodTypeAny[]).flatMap((o) => fieldPaths(o, prefix)))];
  }
  return [];
}

describe('README', () => {
  it('starts with the install+synth command and the test command', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1].split('\n').filter(Boolean);
    expect(firstBlock[0]).toMatch(/^npm ci && npm run synth\b/);
    expect(firstBlock[1]).toMatch(/^npm test\b/);
    expect(readme.indexOf('```sh')).toBeLessThan(200);
    expect(ciRun).toContain('npm ci');
    expect(ciRun).toContain('npm test');
  });

  it('names only npm scripts that exist', () => {
    const used = [...readme.matchAll(/npm run (?:--silent )?([a-z-]+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const script of used) expect(Object.keys(pkg.scripts)).toContain(script);
  });

  it('documents every config field', () => {
    const paths = fieldPaths(configSchema);
    const bucketFields = paths.filter((p) => p.startsWith('logRescue.archiveBucket.'));
    // A field counts as documented when the README names it, a parent as `parent.*`, or (for the
    // archive bucket, documented once for both stacks) its path below archiveBucket.
    const documented = (p: string) => {
      const bucket = /^(logRescue|sessionLogs)\.archiveBucket\.(.+)$/.exec(p);
      if (bucket) return readme.includes(`\`${bucket[2]}\``) || readme.includes(`\`${bucket[2]}.`);
      const parts = p.split('.');
      return readme.includes(`\`${p}\``) || readme.includes(`\`${p}.`)
        || parts.some((_, i) => readme.includes(`\`${parts.slice(0, i + 1).join('.')}.*\``));
    };
    const missing = paths.filter((p) => !documented(p));
    expect(bucketFields.length).toBeGreaterThan(5);
    expect(missing).toEqual([]);
  });

  it('names only source and test paths that exist (README and docs/)', () => {
    const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    // A path the user creates, given as an example.
    const examples = ['config/prod.json'];
    const missing: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(path.join(ROOT, doc), 'utf8');
      for (const [, p] of text.matchAll(/`((?:modules|stacks|handlers|config|scripts|__tests__|docs|\.ci|\.github)\/[A-Za-z0-9_./-]*)`/g)) {
        if (!examples.includes(p) && !existsSync(path.join(ROOT, p))) missing.push(`${doc}: ${p}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
