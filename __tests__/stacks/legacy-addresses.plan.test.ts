/**
 * stacks/legacy-addresses.ts, planned: the `moved` blocks it gives each stack migrate deployments
 * made before readable addresses without a destroy. The fixtures are the
 * states the stacks had at commit 983b22a (the last with hashed addresses), for the default config
 * and for every optional part on, built offline from a plan of that code
 * (__tests__/support/offline-state.ts). Planning today's code against them (-refresh=false) must
 * only move: nothing created, destroyed, replaced or forgotten, every old address moved to its
 * readable one, and an in-place update only where listed below.
 *
 * @lane plan
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { contractConfig } from '../../scripts/addresses';
import { renderMarkdown, summarizePlan } from '../../scripts/plan-summary';
import { useOfflineTerraform } from '../support/plan';
import { startSsmStandIn } from '../support/ssm-standin';

const plan = useOfflineTerraform();
const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(path.join(__dirname, '../fixtures/addresses', `states-before-readable-addresses.${name}.json`), 'utf8'));

/**
 * Updates that are not about addresses: values changed on purpose since 983b22a (the rescue
 * script, the handler's code), in place, with why. The migration itself changes no value, so this
 * is empty as long as the sources are those of 983b22a; a later change to them adds its entry here.
 */
const UPDATES_ON_PURPOSE: Record<string, string> = {
  'aws_lambda_function.handler': 'the handler\'s code changed after 983b22a (its contract module, then its decision core): new code hash',
};

/** Resources added since 983b22a: a create, never in place of anything (the moves show that). */
const CREATES_ON_PURPOSE: Record<string, string> = {
  'aws_cloudwatch_dashboard.overview': 'issue 19: a dashboard per stack, on by default',
};

describe.each(['default', 'all-on'] as const)('migrating %s deployments to readable addresses', (name) => {
  let plans: Record<string, any>;
  let ssm: Awaited<ReturnType<typeof startSsmStandIn>> | undefined;
  let states: Record<string, any>;

  beforeAll(async () => {
    states = fixture(name);
    // Adopt mode imports SSM-SessionManagerRunShell; the moved document is already in the state,
    // so no import happens, but the provider is pointed at the stand-in all the same.
    ssm = name === 'all-on' ? await startSsmStandIn(true) : undefined;
    plans = await plan(contractConfig(name), {
      states,
      extraFiles: ssm ? (sts) => ({ 'zzz_ssm_stand_in_override.tf.json': { provider: { aws: [{ endpoints: [{ sts, ssm: ssm!.url }] }] } } }) : undefined,
    });
  }, 900_000);
  afterAll(async () => { await ssm?.close(); });

  it('plans every stack of the fixture', () => {
    expect(Object.keys(plans).sort()).toEqual(Object.keys(states).sort());
  });

  it('destroys, replaces and forgets nothing; creates and updates only what is listed', () => {
    for (const [stack, p] of Object.entries(plans)) {
      const changes = p.resource_changes.filter((r: any) => r.mode === 'managed' && r.change.actions.join() !== 'no-op');
      const unexpected = changes.filter((r: any) => !(r.change.actions.join() === 'update' && UPDATES_ON_PURPOSE[r.address])
        && !(r.change.actions.join() === 'create' && CREATES_ON_PURPOSE[r.address]));
      expect(unexpected.map((r: any) => `${stack} ${r.address}: ${r.change.actions.join('+')}`)).toEqual([]);
    }
  });

  it('moves every old address to a readable one', () => {
    for (const [stack, p] of Object.entries(plans)) {
      const before = (states[stack].resources as any[]).flatMap((r) => r.instances.map((i: any) =>
        `${r.type}.${r.name}${i.index_key === undefined ? '' : `[${JSON.stringify(i.index_key)}]`}`)).sort();
      const moves = p.resource_changes.filter((r: any) => r.mode === 'managed' && r.previous_address);
      expect(moves.map((r: any) => r.previous_address).sort()).toEqual(before);
      for (const r of moves) expect(r.address).not.toMatch(/_[0-9A-F]{8}(\[|$)/);
      expect(moves.length).toBe(p.resource_changes.filter((r: any) => r.mode === 'managed' && !CREATES_ON_PURPOSE[r.address]).length);
    }
  });

  it('plan-summary lists the moves as moves, per stack, by readable address', () => {
    for (const [stack, p] of Object.entries(plans)) {
      const summary = summarizePlan(p, stack);
      const moved = p.resource_changes.filter((r: any) => r.previous_address);
      expect(summary.moves.map((m) => `${m.from} -> ${m.to}`).sort())
        .toEqual(moved.map((r: any) => `${r.previous_address} -> ${r.address}`).sort());
      const md = renderMarkdown([summary]);
      expect(md).toContain(`## Stack \`${stack}\``);
      expect(md).toContain(`(${moved.length} moved)`);
      expect(md).toContain(`Moved (${moved.length}): only the address in the state changes, nothing in AWS`);
      for (const r of moved) {
        const line = md.split('\n').find((l) => l.startsWith(`- \`${r.previous_address}\` → \`${r.address}\``));
        expect(line).toBeDefined();
        // A pure move is not a change row; an update that comes with it is, and says it moved.
        const row = md.split('\n').find((l) => l.startsWith(`| \`${r.address}\` |`));
        if (r.change.actions.join() === 'no-op') expect(row).toBeUndefined();
        else expect(row).toContain(`moved from \`${r.previous_address}\``);
      }
      expect(md).not.toContain('Data loss');
    }
  });
});
