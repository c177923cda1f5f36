/**
 * RemoteStates on a bare stack: other teams' states (s3, cloud, local) read through
 * `terraform_remote_state`, one data source per state and only for states the stack reads, at the
 * state's name; outputs as expressions, string-or-list outputs as lists; an undeclared state named.
 * @lane unit
 */
import { TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { synthBare } from '../../support/bare-stack';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { StackJson } from '../../support/stack-json';
import { RemoteStates, RemoteStatesProps } from '../../../modules/shared/remote-states';

const STATES: RemoteStatesProps['states'] = {
  network: { type: 's3', bucket: 'acme-tf-state', key: 'network/prod.tfstate', region: 'eu-west-1' },
  shared_vpc: { type: 's3', bucket: 'acme-tf-state', key: 'vpc.tfstate', region: 'us-east-1', roleArn: 'arn:aws:iam::111122223333:role/state-reader' },
  fleet: { type: 'cloud', organization: 'acme', hostname: 'tfe.acme.example', workspace: 'fleet-prod' },
  archive: { type: 'local', path: '../../../terraform.archive.tfstate' },
};

/** RemoteStates over STATES (construct id `remote-state`) on a bare stack, with what `read` returns as outputs. */
function synth(read: (r: RemoteStates) => Record<string, unknown> = () => ({})): StackJson {
  const stack = new TerraformStack(Testing.app(), 'bare');
  new AwsProvider(stack, 'aws', { region: 'us-east-1' });
  const remote = new RemoteStates(stack, 'remote-state', { states: STATES });
  for (const [k, v] of Object.entries(read(remote))) new TerraformOutput(stack, k, { value: v });
  return synthBare(stack);
}

const sources = (s: StackJson) => s.data?.terraform_remote_state ?? {};
const outputs = (s: StackJson) => Object.fromEntries(Object.entries(s.output ?? {}).map(([k, o]) => [k, o.value]));

describe('RemoteStates', () => {
  it('reads no state the stack does not use: nothing to plan for an unused entry', () => {
    expect(sources(synth())).toEqual({});
  });

  it('an s3 state: its bucket, key and region, and the role to read it with when given', () => {
    const s = synth((r) => ({
      vpc: r.output({ state: 'network', output: 'vpc_id' }),
      shared: r.output({ state: 'shared_vpc', output: 'vpc_id' }),
    }));
    expect(Object.keys(sources(s)).sort()).toEqual(['network', 'shared_vpc']);
    expect(sources(s).network).toMatchObject({ backend: 's3', config: { bucket: 'acme-tf-state', key: 'network/prod.tfstate', region: 'eu-west-1' } });
    expect(sources(s).network.config.assume_role).toBeUndefined();
    expect(sources(s).shared_vpc).toMatchObject({
      backend: 's3',
      config: { bucket: 'acme-tf-state', key: 'vpc.tfstate', region: 'us-east-1', assume_role: { role_arn: 'arn:aws:iam::111122223333:role/state-reader' } },
    });
    expect(outputs(s)).toEqual({
      vpc: '${data.terraform_remote_state.network.outputs.vpc_id}',
      shared: '${data.terraform_remote_state.shared_vpc.outputs.vpc_id}',
    });
  });

  it('a cloud state: its organization, hostname and workspace; a local state: its path', () => {
    const s = synth((r) => ({ group: r.output({ state: 'fleet', output: 'group_name' }), key: r.output({ state: 'archive', output: 'kms_key_arn' }) }));
    expect(sources(s).fleet).toMatchObject({ backend: 'remote', config: { organization: 'acme', hostname: 'tfe.acme.example', workspaces: { name: 'fleet-prod' } } });
    expect(sources(s).archive).toMatchObject({ backend: 'local', config: { path: '../../../terraform.archive.tfstate' } });
    expect(outputs(s)).toEqual({
      group: '${data.terraform_remote_state.fleet.outputs.group_name}',
      key: '${data.terraform_remote_state.archive.outputs.kms_key_arn}',
    });
  });

  it('one data source per state, however many of its outputs are read', () => {
    const s = synth((r) => ({
      vpc: r.output({ state: 'network', output: 'vpc_id' }),
      cidr: r.output({ state: 'network', output: 'vpc_cidr' }),
      subnets: r.list({ state: 'network', output: 'private_subnet_ids' }),
    }));
    expect(Object.keys(sources(s))).toEqual(['network']);
    expect(outputs(s).cidr).toBe('${data.terraform_remote_state.network.outputs.vpc_cidr}');
  });

  it('list: a string or list output as a list of strings', () => {
    const s = synth((r) => ({ subnets: r.list({ state: 'network', output: 'private_subnet_ids' }), cidrs: r.list({ state: 'fleet', output: 'vpc_cidr' }) }));
    expect(outputs(s)).toEqual({
      subnets: '${flatten([data.terraform_remote_state.network.outputs.private_subnet_ids])}',
      cidrs: '${flatten([data.terraform_remote_state.fleet.outputs.vpc_cidr])}',
    });
  });

  it('refuses a state that is not declared, naming it', () => {
    expect(() => synth((r) => ({ x: r.output({ state: 'networks', output: 'vpc_id' }) }))).toThrow('remoteStates.networks is not declared');
    expect(() => synth((r) => ({ x: r.list({ state: 'other', output: 'ids' }) }))).toThrow('remoteStates.other is not declared');
  });
});
