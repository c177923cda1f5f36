/**
 * Proves where the handler's records go in Lambda (handlers/log-rescue/output.ts): a log record
 * becomes one structured JSON line from Powertools Logger (level, message, service, its fields),
 * at the record's level; an EMF record is written as a bare JSON line, untouched, for CloudWatch
 * to extract.
 * @lane unit
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createOutput } from '../../../handlers/log-rescue/output';
import { createMetrics } from '../../../handlers/log-rescue/metrics';

function capture() {
  const lines: string[] = [];
  const grab = (chunk: unknown) => { lines.push(String(chunk)); return true; };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(grab);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(grab);
  // Built after the spies: Powertools Logger writes through a Console of its own over these streams.
  const logger = new Logger({ serviceName: 'log-rescue', persistentKeys: { stack: 'logrescue-dev-log-rescue' } });
  const written: string[] = [];
  const log = createOutput({ logger, write: (line) => { written.push(line); } });
  return { lines, written, log, restore: () => { out.mockRestore(); err.mockRestore(); } };
}

test.each([
  ['info', 'INFO'], ['warn', 'WARN'], ['error', 'ERROR'],
])('a %s record is one Powertools JSON line at %s, with its fields and no msg', (level, powertoolsLevel) => {
  const c = capture();
  try {
    c.log({ level, msg: 'event ignored', eventId: 'e-1', instanceId: 'i-0123456789abcdef0', reason: 'asg-not-configured', receive: 3 });
  } finally {
    c.restore();
  }
  expect(c.written).toEqual([]);
  expect(c.lines).toHaveLength(1);
  const line = JSON.parse(c.lines[0]);
  expect(line).toEqual({
    level: powertoolsLevel, message: 'event ignored', service: 'log-rescue', stack: 'logrescue-dev-log-rescue',
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), sampling_rate: 0,
    eventId: 'e-1', instanceId: 'i-0123456789abcdef0', reason: 'asg-not-configured', receive: 3,
  });
});

test('an EMF record is written as a bare JSON line, exactly as built, and not through the logger', () => {
  const c = capture();
  const records: object[] = [];
  createMetrics({ log: (r) => records.push(r), now: () => 1_795_213_801_000, namespace: 'LogRescue', stack: 'logrescue-dev-log-rescue' }).notRescued('offline');
  try {
    c.log(records[0]);
  } finally {
    c.restore();
  }
  expect(c.lines).toEqual([]);
  expect(c.written).toEqual([`${JSON.stringify(records[0])}\n`]);
  expect(JSON.parse(c.written[0])).toEqual({
    _aws: {
      Timestamp: 1_795_213_801_000,
      CloudWatchMetrics: [{ Namespace: 'LogRescue', Dimensions: [['Stack'], ['Stack', 'Reason']], Metrics: [{ Name: 'NotRescued', Unit: 'Count' }] }],
    },
    Stack: 'logrescue-dev-log-rescue', Reason: 'offline', NotRescued: 1,
  });
});
