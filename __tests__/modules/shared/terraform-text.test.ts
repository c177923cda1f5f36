/**
 * hclOutput, escapeTemplate and multilineText: whether cdktf writes HCL (SYNTH_HCL_OUTPUT "true" or
 * "1", nothing else); text reaches the resource literally (`${...}` and `%{...}`
 * escaped, nothing else touched) and a multi-line value is one canonical text, ending in exactly
 * one newline, whether cdktf writes JSON or HCL (where its heredoc adds the final newline back).
 * @lane unit
 */
import { TerraformStack, Testing } from 'cdktf';
import { synthBare } from '../../support/bare-stack';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { escapeTemplate, hclOutput, multilineText } from '../../../modules/shared/terraform-text';
import { withHclOutput } from '../../support/env';

describe('hclOutput', () => {
  it.each([
    ['true', true], ['1', true],
    [undefined, false], ['', false], ['false', false], ['0', false], ['yes', false],
  ])('SYNTH_HCL_OUTPUT=%p: %p', (value, hcl) => {
    expect(withHclOutput(value, hclOutput)).toBe(hcl);
  });
});

describe('escapeTemplate', () => {
  it.each([
    ['a Terraform interpolation', 'echo ${HOME}', 'echo $${HOME}'],
    ['a template directive', '%{ if x }y%{ endif }', '%%{ if x }y%%{ endif }'],
    ['several of both', '${a}${b} %{c}', '$${a}$${b} %%{c}'],
    // `$` and `%` not followed by `{` are not template sequences: left as they are, `$$` included.
    ['dollars, percents and braces that start no sequence', 'cost $5, 100% {x} $$ $1 %d', 'cost $5, 100% {x} $$ $1 %d'],
    ['an already escaped sequence, escaped once more', '$${x}', '$$${x}'],
    ['nothing to escape', 'plain text', 'plain text'],
  ])('%s', (_what, text, escaped) => {
    expect(escapeTemplate(text)).toBe(escaped);
  });
});

describe('multilineText', () => {
  it('for JSON output (SYNTH_HCL_OUTPUT unset or false): the text with exactly one final newline', () => {
    for (const setting of [undefined, 'false']) {
      withHclOutput(setting, () => {
        expect(multilineText('line 1\nline 2')).toBe('line 1\nline 2\n');
        expect(multilineText('line 1\nline 2\n\n\n')).toBe('line 1\nline 2\n');
        expect(multilineText('one line')).toBe('one line\n');
        // Only trailing newlines go: blank lines inside stay.
        expect(multilineText('a\n\nb\n')).toBe('a\n\nb\n');
      });
    }
  });

  it('for HCL output (SYNTH_HCL_OUTPUT true or 1): a multi-line text without its final newline, which the heredoc adds', () => {
    for (const setting of ['true', '1']) {
      withHclOutput(setting, () => {
        expect(multilineText('line 1\nline 2')).toBe('line 1\nline 2');
        expect(multilineText('line 1\nline 2\n\n')).toBe('line 1\nline 2');
        // One line is written as a quoted string, which adds nothing: it keeps its newline.
        expect(multilineText('one line')).toBe('one line\n');
      });
    }
  });

  it('cdktf\'s HCL renderer gives the resource the same value as its JSON output', async () => {
    const text = 'SELECT *\nFROM sessions\n\n';
    /** A parameter holding multilineText(text), synthesized with SYNTH_HCL_OUTPUT at `setting`. */
    const value = (setting: string) => withHclOutput(setting, () => {
      const stack = new TerraformStack(Testing.app(), `s${setting}`);
      new AwsProvider(stack, 'aws', { region: 'us-east-1' });
      new SsmParameter(stack, 'p', { name: 'q', type: 'String', value: multilineText(text) }).overrideLogicalId('p');
      return setting === 'true' ? Testing.synthHcl(stack) as string : synthBare(stack).resource!.aws_ssm_parameter.p.value;
    });
    const fromJson = value('false');
    expect(fromJson).toBe('SELECT *\nFROM sessions\n');
    const hcl = value('true');
    expect(hcl).toContain('<<EOF');
    const parsed = await parseHcl('cdk.tf', hcl) as any;
    expect(parsed.resource.aws_ssm_parameter.p[0].value).toBe(fromJson);
  });
});
