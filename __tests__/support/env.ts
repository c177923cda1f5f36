/** `fn`'s result with the environment variables `vars` set (undefined: unset), the environment restored after. */
export function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const replaced = jest.replaceProperty(process, 'env', env);
  try {
    return fn();
  } finally {
    replaced.restore();
  }
}

/** `fn`'s result with SYNTH_HCL_OUTPUT at `value` (unset for undefined), as `cdktf synth --hcl` sets it. */
export const withHclOutput = <T>(value: string | undefined, fn: () => T): T => withEnv({ SYNTH_HCL_OUTPUT: value }, fn);
