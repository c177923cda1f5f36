/**
 * Proves the timing rules everything else derives from (handlers/log-rescue/timing.ts): the
 * look-again bound and delay, when a command needs a heartbeat first, and that the config schema
 * takes its ranges and margin from the same place the handler does.
 * @lane unit
 */
import { parseConfig } from '../../../config/load';
import {
  EXECUTION_TO_HEARTBEAT_MARGIN_SECONDS, ONLINE_WAIT_SECONDS,
  lookAgainBoundMs, lookAgainDelaySeconds, needsHeartbeat, rescueQueueVisibilitySeconds,
} from '../../../handlers/log-rescue/timing';

test.each([
  // onlineWait, looking again, bound: a visibility timeout (130 s at 20 s), plus the wait and one interval for a look again
  [20, false, 130_000],
  [20, true, 130_000 + 20_000 + 5_000],
  [0, false, 110_000],
  [60, true, 170_000 + 60_000 + 5_000],
])('look-again bound with a %i s wait (looking again: %s) is %i ms', (wait, again, bound) => {
  expect(lookAgainBoundMs(wait, again)).toBe(bound);
  expect(rescueQueueVisibilitySeconds(wait) * 1000).toBeLessThanOrEqual(bound);
});

test.each([
  [20_000, 5], [5_000, 5], [4_001, 5], [4_000, 4], [1, 1], [0, 1], [-3, 1],
])('%i ms left of the wait looks again after %i s', (left, seconds) => {
  expect(lookAgainDelaySeconds(left)).toBe(seconds);
});

test.each([
  // elapsed, execution, heartbeat, needed: elapsed + execution + margin (60) past the heartbeat
  [0, 600, 900, false],
  [240, 600, 900, false],
  [241, 600, 900, true],
  [0, 840, 900, false],
  [1, 840, 900, true],
])('a command %i s after its event (execution %i s, heartbeat %i s) needs a heartbeat: %s', (elapsed, execution, heartbeat, needed) => {
  expect(needsHeartbeat(elapsed, execution, heartbeat)).toBe(needed);
});

test('the config schema refuses an execution timeout within the margin of the heartbeat, and a wait out of range', () => {
  const at = (execution: number, onlineWait: number) => {
    try {
      parseConfig({ project: 'logrescue', environment: 'dev', owner: 'platform-team', region: 'us-east-1', backend: { type: 'local' }, sessionLogs: {}, logRescue: { autoScalingGroups: ['web'], lifecycleHook: { heartbeatTimeoutSeconds: 900 }, command: { executionTimeoutSeconds: execution }, handler: { onlineWaitSeconds: onlineWait } } });
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  };
  expect(at(900 - EXECUTION_TO_HEARTBEAT_MARGIN_SECONDS, ONLINE_WAIT_SECONDS.max)).toBe('ok');
  expect(at(900 - EXECUTION_TO_HEARTBEAT_MARGIN_SECONDS + 1, ONLINE_WAIT_SECONDS.min)).toMatch(/executionTimeoutSeconds/);
  expect(at(600, ONLINE_WAIT_SECONDS.max + 1)).toMatch(/onlineWaitSeconds/);
});
