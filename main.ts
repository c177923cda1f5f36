import { ConfigError, loadConfig } from './config/load';
import { buildApp } from './app';

// Validate everything before constructing anything, so a bad config writes nothing.
try {
  buildApp(loadConfig()).synth();
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
