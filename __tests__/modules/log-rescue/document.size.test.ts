/**
 * The rescue document fits SSM's document size limit for every config the schema accepts: the
 * largest one is built through the schema and the stack, rendered as Terraform hands it to SSM, and
 * measured together with the largest parameter values a command can carry.
 *
 * The limit: "The content of the document must not exceed 64KB. This quota also includes the
 * content specified for input parameters at runtime." (SSM API reference, CreateDocument, Content,
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html; the
 * MaxDocumentSizeExceeded error: "The size limit of a document is 64 KB."). AWS does not say whether
 * a KB is 1,000 or 1,024 bytes here, so the test holds the stricter 64,000.
 *
 * @lane synth
 */
import { ASG_NAME_PATTERN, HOOK_NAME_PATTERN, MAX_LOG_GLOBS, MAX_LOG_GLOBS_LENGTH, MAX_RESCUE_PREFIX_LENGTH } from '../../../config/patterns';
import { parseConfig, ConfigError } from '../../../config/load';
import { deepMerge, onlyResource, synthStacks, testConfig } from '../../support/synth';
import { renderTerraformStringForTest } from '../../support/bash-standins';
import { RESCUE_PARAMETER_PATTERNS } from '../../../modules/log-rescue/document';
import defaults from '../../../config/default.json';

const SSM_DOCUMENT_LIMIT_BYTES = 64 * 1000;

/** Longest values the schema accepts for what the document holds besides the globs. */
const LONGEST_BUCKET = 'b'.repeat(63); // S3 bucket names are 3..63 characters.
const LONGEST_KMS_ARN = `arn:aws-us-gov:kms:${'x'.repeat(32)}:123456789012:key/mrk-${'f'.repeat(32)}`;
const LONGEST_PREFIX = 'p'.repeat(MAX_RESCUE_PREFIX_LENGTH);

/**
 * Globs as long as the schema allows in all, of the costliest characters: `*` (like . ? + [ ] and
 * the | between globs) is 1 byte in the default but 3 in the pinned pattern (`\\*` in JSON); each
 * glob's leading `/` costs 2. `count` globs share the budget (each at most 1,024 characters).
 */
function costliestGlobs(count: number): string[] {
  const chars = MAX_LOG_GLOBS_LENGTH - (count - 1);
  return Array.from({ length: count }, (_, i) => {
    const len = Math.floor(chars / count) + (i < chars % count ? 1 : 0);
    return `/${'*'.repeat(len - 1)}`;
  });
}

function largestConfig(globs: string[], bucket: 'created' | 'existing') {
  return {
    logRescue: {
      prefix: LONGEST_PREFIX,
      archiveBucket: bucket === 'created'
        ? { bucketName: LONGEST_BUCKET, encryption: 'SSE-KMS', kmsKeyArn: LONGEST_KMS_ARN }
        : { existingBucketName: LONGEST_BUCKET, existingKmsKeyArn: LONGEST_KMS_ARN },
      // The longest values of every part the document writes out: a 4-digit timeout, "false".
      lifecycleHook: { heartbeatTimeoutSeconds: 7200 },
      command: { logGlobs: globs, includeJournal: false, executionTimeoutSeconds: 6960 },
    },
  };
}

/** The document as SSM receives it: Terraform's rendering of `content`, references resolved to their longest values. */
function renderedDocument(overrides: Record<string, unknown>): string {
  const content: string = onlyResource(synthStacks(testConfig(overrides))['log-rescue'], 'aws_ssm_document').content;
  const refs = [...content.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((m) => m[1]);
  const subs = Object.fromEntries(refs.map((r) => {
    if (/^aws_s3_bucket\.[^.]+\.bucket$/.test(r)) return [r, LONGEST_BUCKET];
    if (/^aws_kms_key\.[^.]+\.arn$/.test(r)) return [r, LONGEST_KMS_ARN];
    throw new Error(`unexpected Terraform reference in the document: ${r}`);
  }));
  return renderTerraformStringForTest(content, subs);
}

/** The longest value an anchored `^[...]{1,N}$` pattern admits, of its first listed character. */
function longestOf(pattern: string): string {
  const m = /^\^(?:\([^)]*\|)?\[([^\]])[^\]]*\]\{\d+,(\d+)\}\)?\$$/.exec(pattern);
  if (!m) throw new Error(`not a simple bounded pattern: ${pattern}`);
  return m[1].repeat(Number(m[2]));
}

/**
 * Parameters of a command at their longest: the handler sends asgName, hookName, trigger and
 * eventTime; a sender may also pass logGlobs (only its pinned value) and includeJournal.
 */
function longestRuntimeParameters(logGlobs: string): string {
  return JSON.stringify({
    asgName: [longestOf(ASG_NAME_PATTERN)],
    hookName: [longestOf(HOOK_NAME_PATTERN)],
    trigger: ['lifecycle'],
    eventTime: ['20261120T223000Z'],
    logGlobs: [logGlobs],
    includeJournal: ['false'],
  });
}

describe('rescue document size', () => {
  it('has parameter patterns the runtime allowance reads right', () => {
    expect(longestOf(ASG_NAME_PATTERN)).toHaveLength(255);
    expect(longestOf(HOOK_NAME_PATTERN)).toHaveLength(255);
    expect(RESCUE_PARAMETER_PATTERNS.trigger).toBe('^(lifecycle|spot)$');
    expect(RESCUE_PARAMETER_PATTERNS.eventTime).toBe('^[0-9]{8}T[0-9]{6}Z$');
  });

  it.each([
    ['50 globs', MAX_LOG_GLOBS, 'created'],
    ['the fewest globs (fewest cheap leading slashes)', Math.ceil((MAX_LOG_GLOBS_LENGTH + 1) / 1025), 'created'],
    ['an existing bucket and key', MAX_LOG_GLOBS, 'existing'],
  ] as const)('fits SSM\'s 64 KB with the largest config the schema accepts: %s', (_name, count, bucket) => {
    const globs = costliestGlobs(count);
    // The schema takes it: at the bound, and each glob within its own 1,024 characters.
    expect(globs.join('|')).toHaveLength(MAX_LOG_GLOBS_LENGTH);
    expect(Math.max(...globs.map((g) => g.length))).toBeLessThanOrEqual(1024);
    const text = renderedDocument(largestConfig(globs, bucket));
    const doc = JSON.parse(text);
    // What makes it the largest is really in it.
    expect(doc.parameters.logGlobs.default).toBe(globs.join('|'));
    expect(doc.mainSteps[0].inputs.runCommand).toEqual(expect.arrayContaining([
      `LOG_RESCUE_BUCKET='${LONGEST_BUCKET}'`, `LOG_RESCUE_PREFIX='${LONGEST_PREFIX}'`, `LOG_RESCUE_KMS_KEY_ARN='${LONGEST_KMS_ARN}'`,
    ]));
    const documentBytes = Buffer.byteLength(text);
    const total = documentBytes + Buffer.byteLength(longestRuntimeParameters(globs.join('|')));
    expect({ documentBytes, total, fits: total <= SSM_DOCUMENT_LIMIT_BYTES }).toEqual({ documentBytes, total, fits: true });
  });

  it('is bounded by the config: one character more is a config error naming the field, the length and the bound', () => {
    const globs = costliestGlobs(MAX_LOG_GLOBS);
    globs[0] += '*';
    let problems: string[] = [];
    try {
      parseConfig(deepMerge(defaults, { logRescue: { command: { logGlobs: globs } } }), 'test');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems = e.problems;
    }
    expect(problems).toEqual([expect.stringMatching(new RegExp(
      `^logRescue\\.command\\.logGlobs: got \\["/\\*+.*; allowed: at most ${MAX_LOG_GLOBS_LENGTH} characters in all, counting one \\| between globs \\(these are ${MAX_LOG_GLOBS_LENGTH + 1}\\): .*64 KB`,
    ))]);
  });

  it('refuses the config that rendered 67,627 bytes before the bound (50 globs of 420 characters)', () => {
    const globs = Array.from({ length: 50 }, (_, i) => `/var/log/${String(i).padStart(2, '0')}/${'a'.repeat(408)}`);
    expect(globs[0]).toHaveLength(420);
    expect(() => testConfig({ logRescue: { command: { logGlobs: globs } } })).toThrow(/logRescue\.command\.logGlobs: .*these are 21049/);
  });

  it('bounds the prefix by S3\'s 1,024-byte keys and KMS key ARNs by their documented form', () => {
    // "maximum length of 1,024 bytes" (S3 User Guide, Naming Amazon S3 objects,
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html): the longest key is
    // <prefix>/<group, 255>/<instance id, 19>/<eventTime, 16>/manifest.json.
    const longestKey = [LONGEST_PREFIX, 'g'.repeat(255), 'i-0123456789abcdef0', '20261120T223000Z', 'manifest.json'].join('/');
    expect(Buffer.byteLength(longestKey)).toBe(1024);
    expect(() => testConfig({ logRescue: { prefix: `${LONGEST_PREFIX}p` } })).toThrow(
      new RegExp(`logRescue\\.prefix: got "p+\\.\\.\\.; allowed: at most ${MAX_RESCUE_PREFIX_LENGTH} characters: .*S3's 1,024-byte key limit`),
    );
    const kms = (arn: string) => ({ logRescue: { archiveBucket: { encryption: 'SSE-KMS', kmsKeyArn: arn } } });
    expect(testConfig(kms(LONGEST_KMS_ARN)).logRescue.archiveBucket.kmsKeyArn).toBe(LONGEST_KMS_ARN);
    for (const bad of [`${LONGEST_KMS_ARN}0`, 'arn:aws:kms:us-east-1:123456789012:key/anything-at-all', "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'"]) {
      expect(() => testConfig(kms(bad))).toThrow(/logRescue\.archiveBucket\.kmsKeyArn: .*allowed: an ARN of the form arn:aws:kms:<region>:<account>:key\/<key id>/);
    }
  });
});
