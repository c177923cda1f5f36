/**
 * Moving or renaming a construct must not change an address: with every construct id inside every
 * stack renamed (what a refactor of the construct tree does), the stacks still have exactly the
 * committed golden addresses, and the same moved blocks.
 *
 * @lane synth
 */
jest.mock('constructs', () => {
  const real = jest.requireActual('constructs');
  class Construct extends real.Construct {
    constructor(scope: any, id: string) {
      // Stacks (children of the app) keep their names; everything below them is renamed, except
      // the frozen old paths stacks/legacy-addresses.ts rebuilds to compute the old addresses.
      const frozen = scope?.node?.scopes?.some((s: any) => s.node.id === 'frozen-legacy-paths');
      super(scope, scope?.node?.scope && !frozen ? `refactored-${id}` : id);
    }
  }
  return { ...real, Construct };
});

import { addressesOf, contractConfig, differences, readGolden } from '../scripts/addresses';
import { ADDRESS_CONFIGS } from '../scripts/addresses/configs';
import { synthStacks } from './support/synth';

describe('addresses do not depend on construct ids', () => {
  it('renames really happened', () => {
    const s = synthStacks(contractConfig('default'))['log-rescue'];
    expect(s.resource!.aws_s3_bucket.archive['//'].metadata.path).toBe('log-rescue/refactored-archive/refactored-bucket');
  });

  it.each(Object.keys(ADDRESS_CONFIGS) as Array<keyof typeof ADDRESS_CONFIGS>)('%s config: the golden list holds', (name) => {
    expect(differences(readGolden(name), addressesOf(contractConfig(name)))).toEqual([]);
    const moved = synthStacks(contractConfig(name))['log-rescue'].moved as Array<{ from: string; to: string }>;
    expect(moved).toContainEqual({ from: 'aws_s3_bucket.archive_bucket_B42367AB', to: 'aws_s3_bucket.archive' });
  });
});
