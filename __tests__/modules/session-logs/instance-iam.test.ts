/**
 * SessionInstanceIam on a bare stack: from a log group's name and ARN, the managed policy that lets
 * an instance stream there (and decrypt with a session key), and the optional EC2 role and profile;
 * then what the session-logs stack passes it from config and the outputs it exports.
 * @lane synth
 */
import { onlyResource, resourceAt, resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { contextRefs, parseJsonencode, ref, sessionStack, statement } from '../../stacks/session-logs.helpers';
import { SessionInstanceIam, SessionInstanceIamProps, sessionInstanceRoleName } from '../../../modules/session-logs/instance-iam';

const SESSION_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const GROUP_ARN = 'arn:aws:logs:eu-west-1:111122223333:log-group:/acme/sessions';

type Props = Omit<SessionInstanceIamProps, 'aws'>;

const PROPS: Props = {
  logGroup: { name: '/acme/sessions', arn: GROUP_ARN },
  createInstanceRole: false,
  namePrefix: 'acme-prod',
};

/** The instance IAM (construct id `instance-iam`) on a bare stack in eu-west-1. */
function synth(over: Partial<Props> = {}): { s: StackJson; iam: SessionInstanceIam } {
  const b = bareStack('eu-west-1');
  const iam = new SessionInstanceIam(b.stack, 'instance-iam', { ...PROPS, ...over, aws: b.aws });
  return { s: synthBare(b.stack), iam };
}

const POLICY_ARN = '${aws_iam_policy.instance_session_logging.arn}';
const ROLE_NAME = '${aws_iam_role.instance.name}';

describe('SessionInstanceIam', () => {
  const { s, iam } = synth();

  it('a managed policy <namePrefix>-session-logging that lets an instance stream to the group it is given only, and find it', () => {
    const policy = at(s, 'aws_iam_policy', 'instance_session_logging');
    expect(policy.name).toBe('acme-prod-session-logging');
    expect(policy.description).toContain('/acme/sessions');
    expect(parseJsonencode(policy.policy).Statement).toEqual([
      {
        Sid: 'StreamToSessionLogGroup', Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        Resource: [GROUP_ARN, `${GROUP_ARN}:*`],
      },
      {
        // DescribeLogGroups matches only "*" (see the module).
        Sid: 'FindSessionLogGroup', Effect: 'Allow', Action: 'logs:DescribeLogGroups', Resource: '*',
      },
    ]);
  });

  it('without createInstanceRole: no role, attachments or instance profile (fleets usually have their own roles)', () => {
    expect(Object.keys(resourcesOf(s, 'aws_iam_policy'))).toEqual(['instance_session_logging']);
    expect(resourcesOf(s, 'aws_iam_role')).toEqual({});
    expect(resourcesOf(s, 'aws_iam_role_policy_attachment')).toEqual({});
    expect(resourcesOf(s, 'aws_iam_instance_profile')).toEqual({});
    expect(iam.role).toBeUndefined();
    expect(iam.instanceProfile).toBeUndefined();
  });

  it('with a session KMS key: may decrypt with that key; without one, no KMS access at all', () => {
    const keyed = synth({ sessionKmsKeyArn: SESSION_KEY }).s;
    const st = parseJsonencode(at(keyed, 'aws_iam_policy', 'instance_session_logging').policy).Statement;
    expect(st).toHaveLength(3);
    expect(st).toContainEqual({ Sid: 'DecryptSessionData', Effect: 'Allow', Action: 'kms:Decrypt', Resource: SESSION_KEY });
    expect(at(s, 'aws_iam_policy', 'instance_session_logging').policy).not.toMatch(/kms:/);
  });

  it('createInstanceRole: an EC2 role <namePrefix>-session-instance with SSM core and the session policy, and its instance profile', () => {
    const { s: r, iam: withRole } = synth({ createInstanceRole: true });
    const { partition } = contextRefs(r);
    const role = onlyResource(r, 'aws_iam_role');
    expect(role.name).toBe('acme-prod-session-instance');
    expect(sessionInstanceRoleName('acme-prod')).toBe('acme-prod-session-instance');
    expect(Object.keys(resourcesOf(r, 'aws_iam_role'))).toEqual(['instance']);
    // No source condition: EC2 sends none when an instance assumes its role (see the module).
    expect(parseJsonencode(role.assume_role_policy).Statement).toEqual([{
      Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole',
    }]);
    expect(resourcesOf(r, 'aws_iam_role_policy_attachment')).toEqual({
      instance_ssm_core: { role: ROLE_NAME, policy_arn: `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore` },
      instance_session_logging: { role: ROLE_NAME, policy_arn: POLICY_ARN },
    });
    expect(onlyResource(r, 'aws_iam_instance_profile')).toMatchObject({ name: 'acme-prod-session-instance', role: ROLE_NAME });
    expect(Object.keys(resourcesOf(r, 'aws_iam_instance_profile'))).toEqual(['instance']);
    expect(withRole.role).toBeDefined();
    expect(withRole.instanceProfile).toBeDefined();
    expect(JSON.stringify(r.resource)).not.toMatch(/FullAccess/);
  });
});

describe('in the session-logs stack', () => {
  const policyOf = (s: StackJson) => resourceAt(s, 'aws_iam_policy', 'instance-iam/policy');
  const plain = sessionStack();
  const withRole = sessionStack({ sessionDocument: { sessionKmsKeyArn: SESSION_KEY }, createInstanceRole: true });

  it('by default: a policy logrescue-dev-session-logging for the stack\'s log group, exported, with no KMS access and no instance role', () => {
    const groupArn = ref(plain, 'aws_cloudwatch_log_group', 'log-group/group', 'arn');
    const policy = policyOf(plain);
    expect(policy.name).toBe('logrescue-dev-session-logging');
    expect(statement(policy.policy, 'StreamToSessionLogGroup').Resource).toEqual([groupArn, `${groupArn}:*`]);
    expect(parseJsonencode(policy.policy).Statement.map((st: any) => st.Sid)).toEqual(['StreamToSessionLogGroup', 'FindSessionLogGroup']);
    expect(plain.output!.instance_policy_arn.value).toBe(ref(plain, 'aws_iam_policy', 'instance-iam/policy', 'arn'));
    // No role unless asked for: fleets usually have their own instance roles.
    expect(resourcesOf(plain, 'aws_iam_instance_profile')).toEqual({});
    expect(plain.output!.instance_profile_name).toBeUndefined();
  });

  it('passes sessionDocument.sessionKmsKeyArn: the policy may decrypt with that key', () => {
    expect(statement(policyOf(withRole).policy, 'DecryptSessionData')).toEqual({
      Sid: 'DecryptSessionData', Effect: 'Allow', Action: 'kms:Decrypt', Resource: SESSION_KEY,
    });
  });

  it('createInstanceRole: the role logrescue-dev-session-instance has only SSM core and the session policy, its profile is exported, nothing in the stack has FullAccess', () => {
    const { partition } = contextRefs(withRole);
    const role = Object.values(resourcesOf(withRole, 'aws_iam_role')).find((r: any) => r.name === 'logrescue-dev-session-instance') as any;
    expect(role).toBeDefined();
    const roleName = ref(withRole, 'aws_iam_role', 'instance-iam/role', 'name');
    const attachments = Object.values(resourcesOf(withRole, 'aws_iam_role_policy_attachment')) as any[];
    expect(attachments.map((a) => a.policy_arn).sort()).toEqual([
      `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
      ref(withRole, 'aws_iam_policy', 'instance-iam/policy', 'arn'),
    ].sort());
    expect(attachments.every((a) => a.role === roleName)).toBe(true);
    expect(onlyResource(withRole, 'aws_iam_instance_profile')).toMatchObject({ name: 'logrescue-dev-session-instance', role: roleName });
    expect(withRole.output!.instance_profile_name.value).toBe(ref(withRole, 'aws_iam_instance_profile', 'instance-iam/profile', 'name'));
    expect(JSON.stringify(withRole.resource)).not.toMatch(/FullAccess/);
  });
});
