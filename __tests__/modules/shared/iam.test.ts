/**
 * policyDocument and serviceTrustPolicy: a policy is a `jsonencode` expression whose references to
 * other resources stay resolvable; a service's trust policy is scoped to this account by the key
 * the service documents it sends (`sts:ExternalId` for Firehose, `aws:SourceAccount` otherwise),
 * and to a source ARN when given (confused-deputy protection).
 * @lane unit
 */
import { TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { synthBare } from '../../support/bare-stack';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { parseJsonencode } from '../../stacks/session-logs.helpers';
import { PolicyStatement, policyDocument, serviceTrustPolicy } from '../../../modules/shared/iam';

/** The documents `make` returns, as synthesized (`${jsonencode(...)}`), read back into objects; `queue` is a real resource to refer to. */
function synth(make: (queue: SqsQueue) => Record<string, string>): Record<string, any> {
  const stack = new TerraformStack(Testing.app(), 'bare');
  new AwsProvider(stack, 'aws', { region: 'us-east-1' });
  const queue = new SqsQueue(stack, 'queue', { name: 'acme-events' });
  queue.overrideLogicalId('events');
  for (const [k, v] of Object.entries(make(queue))) new TerraformOutput(stack, k, { value: v });
  const outputs = synthBare(stack).output as Record<string, { value: string }>;
  return Object.fromEntries(Object.entries(outputs).map(([k, o]) => {
    expect(o.value).toMatch(/^\$\{jsonencode\(/);
    return [k, parseJsonencode(o.value)];
  }));
}

describe('policyDocument', () => {
  it('a 2012-10-17 document of the statements in order, references to other resources kept as references', () => {
    const statements = (queueArn: string): PolicyStatement[] => [
      { Sid: 'Send', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: queueArn },
      { Sid: 'NoTls', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: queueArn, Condition: { Bool: { 'aws:SecureTransport': false } } },
    ];
    const { doc } = synth((q) => ({ doc: policyDocument(statements(q.arn)) }));
    expect(doc).toEqual({ Version: '2012-10-17', Statement: statements('${aws_sqs_queue.events.arn}') });
  });

  it('an empty document is still a valid one', () => {
    expect(synth(() => ({ doc: policyDocument([]) })).doc).toEqual({ Version: '2012-10-17', Statement: [] });
  });
});

describe('serviceTrustPolicy', () => {
  const trust = (service: string, sourceArn?: string) => ({
    Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole',
    Condition: sourceArn === undefined
      ? { StringEquals: { 'aws:SourceAccount': '111122223333' } }
      : { StringEquals: { 'aws:SourceAccount': '111122223333' }, ArnLike: { 'aws:SourceArn': sourceArn } },
  });

  it('lets the service assume the role for this account only, by aws:SourceAccount', () => {
    const docs = synth(() => ({
      lambda: serviceTrustPolicy('lambda.amazonaws.com', '111122223333'),
      events: serviceTrustPolicy('events.amazonaws.com', '111122223333'),
    }));
    expect(docs.lambda).toEqual({ Version: '2012-10-17', Statement: [trust('lambda.amazonaws.com')] });
    expect(docs.events.Statement).toEqual([trust('events.amazonaws.com')]);
  });

  it('and from the source ARN when given', () => {
    const arn = 'arn:aws:logs:eu-west-1:111122223333:*';
    expect(synth(() => ({ logs: serviceTrustPolicy('logs.amazonaws.com', '111122223333', arn) })).logs.Statement).toEqual([trust('logs.amazonaws.com', arn)]);
  });

  it('Firehose: by sts:ExternalId, what Firehose documents it sends', () => {
    const { firehose, withArn } = synth((q) => ({
      firehose: serviceTrustPolicy('firehose.amazonaws.com', '444455556666'),
      withArn: serviceTrustPolicy('firehose.amazonaws.com', '444455556666', q.arn),
    }));
    expect(firehose.Statement).toEqual([{
      Effect: 'Allow', Principal: { Service: 'firehose.amazonaws.com' }, Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': '444455556666' } },
    }]);
    expect(withArn.Statement[0].Condition).toEqual({
      StringEquals: { 'sts:ExternalId': '444455556666' }, ArnLike: { 'aws:SourceArn': '${aws_sqs_queue.events.arn}' },
    });
  });
});
