/**
 * The address rule (modules/shared/addresses.ts) on bare stacks: named() gives a resource, data
 * source or remote state its readable address `<type>.<name>` and, in a stack that requireNamed()
 * gave the old hashed addresses, the `moved` block from there; retainIfRemoved() forgets rather than
 * destroys at both addresses; addressProblems() names what breaks the contract; named() refuses a
 * bad or twice-declared name. That the app's stacks hold to it is in __tests__/addresses.test.ts.
 * @lane unit
 */
import { App, DataTerraformRemoteStateLocal, TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { synthBare } from '../../support/bare-stack';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { addressName, addressProblems, named, requireNamed, retainIfRemoved } from '../../../modules/shared/addresses';

function stack(id = 's'): TerraformStack {
  const s = new TerraformStack(Testing.app() as App, id);
  new AwsProvider(s, 'aws', { region: 'us-east-1' });
  return s;
}


describe('addressName', () => {
  it.each([
    ['web-fleet', 'web_fleet'],
    ['Web Fleet (prod)', 'web_fleet_prod'],
    ['us-east-1a', 'us_east_1a'],
    ['--edge--', 'edge'],
    ['a__b', 'a_b'],
    // An address name starts with a letter.
    ['1st-fleet', 'n_1st_fleet'],
    ['_private', 'private'],
  ])('%s -> %s', (raw, name) => {
    expect(addressName(raw)).toBe(name);
  });
});

describe('named', () => {
  it('gives a resource, a data source and a remote state their readable addresses, whatever their construct ids', () => {
    const s = stack();
    named(new SqsQueue(s, 'some-construct-id', { name: 'acme-events' }), 'events');
    named(new DataAwsRegion(s, 'another-id'), 'current');
    named(new DataTerraformRemoteStateLocal(s, 'state-id', { path: 'network.tfstate' }), 'network');
    const json = synthBare(s);
    expect(Object.keys(json.resource!.aws_sqs_queue)).toEqual(['events']);
    expect(json.resource!.aws_sqs_queue.events.name).toBe('acme-events');
    expect(Object.keys(json.data!.aws_region)).toEqual(['current']);
    expect(Object.keys(json.data!.terraform_remote_state)).toEqual(['network']);
    expect(addressProblems(s)).toEqual([]);
  });

  it('returns the element, so references to it use the readable address', () => {
    const s = stack();
    const queue = named(new SqsQueue(s, 'q', {}), 'dead_letters');
    new TerraformOutput(s, 'arn', { value: queue.arn });
    expect(synthBare(s).output!.arn.value).toBe('${aws_sqs_queue.dead_letters.arn}');
  });

  it('refuses what has no address, naming its construct path', () => {
    const s = stack();
    expect(() => named(new TerraformOutput(s, 'out', { value: 'x' }) as never, 'out')).toThrow('s/out is not a resource or data source: it has no address to name');
  });

  it('each stack has its own addresses: the same name in two stacks is two addresses', () => {
    const app = Testing.app() as App;
    const [a, b] = ['a', 'b'].map((id) => new TerraformStack(app, id));
    named(new SqsQueue(a, 'q', {}), 'events');
    expect(() => named(new SqsQueue(b, 'q', {}), 'events')).not.toThrow();
  });

  it('in a stack given its old addresses (requireNamed): a moved block from the old address, only for that resource', () => {
    const s = stack();
    requireNamed(s, new Map([['aws_sqs_queue.events', 'aws_sqs_queue.events_queue_1A2B3C4D']]));
    named(new SqsQueue(s, 'q', {}), 'events');
    named(new SqsQueue(s, 'other', {}), 'dead_letters');
    expect(synthBare(s).moved).toEqual([{ from: 'aws_sqs_queue.events_queue_1A2B3C4D', to: 'aws_sqs_queue.events' }]);
  });

  it('without old addresses: no moved block', () => {
    const s = stack();
    named(new SqsQueue(s, 'q', {}), 'events');
    expect(synthBare(s).moved).toBeUndefined();
  });
});

describe('retainIfRemoved', () => {
  it('a removed block (destroy = false) at the readable address, and at the old hashed one when the stack had it', () => {
    const s = stack();
    requireNamed(s, new Map([['aws_kms_key.archive', 'aws_kms_key.archive_key_26435480']]));
    retainIfRemoved(s, 'aws_kms_key', 'archive');
    retainIfRemoved(s, 'aws_s3_bucket_object_lock_configuration', 'archive');
    expect(synthBare(s).removed).toEqual([
      { from: 'aws_kms_key.archive', lifecycle: { destroy: false } },
      { from: 'aws_kms_key.archive_key_26435480', lifecycle: { destroy: false } },
      { from: 'aws_s3_bucket_object_lock_configuration.archive', lifecycle: { destroy: false } },
    ]);
    expect(addressProblems(s)).toEqual([]);
  });

  it('refuses an address a resource of the stack holds, naming both', () => {
    const s = stack();
    named(new SqsQueue(s, 'q', {}), 'events');
    expect(() => retainIfRemoved(s, 'aws_sqs_queue', 'events'))
      .toThrow('Terraform address aws_sqs_queue.events is declared twice in stack s: by s/q and by s (removed)');
  });

  it('refuses a name that is not a readable address', () => {
    expect(() => retainIfRemoved(stack(), 'aws_kms_key', 'Archive-Key')).toThrow('Terraform address aws_kms_key.Archive-Key (s (removed)): the name must match /^[a-z][a-z0-9_]*$/');
  });
});

describe('addressProblems', () => {
  it('names every resource and data source left without a name, by construct path', () => {
    const s = stack();
    named(new SqsQueue(s, 'named', {}), 'events');
    new SqsQueue(s, 'stray', {});
    new DataAwsRegion(s, 'region');
    const advice = 'has no readable Terraform address: declare one with named() where it is made (modules/shared/addresses.ts)';
    expect(addressProblems(s)).toEqual([`s/stray ${advice}`, `s/region ${advice}`]);
  });

  it('names a removed block for an address a moved block names too', () => {
    const s = stack();
    named(new SqsQueue(s, 'spare', {}), 'spare').moveFromId('aws_sqs_queue.old_spare');
    retainIfRemoved(s, 'aws_sqs_queue', 'old_spare');
    expect(addressProblems(s)).toEqual(['removed block for aws_sqs_queue.old_spare names an address a moved block names too']);
  });
});

describe('named()', () => {
  it('refuses a name declared twice, naming both constructs', () => {
    const s = stack();
    named(new SqsQueue(s, 'first', {}), 'events');
    expect(() => named(new SqsQueue(s, 'second', {}), 'events'))
      .toThrow('Terraform address aws_sqs_queue.events is declared twice in stack s: by s/first and by s/second');
  });

  it('refuses a name Terraform or a reader would stumble on', () => {
    expect(() => named(new SqsQueue(stack(), 'q', {}), 'Events-1')).toThrow(/aws_sqs_queue.Events-1 \(s\/q\): the name must match/);
  });

  it('the same name on another type is another address', () => {
    const s = stack();
    named(new SqsQueue(s, 'q', {}), 'events');
    named(new SnsTopic(s, 'x', {}), 'events');
    named(new DataAwsRegion(s, 'r'), 'events');
    const json = synthBare(s);
    expect([Object.keys(json.resource!.aws_sqs_queue), Object.keys(json.resource!.aws_sns_topic), Object.keys(json.data!.aws_region)])
      .toEqual([['events'], ['events'], ['events']]);
  });
});
