/**
 * Where the handler's records go in Lambda. Log lines go through Powertools for AWS Lambda's
 * Logger (`@aws-lambda-powertools/logger`): one structured JSON line each, with `level`, `message`,
 * `timestamp` and `service`, and the line's own fields. EMF records (metrics.ts) go to stdout as
 * bare JSON lines, because CloudWatch extracts EMF only from a bare JSON line. Both bypass the
 * runtime's global console, which prefixes (text log format) or wraps (JSON log format) each line.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

/** The sink of `RescueDeps.log`: a record `{ level, msg, ...fields }`, or an EMF record (`_aws`). */
export function createOutput(deps: { logger: Pick<Logger, 'info' | 'warn' | 'error'>; write: (line: string) => void }): (record: object) => void {
  return (record) => {
    if ('_aws' in record) {
      deps.write(`${JSON.stringify(record)}\n`);
      return;
    }
    const { level, msg, ...fields } = record as { level?: unknown; msg?: unknown };
    const method = level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info';
    deps.logger[method](typeof msg === 'string' ? msg : '', fields);
  };
}
