/**
 * AwsContext on a bare stack: account and partition read once from `data.aws_caller_identity.current`
 * and `data.aws_partition.current`, the region it is given, and ARNs built from them (the account
 * and region overridable, '' for the global parts), never from `*`.
 * @lane unit
 */
import { TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { synthBare } from '../../support/bare-stack';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { StackJson } from '../../support/stack-json';
import { AwsContext } from '../../../modules/shared/aws-context';

const ACCOUNT = '${data.aws_caller_identity.current.account_id}';
const PARTITION = '${data.aws_partition.current.partition}';

/** A stack in `region` with the context (construct id `context`) and `values(aws)` as outputs. */
function synth(region: string, values: (aws: AwsContext) => Record<string, string>): { s: StackJson; out: Record<string, unknown> } {
  const stack = new TerraformStack(Testing.app(), 'bare');
  new AwsProvider(stack, 'aws', { region });
  const aws = new AwsContext(stack, 'context', { region });
  for (const [k, v] of Object.entries(values(aws))) new TerraformOutput(stack, k, { value: v });
  const s = synthBare(stack);
  return { s, out: Object.fromEntries(Object.entries(s.output ?? {}).map(([k, o]) => [k, o.value])) };
}

describe('AwsContext', () => {
  it('reads the account and partition from one data source each, at readable addresses, and makes no resource', () => {
    const { s, out } = synth('eu-west-1', (aws) => ({ account: aws.accountId, partition: aws.partition, dns: aws.dnsSuffix, region: aws.region }));
    expect(s.data).toEqual({
      aws_caller_identity: { current: expect.any(Object) },
      aws_partition: { current: expect.any(Object) },
    });
    expect(s.resource).toBeUndefined();
    expect(out).toEqual({ account: ACCOUNT, partition: PARTITION, dns: '${data.aws_partition.current.dns_suffix}', region: 'eu-west-1' });
  });

  it('builds ARNs in its region and account by default', () => {
    const { out } = synth('eu-west-1', (aws) => ({ queue: aws.arn('sqs', 'acme-events'), logs: aws.arn('logs', 'log-group:/acme/*') }));
    expect(out).toEqual({
      queue: `arn:${PARTITION}:sqs:eu-west-1:${ACCOUNT}:acme-events`,
      logs: `arn:${PARTITION}:logs:eu-west-1:${ACCOUNT}:log-group:/acme/*`,
    });
    expect(synth('ap-southeast-2', (aws) => ({ queue: aws.arn('sqs', 'q') })).out.queue).toBe(`arn:${PARTITION}:sqs:ap-southeast-2:${ACCOUNT}:q`);
  });

  it('takes another region or account when given, and \'\' for the parts a global service leaves empty', () => {
    const { out } = synth('eu-west-1', (aws) => ({
      elsewhere: aws.arn('sns', 'central', { region: 'us-east-1', account: '111122223333' }),
      role: aws.arn('iam', 'role/acme', { region: '' }),
      bucket: aws.arn('s3', 'acme-archive', { region: '', account: '' }),
    }));
    expect(out).toEqual({
      elsewhere: `arn:${PARTITION}:sns:us-east-1:111122223333:central`,
      role: `arn:${PARTITION}:iam::${ACCOUNT}:role/acme`,
      bucket: `arn:${PARTITION}:s3:::acme-archive`,
    });
  });
});
