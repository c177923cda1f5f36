import * as path from 'node:path';
import { CloudBackend, LocalBackend, NamedCloudWorkspace, S3Backend, TerraformStack } from 'cdktf';
import { AppConfig } from '../../config/schema';

/**
 * Terraform runs a stack from `cdktf.out/stacks/<stack>`; a local state path relative to that
 * directory lands in the project root (or the configured directory) on every machine alike.
 */
const STACK_DIR_TO_PROJECT = '../../..';

export function workspaceName(config: AppConfig, stackName: string): string {
  if (config.backend.type !== 'cloud') throw new Error('workspaceName is only meaningful for the cloud backend');
  return config.backend.workspaces[stackName as keyof typeof config.backend.workspaces] ?? `${config.project}-${config.environment}-${stackName}`;
}

/**
 * A named workspace that keeps its project in HCL too: cdktf 0.21's NamedCloudWorkspace writes
 * `project` to JSON but leaves it out of `toHclTerraform`, so `--hcl` would put the workspaces in
 * the organization's default project. Public API only (a subclass), so a move to cdktn is a rename.
 */
export class ProjectCloudWorkspace extends NamedCloudWorkspace {
  toHclTerraform(): Record<string, unknown> {
    const hcl = super.toHclTerraform() as Record<string, unknown>;
    if (this.project === undefined) return hcl;
    return { ...hcl, project: { value: this.project, type: 'simple', storageClassType: 'string' } };
  }
}

/** Give `stack` its own state in the backend chosen by config. */
export function configureBackend(stack: TerraformStack, stackName: string, config: AppConfig): void {
  const backend = config.backend;
  switch (backend.type) {
    case 'local':
      new LocalBackend(stack, { path: path.posix.join(STACK_DIR_TO_PROJECT, backend.directory, `terraform.${stackName}.tfstate`) });
      return;
    case 's3': {
      const prefix = backend.keyPrefix ?? `${config.project}/${config.environment}`;
      new S3Backend(stack, {
        bucket: backend.bucket,
        key: `${prefix}/${stackName}.tfstate`,
        region: backend.region,
        encrypt: backend.encrypt,
        kmsKeyId: backend.kmsKeyId,
        dynamodbTable: backend.dynamodbTable,
        assumeRole: backend.roleArn ? { roleArn: backend.roleArn } : undefined,
      });
      // S3-native locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no field for it yet.
      stack.addOverride('terraform.backend.s3.use_lockfile', true);
      return;
    }
    case 'cloud':
      new CloudBackend(stack, {
        organization: backend.organization,
        hostname: backend.hostname,
        workspaces: new ProjectCloudWorkspace(workspaceName(config, stackName), backend.project),
      });
      return;
  }
}
