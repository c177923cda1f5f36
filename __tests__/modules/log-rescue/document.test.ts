/**
 * The rescue SSM document as text: its structure, its parameter patterns, and the Terraform
 * escaping that keeps the script intact through `cdktf synth` and `terraform apply`.
 * (The script itself is run in collect-logs.test.ts.)
 * @lane plan
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ASG_NAME_PATTERN, DEFAULT_LOG_GLOBS, HOOK_NAME_PATTERN, LOG_GLOB_PATTERN } from '../../../config/schema';
import { NOTHING_COLLECTED_EXIT_CODE } from '../../../config/patterns';
import {
  assertScriptSafeDestination, COLLECT_LOGS_SCRIPT_PATH, logGlobsProblem, MAX_LOG_GLOBS,
  RESCUE_DOCUMENT_PARAMETERS, RESCUE_PARAMETER_PATTERNS, rescueDocumentContent,
  RescueDocumentContentProps,
} from '../../../modules/log-rescue/document';
import { renderDocumentForTest, renderTerraformStringForTest, synthDocumentWithReferences } from '../../support/bash-standins';
import { escapeTemplate } from '../../../modules/shared/terraform-text';

const props: RescueDocumentContentProps = {
  bucketName: 'acme-logs',
  prefix: 'instance-logs',
  logGlobs: DEFAULT_LOG_GLOBS,
  includeJournal: true,
  executionTimeoutSeconds: 600,
};

const scriptFileLines = fs.readFileSync(COLLECT_LOGS_SCRIPT_PATH, 'utf8').replace(/\n$/, '').split('\n');
const fallback = (name: string) => `if [ -z "\${SSM_${name}+x}" ]; then export SSM_${name}="{{${name}}}"; fi`;

describe('document structure', () => {
  const content = rescueDocumentContent(props);
  const doc = renderDocumentForTest(content);
  const step = doc.mainSteps[0];
  const lines = step.inputs.runCommand;

  it('is a schema 2.2 Command document with one Linux shell step bounded by the configured timeout', () => {
    expect(doc.schemaVersion).toBe('2.2');
    expect(doc.description).toMatch(/instance-logs\/<asgName>\/<instance-id>\/<eventTime>/);
    expect(doc.mainSteps).toHaveLength(1);
    expect(step.action).toBe('aws:runShellScript');
    expect(step.precondition).toEqual({ StringEquals: ['platformType', 'Linux'] });
    expect(step.inputs.timeoutSeconds).toBe(600);
  });

  it('declares every parameter as a String passed by environment variable with an anchored pattern', () => {
    expect(Object.keys(doc.parameters)).toEqual([...RESCUE_DOCUMENT_PARAMETERS]);
    for (const [name, p] of Object.entries(doc.parameters)) {
      expect({ name, type: p.type, interpolationType: p.interpolationType }).toEqual({ name, type: 'String', interpolationType: 'ENV_VAR' });
      if (name === 'logGlobs') {
        // Pinned to the configured value: a sender cannot widen what the command collects.
        expect(new RegExp(p.allowedPattern).test(p.default!)).toBe(true);
        expect(new RegExp(p.allowedPattern).test(`${p.default}|/etc/shadow`)).toBe(false);
        expect(new RegExp(RESCUE_PARAMETER_PATTERNS.logGlobs).test(p.default!)).toBe(true);
      } else {
        expect(p.allowedPattern).toBe(RESCUE_PARAMETER_PATTERNS[name as keyof typeof RESCUE_PARAMETER_PATTERNS]);
      }
      expect(p.allowedPattern.startsWith('^') && p.allowedPattern.endsWith('$')).toBe(true);
      expect(p.description.length).toBeGreaterThan(10);
      if (p.default !== undefined) expect(new RegExp(p.allowedPattern).test(p.default)).toBe(true);
    }
  });

  it('requires asgName and eventTime, and defaults the rest from the config', () => {
    expect(doc.parameters.asgName.default).toBeUndefined();
    expect(doc.parameters.eventTime.default).toBeUndefined();
    expect(doc.parameters.hookName.default).toBe('none');
    expect(doc.parameters.trigger.default).toBe('lifecycle');
    expect(doc.parameters.logGlobs.default).toBe('/var/log/messages|/var/log/cloud-init*.log|/var/log/amazon/ssm/*');
    expect(doc.parameters.includeJournal.default).toBe('true');
    const other = renderDocumentForTest(rescueDocumentContent({ ...props, logGlobs: ['/opt/app/logs/*.log'], includeJournal: false }));
    expect(other.parameters.logGlobs.default).toBe('/opt/app/logs/*.log');
    expect(other.parameters.includeJournal.default).toBe('false');
  });

  it('runs under bash, sets each parameter for old agents, then fixes the destination, then the script', () => {
    expect(lines[0]).toBe('#!/bin/bash');
    expect(lines.slice(1, 7)).toEqual(RESCUE_DOCUMENT_PARAMETERS.map(fallback));
    expect(lines.slice(7, 12)).toEqual([
      "LOG_RESCUE_BUCKET='acme-logs'",
      "LOG_RESCUE_PREFIX='instance-logs'",
      "LOG_RESCUE_KMS_KEY_ARN=''",
      'readonly LOG_RESCUE_BUCKET LOG_RESCUE_PREFIX LOG_RESCUE_KMS_KEY_ARN',
      `readonly LOG_RESCUE_MAX_TOTAL_MB=2048 LOG_RESCUE_NOTHING_COLLECTED_EXIT_CODE=${NOTHING_COLLECTED_EXIT_CODE}`,
    ]);
    // The script arrives byte for byte once Terraform has undone the escaping (its shebang is line 0).
    expect(lines.slice(12)).toEqual(scriptFileLines.slice(1));
  });

  it('uses {{ }} only in the old-agent fallback, so SSM substitutes nothing into the script', () => {
    const withBraces = lines.filter((l) => l.includes('{{'));
    expect(withBraces).toEqual(RESCUE_DOCUMENT_PARAMETERS.map(fallback));
  });

  it('fits the 64 KB SSM document limit with room to spare', () => {
    expect(Buffer.byteLength(content)).toBeLessThan(48 * 1024);
  });

  it('writes the KMS key into the script when one is given', () => {
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const kms = renderDocumentForTest(rescueDocumentContent({ ...props, kmsKeyArn: arn }));
    expect(kms.mainSteps[0].inputs.runCommand[9]).toBe(`LOG_RESCUE_KMS_KEY_ARN='${arn}'`);
  });
});

describe('parameter patterns', () => {
  const matches = (name: keyof typeof RESCUE_PARAMETER_PATTERNS, value: string) => new RegExp(RESCUE_PARAMETER_PATTERNS[name]).test(value);

  it('takes the ASG and hook names from the config rules, and "none" for Spot', () => {
    expect(RESCUE_PARAMETER_PATTERNS.asgName).toBe(ASG_NAME_PATTERN);
    expect(matches('hookName', 'none')).toBe(true);
    for (const v of ['log-rescue', 'team/hook_1', 'a'.repeat(255)]) {
      expect(new RegExp(HOOK_NAME_PATTERN).test(v)).toBe(true);
      expect(matches('hookName', v)).toBe(true);
    }
    expect(matches('hookName', 'a'.repeat(256))).toBe(false);
    expect(matches('asgName', 'web fleet-1.prod')).toBe(true);
  });

  it('accepts only the documented trigger, time and boolean forms', () => {
    expect(['lifecycle', 'spot'].map((v) => matches('trigger', v))).toEqual([true, true]);
    expect(['Lifecycle', 'spot ', 'lifecyclespot', ''].some((v) => matches('trigger', v))).toBe(false);
    expect(matches('eventTime', '20261120T223000Z')).toBe(true);
    expect(['2026-11-20T22:30:00Z', '20261120T2230Z', '20261120T223000'].some((v) => matches('eventTime', v))).toBe(false);
    expect(['true', 'false'].map((v) => matches('includeJournal', v))).toEqual([true, true]);
    expect(['TRUE', '1', 'yes'].some((v) => matches('includeJournal', v))).toBe(false);
  });

  it('accepts |-joined absolute globs, up to the config limit', () => {
    expect(matches('logGlobs', DEFAULT_LOG_GLOBS.join('|'))).toBe(true);
    expect(matches('logGlobs', '/var/log/my app/*.log|/opt/x/[ab]?.log|/srv/%@+,-...x/.hidden/..x|/var/log/')).toBe(true);
    expect(matches('logGlobs', Array(MAX_LOG_GLOBS).fill('/var/log/x').join('|'))).toBe(true);
    expect(matches('logGlobs', Array(MAX_LOG_GLOBS + 1).fill('/var/log/x').join('|'))).toBe(false);
    for (const bad of ['', 'var/log/x', '/var/log/x|', '|/var/log/x', '/a||/b', '/var/log/../../etc/shadow', '/var/log/..', '/var/./log']) {
      expect({ bad, ok: matches('logGlobs', bad) }).toEqual({ bad, ok: false });
    }
  });

  it('matches in linear time, so neither SSM nor the caller can be stalled by a long value', () => {
    const re = new RegExp(RESCUE_PARAMETER_PATTERNS.logGlobs);
    const slow = [
      Array(MAX_LOG_GLOBS + 1).fill('/var/log/abc.def/x').join('|'),
      `${Array(MAX_LOG_GLOBS).fill(`/${'a.'.repeat(400)}`).join('|')}"`,
      `/${'.a'.repeat(1000)}$`,
    ];
    const started = Date.now();
    for (const v of slow) expect(re.test(v)).toBe(false);
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('uses exactly the alphabet of the config glob rule, minus . and .. segments', () => {
    const config = new RegExp(LOG_GLOB_PATTERN);
    for (let code = 0; code < 128; code++) {
      const glob = `/var/log/a${String.fromCharCode(code)}b`;
      expect({ code, document: logGlobsProblem([glob]) === undefined }).toEqual({ code, document: config.test(glob) });
    }
  });

  it('lets a config whose globs the document cannot carry fail at synth, not at SendCommand', () => {
    expect(() => rescueDocumentContent({ ...props, logGlobs: ['/var/./log/x'] })).toThrow(/logGlobs \["\/var\/\.\/log\/x"\] not allowed/);
    expect(() => rescueDocumentContent({ ...props, logGlobs: [] })).toThrow(/1\.\.50 globs/);
    // Both copies of the list must fit SSM's 64 KB (document.size.test.ts measures the largest).
    const long = Array.from({ length: 5 }, () => `/${'x'.repeat(1023)}`);
    expect(() => rescueDocumentContent({ ...props, logGlobs: long })).toThrow(/logGlobs are 5124 characters joined with \|; at most 4096/);
    expect(() => rescueDocumentContent({ ...props, prefix: 'p'.repeat(718) })).toThrow(/prefix is 718 characters; at most 717/);
  });
});

describe('destination constants', () => {
  it('refuses literals that could leave the single quotes or change the script', () => {
    const bad: Array<Partial<RescueDocumentContentProps>> = [
      { bucketName: "acme'logs" }, { bucketName: 'acme$(id)' }, { bucketName: 'Acme' },
      { prefix: "logs'" }, { prefix: '/logs' }, { prefix: 'logs/../x' }, { prefix: 'a b' },
      { kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/x'" }, { kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/${x}' },
    ];
    for (const b of bad) expect(() => assertScriptSafeDestination({ ...props, ...b })).toThrow(/cannot be written into the script/);
  });

  it('accepts a Terraform reference only as the whole value', () => {
    const ref = synthDocumentWithReferences(props, { kms: true });
    expect(ref.content).toContain(`LOG_RESCUE_BUCKET='\${${ref.bucketRef}}'`);
    expect(() => assertScriptSafeDestination({ ...props, bucketName: '${TfToken[TOKEN.7]}' })).not.toThrow();
    expect(() => assertScriptSafeDestination({ ...props, bucketName: "${TfToken[TOKEN.7]}'; id; '" })).toThrow(/exactly one Terraform reference/);
    expect(() => assertScriptSafeDestination({ ...props, prefix: '${TfToken[TOKEN.7]}' })).toThrow(/prefix must be a literal/);
  });

  it('rejects a timeout the shell step cannot have', () => {
    for (const t of [0, 1.5, 172801]) expect(() => rescueDocumentContent({ ...props, executionTimeoutSeconds: t })).toThrow(/executionTimeoutSeconds/);
  });
});

describe('Terraform escaping', () => {
  it('escapes ${ and %{ so that Terraform gives the text back unchanged', () => {
    expect(escapeTemplate('a ${b} %{c} $${d} %%{e} $f %g')).toBe('a $${b} %%{c} $$${d} %%%{e} $f %g');
    for (const text of ['${x}', '$${x}', '%{if}', '${a%{b}}', '$$$', 'plain']) {
      expect(renderTerraformStringForTest(escapeTemplate(text))).toBe(text);
    }
  });

  it('leaves no Terraform expression in a document with literal names', () => {
    const content = rescueDocumentContent(props);
    expect(() => renderTerraformStringForTest(content, {})).not.toThrow();
    expect(content).toContain('$${SSM_asgName+x}');
  });

  it('keeps bucket and key references live through cdktf synth, and only those', () => {
    const { content, bucketRef, kmsRef } = synthDocumentWithReferences(props, { kms: true });
    const refs = [...content.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((m) => m[1]);
    expect(refs).toEqual([bucketRef, kmsRef]);
    const doc = renderDocumentForTest(content, { [bucketRef]: 'acme-logs-123', [kmsRef!]: 'arn:aws:kms:eu-west-1:123456789012:key/abcd' });
    expect(doc.mainSteps[0].inputs.runCommand.slice(7, 10)).toEqual([
      "LOG_RESCUE_BUCKET='acme-logs-123'",
      "LOG_RESCUE_PREFIX='instance-logs'",
      "LOG_RESCUE_KMS_KEY_ARN='arn:aws:kms:eu-west-1:123456789012:key/abcd'",
    ]);
    expect(doc.mainSteps[0].inputs.runCommand.slice(12)).toEqual(scriptFileLines.slice(1));
  });

  it('renders in real Terraform exactly as the test helper renders it', () => {
    const terraform = process.env.TERRAFORM_BIN || 'terraform';
    const { content, bucketRef, kmsRef } = synthDocumentWithReferences(props, { kms: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rescue-tf-'));
    try {
      // Same text, with the resource references pointed at variables so no provider is needed.
      const value = content.split(`\${${bucketRef}}`).join('${var.bucket}').split(`\${${kmsRef}}`).join('${var.kms}');
      fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({
        variable: { bucket: { type: 'string' }, kms: { type: 'string' } },
        output: { content: { value } },
      }));
      const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
      const tf = (...args: string[]) => {
        const r = spawnSync(terraform, args, { cwd: dir, env, encoding: 'utf8' });
        if (r.error || r.status !== 0) throw new Error(`terraform ${args.join(' ')} failed: ${r.error ?? r.stderr}`);
        return r.stdout;
      };
      tf('init', '-backend=false');
      tf('apply', '-auto-approve', '-var', 'bucket=acme-logs-123', '-var', 'kms=arn:aws:kms:eu-west-1:123456789012:key/abcd');
      const rendered = tf('output', '-raw', 'content');
      expect(rendered).toBe(renderTerraformStringForTest(content, { [bucketRef]: 'acme-logs-123', [kmsRef!]: 'arn:aws:kms:eu-west-1:123456789012:key/abcd' }));
      expect(JSON.parse(rendered).mainSteps[0].inputs.runCommand[1]).toBe(fallback('asgName'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
