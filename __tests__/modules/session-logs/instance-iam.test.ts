/** @lane synth */
import { onlyResource, resourceAt, resourcesOf } from '../../support/synth';
import { contextRefs, parseJsonencode, ref, sessionStack } from '../../stacks/session-logs.helpers';

const SESSION_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('session instance IAM', () => {
  it('a managed policy that lets an instance stream to this log group only, exported as an output', () => {
    const s = sessionStack();
    const groupArn = ref(s, 'aws_cloudwatch_log_group', 'log-group/group', 'arn');
    const policy = resourceAt(s, 'aws_iam_policy', 'instance-iam/policy');
    expect(policy.name).toBe('logrescue-dev-session-logging');
    expect(parseJsonencode(policy.policy).Statement).toEqual([
      {
        Sid: 'StreamToSessionLogGroup', Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        Resource: [groupArn, `${groupArn}:*`],
      },
      {
        Sid: 'FindSessionLogGroup', Effect: 'Allow', Action: 'logs:DescribeLogGroups', Resource: '*',
      },
    ]);
    expect(s.output!.instance_policy_arn.value).toBe(ref(s, 'aws_iam_policy', 'instance-iam/policy', 'arn'));
    // No role unless asked for: fleets usually have their own instance roles.
    expect(resourcesOf(s, 'aws_iam_instance_profile')).toEqual({});
    expect(s.output!.instance_profile_name).toBeUndefined();
  });

  it('with a session KMS key: may decrypt with that key', () => {
    const s = sessionStack({ sessionDocument: { sessionKmsKeyArn: SESSION_KEY } });
    const st = parseJsonencode(resourceAt(s, 'aws_iam_policy', 'instance-iam/policy').policy).Statement;
    expect(st).toContainEqual({ Sid: 'DecryptSessionData', Effect: 'Allow', Action: 'kms:Decrypt', Resource: SESSION_KEY });
  });

  it('createInstanceRole: an EC2 role with SSM core and the session policy, and its instance profile', () => {
    const s = sessionStack({ createInstanceRole: true });
    const { partition } = contextRefs(s);
    const role = Object.values(resourcesOf(s, 'aws_iam_role')).find((r: any) => r.name === 'logrescue-dev-session-instance') as any;
    // No source condition: EC2 sends none when an instance assumes its role (see the module).
    expect(parseJsonencode(role.assume_role_policy).Statement).toEqual([{
      Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole',
    }]);
    const roleName = ref(s, 'aws_iam_role', 'instance-iam/role', 'name');
    const attached = Object.values(resourcesOf(s, 'aws_iam_role_policy_attachment')).map((a: any) => a.policy_arn).sort();
    expect(attached).toEqual([
      `arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
      ref(s, 'aws_iam_policy', 'instance-iam/policy', 'arn'),
    ].sort());
    expect(Object.values(resourcesOf(s, 'aws_iam_role_policy_attachment')).every((a: any) => a.role === roleName)).toBe(true);
    expect(onlyResource(s, 'aws_iam_instance_profile')).toMatchObject({ name: 'logrescue-dev-session-instance', role: roleName });
    expect(s.output!.instance_profile_name.value).toBe(ref(s, 'aws_iam_instance_profile', 'instance-iam/profile', 'name'));
    expect(JSON.stringify(s.resource)).not.toMatch(/FullAccess/);
  });
});
