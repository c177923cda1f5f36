import { Construct } from 'constructs';
import { DataTerraformRemoteState, DataTerraformRemoteStateLocal, DataTerraformRemoteStateS3, Fn, TerraformRemoteState } from 'cdktf';
import { AppConfig, FromRemoteState } from '../../config/schema';
import { named, addressName } from './addresses';

/**
 * Reads outputs of other teams' states (`terraform_remote_state`). A data source is created only
 * for states the stack actually reads, so an unused entry costs nothing at plan time.
 */
export interface RemoteStatesProps {
  /** The other states the stack may read, by name (config `remoteStates`). */
  readonly states: AppConfig['remoteStates'];
}

export class RemoteStates extends Construct {
  /** What each name refers to: kept, since the data source is made on the first read. */
  private readonly declared: AppConfig['remoteStates'];
  private readonly sources = new Map<string, TerraformRemoteState>();

  constructor(scope: Construct, id: string, props: RemoteStatesProps) {
    super(scope, id);
    this.declared = props.states;
  }

  private source(name: string): TerraformRemoteState {
    const existing = this.sources.get(name);
    if (existing) return existing;
    const c = this.declared[name];
    if (!c) throw new Error(`remoteStates.${name} is not declared`);
    let source: TerraformRemoteState;
    switch (c.type) {
      case 's3':
        source = named(new DataTerraformRemoteStateS3(this, name, {
          bucket: c.bucket, key: c.key, region: c.region,
          assumeRole: c.roleArn ? { roleArn: c.roleArn } : undefined,
        }), addressName(name));
        break;
      case 'cloud':
        source = named(new DataTerraformRemoteState(this, name, {
          organization: c.organization, hostname: c.hostname, workspaces: { name: c.workspace },
        }), addressName(name));
        break;
      case 'local':
        source = named(new DataTerraformRemoteStateLocal(this, name, { path: c.path }), addressName(name));
        break;
    }
    this.sources.set(name, source);
    return source;
  }

  /** The output as a Terraform expression (string, list or map, as the other state has it). */
  output(ref: FromRemoteState): string {
    return this.source(ref.state).getString(ref.output);
  }

  /** A string or list output as a list of strings. */
  list(ref: FromRemoteState): string[] {
    return Fn.flatten([this.source(ref.state).get(ref.output)]) as unknown as string[];
  }
}
