/**
 * Proves the rescue's decisions (handlers/log-rescue/decisions.ts) as tables, without mocks: for
 * each kind of event, what was read in (the event, the settings, what AWS answered, the clock)
 * and the decision out (send, look again through the queue with a delay, release with a reason,
 * ignore with a reason, retry later, reject).
 * @lane unit
 */
import {
  alreadySent, commandStatusScope, countFinished, decideLook, invocationCommand, invocationScope, lifecycleScope, needsReleasedCheck,
  notRescuedReasonOf, spotScope, stillHeld, type AgentLook, type LookInput, type Scope,
} from '../../../handlers/log-rescue/decisions';

const SCOPE: Scope = { documentName: 'logrescue-dev-rescue-logs', asgNames: ['web-asg', 'api asg'], hookName: 'log-rescue', onlineWaitSeconds: 20 };
const T0 = Date.parse('2026-11-20T22:30:00Z');
const s = (seconds: number) => T0 + seconds * 1000;
const ONLINE: AgentLook = { managed: true, pingStatus: 'Online', platformType: 'Linux' };
const LOST: AgentLook = { managed: true, pingStatus: 'ConnectionLost', platformType: 'Linux' };
const UNMANAGED: AgentLook = { managed: false };
const PARAMS = { asgName: ['web-asg'], hookName: ['log-rescue'], trigger: ['lifecycle'], eventTime: ['20261120T223000Z'] };

describe('lifecycle action: in scope', () => {
  test.each([
    ['a configured group and hook', { asgName: 'web-asg', hookName: 'log-rescue' }, undefined],
    ['a group with a space', { asgName: 'api asg', hookName: 'log-rescue' }, undefined],
    ['another group', { asgName: 'batch-asg', hookName: 'log-rescue' }, { kind: 'ignore', reason: 'asg-not-configured' }],
    ['another hook', { asgName: 'web-asg', hookName: 'other' }, { kind: 'ignore', reason: 'hook-not-configured', detail: { hookName: 'other' } }],
  ])('%s', (_, e, decision) => {
    expect(lifecycleScope(e, SCOPE)).toEqual(decision);
  });
});

describe('a look at the agent', () => {
  const first = (agent: AgentLook, more: Partial<LookInput> = {}): LookInput => ({
    agent, trigger: 'lifecycle', eventTimeMs: T0, answeredAt: s(1), now: s(1), ...more,
  });
  test.each<[string, LookInput, ReturnType<typeof decideLook>]>([
    ['Online: send', first(ONLINE), { kind: 'send' }],
    ['Online on Windows: released at once, not rescued', first({ managed: true, pingStatus: 'Online', platformType: 'Windows' }),
      { kind: 'release', reason: 'unsupported-platform', detail: { platformType: 'Windows' } }],
    ['offline on macOS: released at once too', first({ managed: true, pingStatus: 'ConnectionLost', platformType: 'MacOS' }),
      { kind: 'release', reason: 'unsupported-platform', detail: { platformType: 'MacOS' } }],
    ['not Online, first look, still held: back to the queue in 5 s, the wait clock from this answer', first(LOST, { lifecycleState: 'Terminating:Wait' }),
      { kind: 'requeue', delaySeconds: 5, waitStartedAt: s(1) }],
    ['not Online, first look, already released (Terminating:Proceed)', first(LOST, { lifecycleState: 'Terminating:Proceed' }),
      { kind: 'ignore', reason: 'already-released', detail: { lifecycleState: 'Terminating:Proceed' } }],
    ['not managed, first look, not listed by Auto Scaling', first(UNMANAGED, { lifecycleState: null }),
      { kind: 'ignore', reason: 'already-released', detail: { lifecycleState: 'not listed' } }],
    ['not Online, a state this code does not know: the normal path', first(LOST, { lifecycleState: 'Pending:Wait' }),
      { kind: 'requeue', delaySeconds: 5, waitStartedAt: s(1) }],
    ['a look again 17 s into the wait: 3 s left, back in 3 s', first(LOST, { waitStartedAt: s(1), answeredAt: s(18), now: s(18) }),
      { kind: 'requeue', delaySeconds: 3, waitStartedAt: s(1) }],
    ['a look again when the wait is over: released offline', first(LOST, { waitStartedAt: s(1), answeredAt: s(21), now: s(21) }),
      { kind: 'release', reason: 'offline' }],
    ['a look again, not managed, wait over: released not-managed', first(UNMANAGED, { waitStartedAt: s(1), answeredAt: s(21), now: s(21) }),
      { kind: 'release', reason: 'not-managed' }],
    ['a first look answered after a minute of throttling: the wait starts at the answer', first(LOST, { lifecycleState: 'Terminating:Wait', answeredAt: s(60), now: s(60) }),
      { kind: 'requeue', delaySeconds: 5, waitStartedAt: s(60) }],
    ['a first look more than a visibility timeout (130 s) after the event: released at once', first(LOST, { lifecycleState: 'Terminating:Wait', answeredAt: s(131), now: s(131) }),
      { kind: 'release', reason: 'offline' }],
    ['a look again within the bound (130 + 20 + 5 s)', first(LOST, { waitStartedAt: s(150), answeredAt: s(155), now: s(155) }),
      { kind: 'requeue', delaySeconds: 5, waitStartedAt: s(150) }],
    ['a look again past the bound, whatever its clock says', first(LOST, { waitStartedAt: s(150), answeredAt: s(156), now: s(156) }),
      { kind: 'release', reason: 'offline' }],
    ['a wait clock from the future counts from the answer', first(LOST, { waitStartedAt: s(40), answeredAt: s(10), now: s(10) }),
      { kind: 'requeue', delaySeconds: 5, waitStartedAt: s(10) }],
    ['Spot, not Online: no wait (two minutes in all), released offline', { agent: LOST, trigger: 'spot', answeredAt: s(1), now: s(1) },
      { kind: 'release', reason: 'offline' }],
    ['Spot, not managed', { agent: UNMANAGED, trigger: 'spot', answeredAt: s(1), now: s(1) }, { kind: 'release', reason: 'not-managed' }],
  ])('%s', (_, input, decision) => {
    expect(decideLook(input, SCOPE.onlineWaitSeconds)).toEqual(decision);
  });

  test('no online wait configured: a first look not Online is released at once', () => {
    expect(decideLook(first(LOST, { lifecycleState: 'Terminating:Wait' }), 0)).toEqual({ kind: 'release', reason: 'offline' });
  });

  test.each<[string, Parameters<typeof needsReleasedCheck>[0], boolean]>([
    ['lifecycle, first look, not Online', { agent: LOST, trigger: 'lifecycle' }, true],
    ['lifecycle, first look, not managed', { agent: UNMANAGED, trigger: 'lifecycle' }, true],
    ['lifecycle, Online', { agent: ONLINE, trigger: 'lifecycle' }, false],
    ['lifecycle, a look again', { agent: LOST, trigger: 'lifecycle', waitStartedAt: s(1) }, false],
    ['lifecycle, another platform (released anyway)', { agent: { managed: true, pingStatus: 'ConnectionLost', platformType: 'Windows' }, trigger: 'lifecycle' }, false],
    ['Spot', { agent: LOST, trigger: 'spot' }, false],
  ])('the lifecycle state is read first: %s -> %s', (_, input, needed) => {
    expect(needsReleasedCheck(input)).toBe(needed);
  });

  test.each([
    ['none listed: send', undefined, undefined],
    ['one listed: ignore, naming it', { commandId: 'c-1', status: 'InProgress' },
      { kind: 'ignore', reason: 'already-sent', detail: { commandId: 'c-1', commandStatus: 'InProgress', trigger: 'lifecycle' } }],
  ])('a command already sent for this rescue: %s', (_, sent, decision) => {
    expect(alreadySent(sent, 'lifecycle')).toEqual(decision);
  });
});

describe('Spot warning: by what Auto Scaling lists of the instance', () => {
  test.each([
    ['in a configured group, InService: rescue', { asgName: 'web-asg', state: 'InService' }, { kind: 'rescue', asgName: 'web-asg' }],
    ['not listed', undefined, { kind: 'ignore', reason: 'not-in-configured-group' }],
    ['in another group', { asgName: 'batch-asg', state: 'InService' }, { kind: 'ignore', reason: 'not-in-configured-group', detail: { asgName: 'batch-asg' } }],
    ['already terminating: the lifecycle hook handles it', { asgName: 'web-asg', state: 'Terminating:Wait' },
      { kind: 'ignore', reason: 'lifecycle-hook-handles-it', detail: { lifecycleState: 'Terminating:Wait' } }],
  ])('%s', (_, member, decision) => {
    expect(spotScope(member, SCOPE)).toEqual(decision);
  });
});

describe('invocation status: one instance\'s copy finished', () => {
  test.each([
    ['ours, terminal', { documentName: SCOPE.documentName, terminal: true, status: 'Success' }, undefined],
    ['another document', { documentName: 'AWS-RunShellScript', terminal: true, status: 'Success' },
      { kind: 'ignore', reason: 'other-document', detail: { documentName: 'AWS-RunShellScript' } }],
    ['not finished yet', { documentName: SCOPE.documentName, terminal: false, status: 'InProgress' },
      { kind: 'ignore', reason: 'not-terminal', detail: { status: 'InProgress' } }],
  ])('%s', (_, e, decision) => {
    expect(invocationScope(e, SCOPE)).toEqual(decision);
  });

  test.each([
    ['not listed by SSM', null, { kind: 'ignore', reason: 'unknown-command', detail: { commandId: 'c-1' } }],
    ['listed, another document', { documentName: 'AWS-RunShellScript', parameters: {} },
      { kind: 'ignore', reason: 'other-document', detail: { documentName: 'AWS-RunShellScript' } }],
    ['ours, parameters not a rescue\'s', { documentName: SCOPE.documentName, parameters: { asgName: ['web-asg'] } }, { kind: 'reject', reason: expect.any(String) }],
    ['ours, another group', { documentName: SCOPE.documentName, parameters: { ...PARAMS, asgName: ['batch-asg'] } },
      { kind: 'ignore', reason: 'asg-not-configured', detail: { asgName: 'batch-asg' } }],
    ['ours: finish it', { documentName: SCOPE.documentName, parameters: PARAMS },
      { kind: 'finish', params: { asgName: 'web-asg', hookName: 'log-rescue', trigger: 'lifecycle', eventTime: '20261120T223000Z' } }],
  ])('its command %s', (_, command, decision) => {
    expect(invocationCommand(command, 'c-1', SCOPE)).toEqual(decision);
  });

  test.each<[string, string, number[] | undefined, string | undefined]>([
    ['Success', 'Success', undefined, undefined],
    ['Failed, exit 66 (nothing collected)', 'Failed', [66], 'nothing-collected'],
    ['Failed, exit 1', 'Failed', [1], 'command-failed'],
    ['Failed, exit code unknown', 'Failed', [], 'command-failed'],
    ['TimedOut with exit 66 (only Failed means the script said so)', 'TimedOut', [66], 'command-timedout'],
    ['DeliveryTimedOut', 'DeliveryTimedOut', undefined, 'command-deliverytimedout'],
  ])('not rescued reason of %s', (_, status, codes, reason) => {
    expect(notRescuedReasonOf(status, codes)).toBe(reason);
  });

  test.each([
    ['completed, Success: rescued', 'Success', 'completed', { kind: 'count', rescued: true }],
    ['completed, Failed 66', 'Failed', 'completed', { kind: 'count', rescued: false, reason: 'nothing-collected' }],
    ['Spot (nothing to complete), Success', 'Success', 'none', { kind: 'count', rescued: true }],
    ['already completed: another delivery counted it', 'Success', 'already-completed',
      { kind: 'ignore', reason: 'already-counted', detail: { trigger: 'lifecycle', commandId: 'c-1', status: 'Success' } }],
  ] as const)('counted: %s', (_, status, completion, decision) => {
    expect(countFinished({ status, responseCodes: [66], trigger: 'lifecycle', commandId: 'c-1' }, completion)).toEqual(decision);
  });
});

describe('command status: the backstop', () => {
  const status = (more: Record<string, unknown> = {}) => ({
    documentName: SCOPE.documentName, terminal: true, status: 'Success', commandId: 'c-1', parameters: PARAMS, timeMs: s(72), ...more,
  });
  test.each([
    ['another document', status({ documentName: 'x-doc' }), s(200), { kind: 'ignore', reason: 'other-document', detail: { documentName: 'x-doc' } }],
    ['not terminal', status({ terminal: false, status: 'InProgress' }), s(200), { kind: 'ignore', reason: 'not-terminal', detail: { status: 'InProgress' } }],
    ['parameters not a rescue\'s', status({ parameters: {} }), s(200), { kind: 'reject', reason: expect.any(String) }],
    ['another group', status({ parameters: { ...PARAMS, asgName: ['batch-asg'] } }), s(200),
      { kind: 'ignore', reason: 'asg-not-configured', detail: { asgName: 'batch-asg' } }],
    ['a Spot rescue', status({ parameters: { ...PARAMS, trigger: ['spot'], hookName: ['none'] } }), s(200),
      { kind: 'ignore', reason: 'counted-per-invocation', detail: { asgName: 'web-asg', commandId: 'c-1', status: 'Success' } }],
    ['59 s old: retry later', status(), s(72 + 59), { kind: 'retry-later', detail: 'command status 59 s old; the backstop acts from 60 s' }],
    ['60 s old: act', status(), s(72 + 60),
      { kind: 'backstop', params: { asgName: 'web-asg', hookName: 'log-rescue', trigger: 'lifecycle', eventTime: '20261120T223000Z' } }],
  ])('%s', (_, e, now, decision) => {
    expect(commandStatusScope(e, SCOPE, now)).toEqual(decision);
  });

  test('releases only the instances their lifecycle actions still hold', () => {
    const states: Record<string, string> = { 'i-a': 'Terminating:Wait', 'i-b': 'Terminated', 'i-c': 'Warmed:Terminating:Wait', 'i-d': 'Terminating:Proceed' };
    expect(stillHeld(['i-a', 'i-b', 'i-c', 'i-d', 'i-e'], (id) => states[id])).toEqual(['i-a', 'i-c']);
  });
});
