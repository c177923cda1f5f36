/**
 * Scale-in storm simulation of the log rescue (issue 6): the real handler, driven through simulated
 * Auto Scaling, SSM, EventBridge and Lambda on a virtual clock.
 *
 *   npm run simulate -- --instances 1000 [--seed 1] [knobs] [--verbose] [--no-check]
 *
 * Prints detail lines, then exactly one summary line:
 *   simulate: instances=N rescued=R not_rescued=X stuck=S dlq=D max_hold_s=H p50_hold_s=P invocations=I
 * Exit codes: 0 the design's targets are met for this configuration (or --no-check); 1 a target is
 * missed (stderr names it: `simulate: target missed: p50_hold`); 2 bad arguments or config.
 * The targets: every online Linux instance with something to collect rescued, none stuck, nothing
 * dead-lettered, each counted once, at most 2.2 invocations per instance, and a median hold within
 * 3 s of the printed floor (the CompleteLifecycleAction rate alone), or of the median upload when
 * completions are not throttled (`--complete-rate 0`).
 */
import { loadConfig } from '../config/load';
import { deploymentOptions, parseArgs, usage } from './sim/options';
import { runSimulation } from './sim/run';

export { runSimulation, SUMMARY_PATTERN, type SimulationResult } from './sim/run';
export { DEFAULT_OPTIONS, type SimulationOptions } from './sim/options';

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${usage()}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  let fromConfig;
  try {
    fromConfig = deploymentOptions(loadConfig(process.env));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const started = process.hrtime.bigint();
  const result = await runSimulation({ ...fromConfig, ...args.options });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  const always = (line: string) => /^simulate: (upload|target|agents|stages) /.test(line);
  const lines = args.verbose ? result.details : result.details.filter(always);
  for (const line of lines) process.stdout.write(`${line}\n`);
  process.stdout.write(`simulate: wall_s=${wallSeconds.toFixed(1)} simulated_s=${result.simulatedSeconds.toFixed(0)} steps=${result.steps}\n`);
  process.stdout.write(`${result.summary}\n`);
  const missed = result.checks.filter((c) => !c.ok).map((c) => c.name);
  if (missed.length > 0) process.stderr.write(`simulate: target${missed.length > 1 ? 's' : ''} missed: ${missed.join(', ')}${args.check ? '' : ' (--no-check)'}\n`);
  return !args.check || result.ok ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`simulate: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 2;
  });
}
