/**
 * Text that Terraform must take literally, written the same way to JSON (`cdk.tf.json`) and HCL
 * (`cdk.tf`) output.
 */

/** Whether cdktf writes HCL (cdk.tf): it reads SYNTH_HCL_OUTPUT, which `--hcl` and synthApp's `hcl` set. */
export function hclOutput(): boolean {
  return ['true', '1'].includes(process.env.SYNTH_HCL_OUTPUT ?? '');
}

/** Escape Terraform template sequences so `${...}` and `%{...}` reach the resource as written. */
export function escapeTemplate(text: string): string {
  // Replacement functions: in a replacement string `$$` would itself mean `$`.
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/**
 * A multi-line value (document, query) in one canonical form: it ends with exactly one newline.
 *
 * cdktf 0.21's HCL renderer writes multi-line strings as a heredoc, which appends a newline to
 * whatever it is given, so the same value would plan differently from JSON and HCL output. When
 * synthesizing HCL (SYNTH_HCL_OUTPUT, which the CLI's `--hcl` and buildApp set) we hand the
 * renderer the text without its final newline and the heredoc puts it back.
 */
export function multilineText(text: string): string {
  const canonical = `${text.replace(/\n+$/, '')}\n`;
  const withoutFinal = canonical.slice(0, -1);
  // A single line would be rendered as a quoted string, where no newline is added.
  return hclOutput() && withoutFinal.includes('\n') ? withoutFinal : canonical;
}
