import './runtime';
import { ConfigError, loadConfig } from './config/load';
import { synthApp } from './app';

/**
 * Validate everything before constructing anything, so a bad config writes nothing.
 * Returns the process exit code.
 */
export function main(env: NodeJS.ProcessEnv = process.env, stderr: { write(s: string): unknown } = process.stderr): number {
  try {
    const config = loadConfig(env);
    synthApp(config, { outdir: env.CDKTF_OUTDIR });
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main();
