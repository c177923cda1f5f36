import type { AppConfig, FromRemoteState, OrganisationConfig, RemoteStateConfig } from '../config/schema';
import { MAX_NAME_PREFIX, regionCode, STACK_NAMES } from '../config/patterns';

export { MAX_NAME_PREFIX, regionCode };

export type StackName = (typeof STACK_NAMES)[number];
export type FlowName = Exclude<StackName, 'archive'>;

/** Where one stack goes: its name (construct id, state, `Stack` tag), account and name prefix. */
export interface StackPlacement {
  /** The stack's name: `<flow>`, `<flow>-<region>`, `<flow>-<member>` or `<flow>-<member>-<region>`. */
  readonly id: string;
  /** The role the stack's provider assumes (another account). @default the credentials Terraform runs with */
  readonly deployRoleArn?: string;
  /**
   * Prefix of every resource name: `<project>-<environment>`, plus the region's code outside the
   * home region (IAM names are global: two regions of one account must not share them).
   */
  readonly namePrefix: string;
  /** A member stack's way to the central archive (organisation). @default its own archive bucket */
  readonly central?: CentralArchive;
}

/** The log-archive account's bucket, as a member stack reaches it. */
export interface CentralArchive {
  readonly bucketName: string;
  /** The bucket's (and its key's) region: S3 calls KMS there (`kms:ViaService`). */
  readonly region: string;
  /** The archive's KMS key ARN: literally, or the archive stack's output read through `terraform_remote_state`. */
  readonly kmsKeyArn: string | FromRemoteState;
  /** `<account>/<region>`: everything this stack writes is under it (the bucket policy allows only `<account>/`). */
  readonly keyPrefixRoot: string;
}

/** The remote-state name under which member stacks read the archive stack's outputs. */
export const ARCHIVE_STATE = 'archive';

/** The regions the flows deploy to, the home region (`region`) first. */
export function regionsOf(config: AppConfig): string[] {
  const list = config.regions ?? [config.region];
  return [config.region, ...list.filter((r) => r !== config.region)];
}

/** The name prefix of a stack in `region`: the home region keeps `<project>-<environment>`. */
export function namePrefixIn(config: AppConfig, region: string): string {
  const base = `${config.project}-${config.environment}`;
  return region === config.region ? base : `${base}-${regionCode(region)}`;
}

/** Where member stacks read the archive stack's outputs: given, or the archive stack's state in this config's backend. */
export function archiveStateOf(config: AppConfig, org: OrganisationConfig): RemoteStateConfig {
  if (org.archive.state) return org.archive.state;
  const b = config.backend;
  switch (b.type) {
    case 's3': return { type: 's3', bucket: b.bucket, key: `${b.keyPrefix ?? `${config.project}/${config.environment}`}/archive.tfstate`, region: b.region, roleArn: b.roleArn };
    case 'cloud': return { type: 'cloud', organization: b.organization, hostname: b.hostname, workspace: b.workspaces.archive ?? `${config.project}-${config.environment}-archive` };
    // Terraform runs a stack in cdktf.out/stacks/<stack>; the archive's local state is in the project root (state-backend.ts).
    case 'local': return { type: 'local', path: `../../../${b.directory === '.' ? '' : `${b.directory}/`}terraform.archive.tfstate` };
  }
}

/** One flow stack to build: its flow, the config it sees, and where it goes. */
export interface FlowStackSpec {
  readonly flow: FlowName;
  readonly config: AppConfig;
  readonly placement: StackPlacement;
}

/**
 * The flow stacks a config asks for, in order: per member account (organisation), per region (home
 * region first), per enabled flow. One account and one region give exactly today's stacks, with
 * today's names and the config as it is.
 */
export function flowStacks(config: AppConfig): FlowStackSpec[] {
  const flows = (['log-rescue', 'session-logs', 'demo-fleet'] as const).filter((f) =>
    (f === 'log-rescue' && config.logRescue.enabled) || (f === 'session-logs' && config.sessionLogs.enabled) || (f === 'demo-fleet' && config.demoFleet.enabled));
  const org = config.organisation;
  const out: FlowStackSpec[] = [];
  const members = org ? org.members : [undefined];
  for (const member of members) {
    for (const region of regionsOf(config)) {
      const suffix = [member?.name, region === config.region ? undefined : region].filter(Boolean).join('-');
      for (const flow of flows) {
        const id = suffix ? `${flow}-${suffix}` : flow;
        const namePrefix = namePrefixIn(config, region);
        if (!member || !org) {
          out.push({ flow, config: region === config.region ? config : { ...config, region }, placement: { id, namePrefix } });
          continue;
        }
        const keyPrefixRoot = `${member.accountId}/${region}`;
        out.push({
          flow,
          placement: {
            id, namePrefix, deployRoleArn: member.deployRoleArn,
            central: { bucketName: org.archive.bucketName, region: org.archive.region, kmsKeyArn: org.archive.kmsKeyArn ?? { state: ARCHIVE_STATE, output: 'kms_key_arn' }, keyPrefixRoot },
          },
          config: {
            ...config,
            region,
            remoteStates: org.archive.kmsKeyArn ? config.remoteStates : { ...config.remoteStates, [ARCHIVE_STATE]: archiveStateOf(config, org) },
            logRescue: { ...config.logRescue, prefix: `${keyPrefixRoot}/${config.logRescue.prefix}` },
            // Athena over the archive belongs to the log-archive account, which can read every prefix.
            sessionLogs: { ...config.sessionLogs, analysis: { ...config.sessionLogs.analysis, enabled: false } },
          },
        });
      }
    }
  }
  return out;
}
