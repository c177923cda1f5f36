/**
 * config/load.ts: where the config comes from (LOG_RESCUE_CONFIG, else config/default.json), and how
 * a rejected config is told: one line per problem naming the field, the value given and what is
 * allowed (describeIssues), all problems at once, in one ConfigError that names the file.
 *
 * @lane unit
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { CONFIG_ENV_VAR, ConfigError, DEFAULT_CONFIG_PATH, describeIssues, loadConfig, parseConfig } from '../../config/load';
import { configProblems } from '../support/synth';

/** The ConfigError `fn` throws; fails the test when it throws nothing or something else. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no ConfigError: the config was accepted');
}

describe('describeIssues', () => {
  /** What parseConfig reports for `input`, straight from the schema's issues. */
  const linesFor = (input: unknown) => configErrorOf(() => parseConfig(input)).problems;

  it('names a nested field by its dotted path and an array entry by its index', () => {
    expect(linesFor({ logRescue: { autoScalingGroups: ['web-fleet', 'web;reboot'] } })).toEqual([
      'logRescue.autoScalingGroups[1]: got "web;reboot"; allowed: an Auto Scaling group name: 1..255 of letters, digits, space, . _ -',
    ]);
  });

  it('gives each misspelt key a line of its own, with its value', () => {
    expect(linesFor({ logRescue: { autoScalingGroups: ['a'], lifecycleHook: { nmae: 'x', heartbeat: 300 } } })).toEqual([
      'logRescue.lifecycleHook.nmae: got "x"; allowed: no such key here (check the spelling)',
      'logRescue.lifecycleHook.heartbeat: got 300; allowed: no such key here (check the spelling)',
    ]);
  });

  it('says (missing) for a required field that is absent, and the type it must have', () => {
    const org = { id: 'o-a1b2c3d4e5', members: [{ name: 'web', accountId: '333333333333' }] };
    expect(linesFor({ logRescue: { autoScalingGroups: ['a'] }, organisation: org })).toEqual([
      'organisation.archive: got (missing); allowed: a value of type object',
    ]);
  });

  it('lists the options of an enum', () => {
    expect(linesFor({ logRescue: { autoScalingGroups: ['a'], lifecycleHook: { defaultResult: 'ABORT' } } })).toEqual([
      'logRescue.lifecycleHook.defaultResult: got "ABORT"; allowed: one of "CONTINUE", "ABANDON"',
    ]);
  });

  it('calls the top of the file (root) when it is not an object', () => {
    expect(linesFor('logRescue')).toEqual(['(root): got "logRescue"; allowed: a value of type object']);
  });

  it('cuts a long value to 120 characters', () => {
    const [line] = linesFor({ logRescue: { autoScalingGroups: ['a'] }, region: 'x'.repeat(300) });
    const given = /^region: got (.*); allowed: an AWS region/.exec(line)![1];
    expect(given).toBe(`"${'x'.repeat(116)}...`);
    expect(given).toHaveLength(120);
  });

  it('shows the effective value a cross-field rule passes for a field the config left to its default', () => {
    // maximumConcurrency is not in the input: its default (30) is what the rule judged.
    expect(configProblems({ logRescue: { handler: { reservedConcurrency: 10 } } })[0])
      .toMatch(/^logRescue\.handler\.maximumConcurrency: got 30; allowed: at most handler\.reservedConcurrency \(10\)/);
  });

  it('writes a literal as JSON, and a given value before a passed one', () => {
    const issues: z.ZodIssue[] = [
      { code: z.ZodIssueCode.invalid_literal, expected: 's3', received: 'S3', path: ['backend', 'type'], message: 'Invalid literal value' },
      { code: z.ZodIssueCode.custom, path: ['retry', 'attempts'], params: { value: 99 }, message: 'at most 185' },
    ];
    expect(describeIssues({ backend: { type: 'S3' }, retry: { attempts: 200 } }, issues)).toEqual([
      'backend.type: got "S3"; allowed: "s3"',
      'retry.attempts: got 200; allowed: at most 185',
    ]);
  });

  it('says a problem once however many rules find it', () => {
    const issue: z.ZodIssue = { code: z.ZodIssueCode.custom, path: ['project'], message: 'a slug' };
    expect(describeIssues({ project: 'A B' }, [issue, issue])).toEqual(['project: got "A B"; allowed: a slug']);
  });
});

describe('parseConfig', () => {
  it('returns the config with every default filled', () => {
    const c = parseConfig({ logRescue: { autoScalingGroups: ['web-fleet'] } });
    expect([c.project, c.environment, c.region, c.backend]).toEqual(['logrescue', 'dev', 'us-east-1', { type: 'local', directory: '.' }]);
    expect(c.logRescue.autoScalingGroups).toEqual(['web-fleet']);
  });

  it('lists every problem at once', () => {
    const problems = configProblems({ region: 'mars-1', logRescue: { lifecycleHook: { heartbeatTimeoutSeconds: 1 } }, backend: { type: 'nope' } });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['backend.type', 'logRescue.lifecycleHook.heartbeatTimeoutSeconds', 'region']);
  });

  it('formats one readable message', () => {
    try {
      parseConfig({ region: 'nowhere', logRescue: { autoScalingGroups: ['a'] } }, 'x.json');
      throw new Error('accepted');
    } catch (e) {
      expect((e as Error).message).toBe('Invalid configuration in x.json (1 problem):\n  - region: got "nowhere"; allowed: an AWS region such as us-east-1 or eu-west-1 (known: ' +
        'us-east-1, us-east-2, us-west-1, us-west-2, af-south-1, ap-east-1, ap-east-2, ap-south-1, ap-south-2, ap-southeast-1, ap-southeast-2, ap-southeast-3, ap-southeast-4, ap-southeast-5, ap-southeast-7, ap-northeast-1, ap-northeast-2, ap-northeast-3, ca-central-1, ca-west-1, eu-central-1, eu-central-2, eu-west-1, eu-west-2, eu-west-3, eu-south-1, eu-south-2, eu-north-1, il-central-1, me-south-1, me-central-1, mx-central-1, sa-east-1, us-gov-east-1, us-gov-west-1, cn-north-1, cn-northwest-1)');
    }
  });

  it('counts the problems in the message, and keeps the source and each problem on the error', () => {
    const e = configErrorOf(() => parseConfig({ project: 'My Project', owner: 'a;b', logRescue: { autoScalingGroups: ['a'] } }));
    expect(e.name).toBe('ConfigError');
    expect(e.source).toBe('(inline config)');
    expect(e.problems).toEqual([
      'project: got "My Project"; allowed: lowercase letters, digits and hyphens, starting with a letter, at most 20 characters',
      'owner: got "a;b"; allowed: a tag value (letters, digits, spaces and _ . : / = + - @)',
    ]);
    expect(e.message).toBe(`Invalid configuration in (inline config) (2 problems):\n  - ${e.problems[0]}\n  - ${e.problems[1]}`);
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-load-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('reads config/default.json when LOG_RESCUE_CONFIG is unset', () => {
    expect(CONFIG_ENV_VAR).toBe('LOG_RESCUE_CONFIG');
    expect(path.relative(path.join(__dirname, '../..'), DEFAULT_CONFIG_PATH)).toBe(path.join('config', 'default.json'));
    const committed = JSON.parse(readFileSync(path.join(__dirname, '../../config/default.json'), 'utf8'));
    expect(loadConfig({})).toEqual(parseConfig(committed));
  });

  it('reads the file LOG_RESCUE_CONFIG names, relative to the working directory', () => {
    const file = write('prod.json', JSON.stringify({ environment: 'prod', region: 'eu-west-1', logRescue: { autoScalingGroups: ['api'] } }));
    const c = loadConfig({ LOG_RESCUE_CONFIG: path.relative(process.cwd(), file) });
    expect([c.environment, c.region, c.logRescue.autoScalingGroups]).toEqual(['prod', 'eu-west-1', ['api']]);
  });

  it('names the variable and the file it cannot read', () => {
    const missing = path.join(dir, 'nope.json');
    const e = configErrorOf(() => loadConfig({ LOG_RESCUE_CONFIG: missing }));
    expect(e.source).toBe(missing);
    expect(e.problems).toEqual([expect.stringMatching(new RegExp(`^LOG_RESCUE_CONFIG: cannot read ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`))]);
  });

  it('says a file that is not JSON is not JSON', () => {
    const file = write('broken.json', '{ "region": "us-east-1", }');
    const e = configErrorOf(() => loadConfig({ LOG_RESCUE_CONFIG: file }));
    expect(e.source).toBe(file);
    expect(e.problems).toEqual([expect.stringMatching(/^\(file\): not valid JSON: /)]);
  });

  it('names the file in the message when its content is refused', () => {
    const file = write('bad.json', JSON.stringify({ region: 'us-east-9', logRescue: { autoScalingGroups: ['a'] } }));
    const e = configErrorOf(() => loadConfig({ LOG_RESCUE_CONFIG: file }));
    expect(e.message).toMatch(new RegExp(`^Invalid configuration in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(1 problem\\):\n  - region: got "us-east-9"`));
  });
});
