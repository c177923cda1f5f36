import { App } from 'cdktf';
import { AppConfig } from './config/schema';
import { LogRescueStack } from './stacks/log-rescue-stack';
import { SessionLogsStack } from './stacks/session-logs-stack';

/** Every stack the config enables, in one cdktf App. Nothing is written until `app.synth()`. */
export function buildApp(config: AppConfig, opts: { outdir?: string } = {}): App {
  const app = new App({ outdir: opts.outdir, skipValidation: false });
  if (config.logRescue.enabled) new LogRescueStack(app, config);
  if (config.sessionLogs.enabled) new SessionLogsStack(app, config);
  return app;
}
