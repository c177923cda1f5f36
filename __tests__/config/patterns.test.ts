/**
 * config/patterns.ts: each name pattern accepts what AWS (or the rescue document's shell) takes and
 * refuses the rest, character by character, and the limits derived from AWS quotas add up to them.
 * The schema, the SSM document's allowedPatterns and the handler all use these patterns, so a
 * pattern that let one character too many through would reach every one of them.
 *
 * @lane unit
 */
import {
  ASG_NAME_PATTERN, HOOK_NAME_PATTERN, LOG_GLOB_PATTERN, MAX_INSTANCES_PER_COMMAND, MAX_LOG_GLOBS, MAX_LOG_GLOBS_LENGTH,
  MAX_NAME_PREFIX, MAX_RESCUE_PREFIX_LENGTH, NO_LIFECYCLE_HOOK, NOTHING_COLLECTED_EXIT_CODE,
} from '../../config/patterns';
import { configProblems } from '../support/synth';

/** Printable ASCII and the control characters a shell or a log line cares about. */
const ASCII = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));

/** Every ASCII character `pattern` accepts in `shape` (where `c` stands for the character). */
const alphabetOf = (pattern: string, shape: (c: string) => string) =>
  ASCII.filter((c) => new RegExp(pattern).test(shape(c))).join('');

const LETTERS_DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** ASCII order of `chars`, as alphabetOf returns them. */
const sorted = (chars: string) => [...chars].sort().join('');

describe('ASG_NAME_PATTERN', () => {
  // Auto Scaling API reference, CreateAutoScalingGroup, AutoScalingGroupName: "Length Constraints:
  // Minimum length of 1. Maximum length of 255."; the name "can contain any ASCII character 33 to 126
  // including most punctuation characters, digits, and upper and lowercased letters. You cannot use a
  // colon (:) in the name." (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html).
  // Ours is a subset: the characters that are inert in a shell, and no comma (the handler's ASG_NAMES
  // list is comma-separated).
  const re = new RegExp(ASG_NAME_PATTERN);

  it.each(['web-fleet', 'a', 'x'.repeat(255), 'Payments API v2', 'eks.node_group-1', 'EXAMPLE-ASG'])('accepts %j', (name) => {
    expect(re.test(name)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'x'.repeat(256)],
    ['a colon (AWS refuses it)', 'web:fleet'],
    ['a comma (the handler\'s list separator)', 'web,fleet'],
    ['a command separator', 'web;reboot'],
    ['command substitution', 'web$(reboot)'],
    ['backticks', 'web`id`'],
    ['a newline', 'web\nfleet'],
    ['a tab', 'web\tfleet'],
    ['a slash', 'team/web'],
    ['a non-ASCII letter', 'flotte-été'],
  ])('refuses %s', (_what, name) => {
    expect(re.test(name)).toBe(false);
  });

  it('admits letters, digits, space, . _ - and no other ASCII character', () => {
    expect(alphabetOf(ASG_NAME_PATTERN, (c) => c)).toBe(sorted(` ._-${LETTERS_DIGITS}`));
  });
});

describe('HOOK_NAME_PATTERN', () => {
  // Auto Scaling API reference, PutLifecycleHook, LifecycleHookName: length 1..255, pattern
  // [A-Za-z0-9\-_\/]+ (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html).
  const re = new RegExp(HOOK_NAME_PATTERN);

  it.each(['log-rescue', 'team/log_rescue-2', 'x'.repeat(255), NO_LIFECYCLE_HOOK])('accepts %j', (name) => {
    expect(re.test(name)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'x'.repeat(256)],
    ['a space', 'log rescue'],
    ['a dot', 'log.rescue'],
    ['a colon', 'log:rescue'],
    ['a command separator', 'log;reboot'],
    ['a trailing newline', 'log-rescue\n'],
  ])('refuses %s', (_what, name) => {
    expect(re.test(name)).toBe(false);
  });

  it('admits exactly the API\'s alphabet: letters, digits, - _ /', () => {
    expect(alphabetOf(HOOK_NAME_PATTERN, (c) => c)).toBe(sorted(`-_/${LETTERS_DIGITS}`));
  });

  it('takes the Spot rescue\'s hookName "none", which has no lifecycle action', () => {
    expect(NO_LIFECYCLE_HOOK).toBe('none');
  });
});

describe('LOG_GLOB_PATTERN', () => {
  // Not an AWS rule: the rescue document pins its logGlobs parameter with an allowedPattern ("a
  // regular expression the parameter must match": Systems Manager User Guide, "Data elements and
  // parameters", https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-syntax-data-elements-parameters.html),
  // and its script expands the globs in a shell, so only characters that are inert there even
  // unquoted. `|` joins the globs in that parameter, so it is refused too.
  const re = new RegExp(LOG_GLOB_PATTERN);

  it.each([
    '/var/log/messages', '/var/log/cloud-init*.log', '/var/log/amazon/ssm/*', '/var/log/app [prod]/*.log',
    '/opt/app/logs/worker@1.log', '/srv/logs/a+b%c,d?.log', `/${'a'.repeat(1023)}`,
  ])('accepts %j', (glob) => {
    expect(re.test(glob)).toBe(true);
  });

  it.each([
    ['a relative path', 'var/log/messages'],
    ['1,025 characters', `/${'a'.repeat(1024)}`],
    ['command substitution', '/var/log/$(reboot)'],
    ['backticks', '/var/log/`id`'],
    ['a command separator', '/var/log/a;b'],
    ['a newline', '/var/log/a\nreboot'],
    ['a pipe (the glob list separator)', '/var/log/a|b'],
    ['quotes', '/var/log/"a"'],
    ['an ampersand', '/var/log/a&b'],
    ['a redirection', '/var/log/a>b'],
    ['a tilde', '~/logs/*.log'],
    ['brace expansion', '/var/log/{a,b}.log'],
    ['a backslash', '/var/log/a\\b'],
  ])('refuses %s', (_what, glob) => {
    expect(re.test(glob)).toBe(false);
  });

  it('admits after the leading / only letters, digits, space and _ . * ? + @ % , / [ ] -', () => {
    expect(alphabetOf(LOG_GLOB_PATTERN, (c) => `/var/log/${c}`)).toBe(sorted(` _.*?+@%,/[]-${LETTERS_DIGITS}`));
  });

  it('leaves . and .. segments and pseudo-filesystems to the schema, which refuses them', () => {
    expect(re.test('/var/log/../../etc/shadow')).toBe(true);
    expect(configProblems({ logRescue: { command: { logGlobs: ['/var/log/../../etc/shadow'] } } }))
      .toEqual(['logRescue.command.logGlobs[0]: got "/var/log/../../etc/shadow"; allowed: no . or .. path segments']);
  });
});

describe('limits derived from AWS quotas', () => {
  it('sizes the rescue prefix so the longest archive key is S3\'s 1,024 bytes', () => {
    // S3 User Guide, "Naming Amazon S3 objects": a key name has a "maximum length of 1,024 bytes"
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html). The longest key:
    // <prefix>/<group name, 255>/<instance id, 19>/<UTC time, 16>/manifest.json.
    const longest = ['p'.repeat(MAX_RESCUE_PREFIX_LENGTH), 'g'.repeat(255), 'i-0123456789abcdef0', '20261120T223000Z', 'manifest.json'].join('/');
    expect(Buffer.byteLength(longest)).toBe(1024);
    expect(MAX_RESCUE_PREFIX_LENGTH).toBe(717);
  });

  it('lets the documented largest glob list (50 globs of 80 characters) through', () => {
    const globs = Array.from({ length: MAX_LOG_GLOBS }, (_, i) => `/${String(i).padStart(2, '0')}${'a'.repeat(77)}`);
    expect(MAX_LOG_GLOBS).toBe(50);
    expect(globs.join('|').length).toBeLessThanOrEqual(MAX_LOG_GLOBS_LENGTH);
    // ... and the schema takes it.
    expect(configProblems({ logRescue: { command: { logGlobs: globs } } })).toEqual([]);
  });

  it('sends at most 50 instances per command', () => {
    // SSM API reference, SendCommand, InstanceIds: "you can specify up to 50 IDs"
    // (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html).
    expect(MAX_INSTANCES_PER_COMMAND).toBe(50);
  });

  it('bounds the name prefix by the longest project (20) and environment (12) the schema accepts', () => {
    expect(MAX_NAME_PREFIX).toBe(`${'p'.repeat(20)}-${'e'.repeat(12)}`.length);
    expect(configProblems({ project: 'p'.repeat(20), environment: 'e'.repeat(12) })).toEqual([]);
    expect(configProblems({ project: 'p'.repeat(21) })).toEqual([
      `project: got "${'p'.repeat(21)}"; allowed: lowercase letters, digits and hyphens, starting with a letter, at most 20 characters`,
    ]);
    expect(configProblems({ environment: 'e'.repeat(13) })).toEqual([
      `environment: got "${'e'.repeat(13)}"; allowed: lowercase letters, digits and hyphens, starting with a letter, at most 12 characters`,
    ]);
  });

  it('exits "nothing collected" with a code of its own: not 1, nor the shell\'s or the agent\'s', () => {
    // 126/127: not executable/not found; 128+n: killed by signal n; 168/169: the SSM agent's reboot codes.
    const taken = [0, 1, 2, 126, 127, 168, 169];
    expect(taken).not.toContain(NOTHING_COLLECTED_EXIT_CODE);
    expect(NOTHING_COLLECTED_EXIT_CODE).toBeLessThan(126);
  });
});
