/**
 * Regions and organisations (stacks/placement.ts): which stacks a config synthesizes, what each is
 * called, and that adding a region or an organisation never touches the home region's stacks of a
 * single-account config.
 *
 * @lane synth
 */
import { AWS_REGIONS } from '../../config/schema';
import { regionCode } from '../../stacks/placement';
import { configProblems, synthStacks, testConfig } from '../support/synth';

const ORG = {
  id: 'o-a1b2c3d4e5',
  archive: { accountId: '111111111111', region: 'us-east-1', bucketName: 'acme-log-archive' },
  members: [{ name: 'payments', accountId: '222222222222', deployRoleArn: 'arn:aws:iam::222222222222:role/deploy' }],
};

describe('regions', () => {
  const one = synthStacks(testConfig());
  const two = synthStacks(testConfig({ regions: ['us-east-1', 'eu-west-1'] }));

  it('keeps the home region\'s stacks as they are and adds <flow>-<region> for the others', () => {
    expect(Object.keys(two)).toEqual(['log-rescue', 'session-logs', 'log-rescue-eu-west-1', 'session-logs-eu-west-1']);
    // Byte for byte: adding a region moves and changes nothing already deployed.
    expect(two['log-rescue']).toEqual(one['log-rescue']);
    expect(two['session-logs']).toEqual(one['session-logs']);
    expect(synthStacks(testConfig({ regions: ['us-east-1'] }))).toEqual(one);
  });

  it('puts the other region\'s stack in its region, with its own state and the region code in every name', () => {
    const eu = two['log-rescue-eu-west-1'];
    expect(eu.provider!.aws[0].region).toBe('eu-west-1');
    expect(eu.terraform.backend.local.path).toBe('../../../terraform.log-rescue-eu-west-1.tfstate');
    expect(Object.values<any>(eu.resource!.aws_lambda_function)[0].function_name).toBe('logrescue-dev-euw1-log-rescue');
    expect(Object.values<any>(eu.resource!.aws_iam_policy).map((p) => p.name)).toEqual(['logrescue-dev-euw1-log-rescue-instance-upload']);
    // No moved blocks: this stack was never deployed at the old hashed addresses.
    expect(eu.moved ?? []).toEqual([]);
  });

  it('gives every region a short code of its own', () => {
    const codes = AWS_REGIONS.map(regionCode);
    expect(new Set(codes).size).toBe(AWS_REGIONS.length);
    for (const c of codes) expect(c).toMatch(/^[a-z]{2,4}[0-9]$/);
    expect(Math.max(...codes.map((c) => c.length))).toBeLessThanOrEqual(5);
    expect([regionCode('us-east-1'), regionCode('ap-southeast-4'), regionCode('us-gov-west-1'), regionCode('cn-northwest-1')]).toEqual(['use1', 'apse4', 'usgw1', 'cnnw1']);
  });

  it('refuses a list without the home region, a region twice, and names too long for the code', () => {
    expect(configProblems({ regions: ['eu-west-1'] })).toEqual(['regions: got ["eu-west-1"]; allowed: a list that includes region (us-east-1): the home region, whose stacks keep their names']);
    expect(configProblems({ regions: ['us-east-1', 'us-east-1'] })[0]).toContain('no region twice');
    expect(configProblems({ project: 'a-very-long-project1', environment: 'staging-eu', regions: ['us-east-1', 'ap-southeast-4'] })).toEqual([
      expect.stringContaining('"a-very-long-project1-staging-eu-apse4" (the name prefix in ap-southeast-4) has 37 characters, at most 33'),
    ]);
  });
});

describe('organisation', () => {
  it('adds the archive stack and one stack per member and flow; member stacks assume the member\'s deploy role', () => {
    const stacks = synthStacks(testConfig({ organisation: ORG }));
    expect(Object.keys(stacks)).toEqual(['archive', 'log-rescue-payments', 'session-logs-payments']);
    expect(stacks['log-rescue-payments'].provider!.aws[0].assume_role).toEqual([{ role_arn: 'arn:aws:iam::222222222222:role/deploy', session_name: 'logrescue-log-rescue-payments' }]);
    expect(stacks.archive.provider!.aws[0].assume_role).toBeUndefined();
    // Members write to the central bucket under <account>/<region>/, and create no bucket of their own.
    const member = stacks['session-logs-payments'];
    expect(member.resource!.aws_s3_bucket).toBeUndefined();
    expect(Object.values<any>(member.resource!.aws_kinesis_firehose_delivery_stream)[0].extended_s3_configuration.prefix)
      .toBe('222222222222/us-east-1/session-logs/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/');
    expect(member.data!.terraform_remote_state.archive.config.path).toBe('../../../terraform.archive.tfstate');
    expect(Object.keys(stacks.archive.output!).sort()).toEqual(['bucket_arn', 'bucket_name', 'kms_key_arn']);
  });

  it('takes the archive key ARN literally when given, and then reads no state of the log-archive account', () => {
    const key = 'arn:aws:kms:us-east-1:111111111111:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
    const stacks = synthStacks(testConfig({ organisation: { ...ORG, archive: { ...ORG.archive, kmsKeyArn: key } } }));
    const member = stacks['log-rescue-payments'];
    expect(member.data!.terraform_remote_state).toBeUndefined();
    expect(String(member.resource!.aws_iam_policy.instance_upload.policy)).toContain(`"Resource" = "${key}"`);
  });

  it('refuses duplicate members, a malformed organization id, a remote state named archive, a too long prefix and a lock longer than the expiry', () => {
    const dup = { ...ORG, members: [...ORG.members, { name: 'payments', accountId: '222222222222' }] };
    expect(configProblems({ organisation: dup })).toEqual([
      'organisation.members[1].name: got "payments"; allowed: no duplicates ("payments" is listed before)',
      'organisation.members[1].accountId: got "222222222222"; allowed: no duplicates (222222222222 is listed before)',
    ]);
    expect(configProblems({ organisation: { ...ORG, id: 'org-1' } })[0]).toContain('organisation.id');
    expect(configProblems({ organisation: ORG, remoteStates: { archive: { type: 'local', path: 'x.tfstate' } } })[0]).toContain('remoteStates.archive');
    // <account>/<region>/ (12 + 1 + 9 + 1 characters in us-east-1) comes before the prefix in member stacks.
    expect(configProblems({ organisation: ORG, logRescue: { prefix: 'p'.repeat(700) } })).toEqual([
      expect.stringMatching(/^logRescue\.prefix: got "p+\.\.\.; allowed: at most 694 characters with organisation: member stacks write under <account>\/us-east-1\//),
    ]);
    expect(configProblems({ organisation: ORG, logRescue: { prefix: 'p'.repeat(694) } })).toEqual([]);
    // The central bucket's lock against the lifecycle it takes from logRescue.archiveBucket (365 days by default).
    const locked = (days: number) => ({ ...ORG, archive: { ...ORG.archive, objectLock: { mode: 'GOVERNANCE', days } } });
    expect(configProblems({ organisation: locked(400) })).toEqual([
      'logRescue.archiveBucket.lifecycle.expirationDays: got 365; allowed: 0 or at least organisation.archive.objectLock.days (400); locked objects cannot expire earlier',
    ]);
    expect(configProblems({ organisation: locked(365) })).toEqual([]);
  });
});
