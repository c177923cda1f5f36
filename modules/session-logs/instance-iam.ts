import { Construct } from 'constructs';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { AwsContext } from '../shared/aws-context';
import { policyDocument, PolicyStatement } from '../shared/iam';
import { named } from '../shared/addresses';

export interface SessionInstanceIamProps {
  readonly aws: AwsContext;
  /** The session log group: its name, and its ARN without `:*` (a SessionLogGroup is one). */
  readonly logGroup: { readonly name: string; readonly arn: string };
  /**
   * The key sessions are encrypted with between client and instance (`kmsKeyId` preference).
   * @default no key: sessions are not encrypted beyond TLS, and the policy grants no KMS access
   */
  readonly sessionKmsKeyArn?: string;
  /** Also create a role and instance profile for fleets that have none. */
  readonly createInstanceRole: boolean;
  readonly namePrefix: string;
}

/**
 * Name of the instance role and of its instance profile (they share it) made when
 * `createInstanceRole` is true. Deterministic, so other stacks can use them without a state lookup.
 */
export function sessionInstanceRoleName(namePrefix: string): string {
  return `${namePrefix}-session-instance`;
}

/**
 * What an instance needs so its sessions stream to the session log group: a managed policy to
 * attach to existing instance roles, and optionally a role + instance profile that has it together
 * with AmazonSSMManagedInstanceCore.
 */
export class SessionInstanceIam extends Construct {
  /** Attach this to the fleet's instance roles. */
  readonly policy: IamPolicy;
  readonly role?: IamRole;
  readonly instanceProfile?: IamInstanceProfile;

  constructor(scope: Construct, id: string, props: SessionInstanceIamProps) {
    super(scope, id);
    const { aws } = props;

    const statements: PolicyStatement[] = [
      {
        Sid: 'StreamToSessionLogGroup',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        // `<group>:*` is the form CloudWatch Logs evaluates stream-level actions against.
        Resource: [props.logGroup.arn, `${props.logGroup.arn}:*`],
      },
      {
        // The agent looks the group up by name prefix before streaming (and reads whether it is
        // encrypted). DescribeLogGroups has no resource type in the Service Authorization
        // Reference (CloudWatch Logs): IAM matches it only against "*", so a log-group ARN here
        // would allow nothing.
        Sid: 'FindSessionLogGroup',
        Effect: 'Allow',
        Action: 'logs:DescribeLogGroups',
        Resource: '*',
      },
    ];
    if (props.sessionKmsKeyArn) {
      statements.push({
        Sid: 'DecryptSessionData',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: props.sessionKmsKeyArn,
      });
    }
    this.policy = named(new IamPolicy(this, 'policy', {
      name: `${props.namePrefix}-session-logging`,
      description: `Lets an SSM-managed instance stream Session Manager sessions to ${props.logGroup.name}`,
      policy: policyDocument(statements),
    }), 'instance_session_logging');

    if (!props.createInstanceRole) return;

    this.role = named(new IamRole(this, 'role', {
      name: sessionInstanceRoleName(props.namePrefix),
      description: 'SSM-managed instance whose sessions stream to CloudWatch Logs',
      // No aws:SourceAccount/aws:SourceArn condition: EC2 does not send them when an instance
      // assumes its role, so a condition would leave instances without credentials (the project's
      // policy checks waive this rule for instance roles for the same reason). Attaching the
      // profile needs iam:PassRole in this account, which is the guard here.
      assumeRolePolicy: policyDocument([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
    }), 'instance');
    named(new IamRolePolicyAttachment(this, 'ssm-core', {
      role: this.role.name,
      policyArn: `arn:${aws.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    }), 'instance_ssm_core');
    named(new IamRolePolicyAttachment(this, 'session-logging', {
      role: this.role.name,
      policyArn: this.policy.arn,
    }), 'instance_session_logging');
    this.instanceProfile = named(new IamInstanceProfile(this, 'profile', {
      name: sessionInstanceRoleName(props.namePrefix),
      role: this.role.name,
    }), 'instance');
  }
}
