import { Construct } from 'constructs';
import { DataTerraformRemoteState, DataTerraformRemoteStateLocal, DataTerraformRemoteStateS3, Fn, TerraformRemoteState } from 'cdktf';
import { AppConfig, FromRemoteState } from '../../config/schema';
import { named, addressName } from './addresses';

/**
 * Reads outputs of other teams' states (`terraform_remote_state`). A data source is created only
 * for states the stack actually reads, so an unused entry costs nothing at plan time.
 */
export class RemoteStates extends Construct {
  private readonly sources = new Map<string, TerraformRemoteState>();

  constructor(scope: Construct, id: string, private readonly config: AppConfig['remoteStates']) {
    super(scope, id);
  }

  private source(name: string): TerraformRemoteState {
    const existing = this.sources.get(name);
    if (existing) return existing;
    const c = this.config[name];
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
