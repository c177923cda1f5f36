/**
 * SessionSubscription on a bare stack: every event of the log group it is given goes to the
 * Firehose stream it is given, through a role only CloudWatch Logs of this account and region may
 * assume and that may only put records into that one stream; the filter waits for the role's policy.
 * @lane unit
 */
import { resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { contextRefs, parseJsonencode } from '../../stacks/session-logs.helpers';
import { SessionSubscription, SessionSubscriptionProps } from '../../../modules/session-logs/subscription';

const STREAM_ARN = 'arn:aws:firehose:eu-west-1:111122223333:deliverystream/acme-prod-session-logs';

type Props = Omit<SessionSubscriptionProps, 'aws'>;

const PROPS: Props = {
  logGroup: { name: '/acme/sessions' },
  deliveryStream: { arn: STREAM_ARN },
  namePrefix: 'acme-prod',
};

/** The subscription (construct id `subscription`) on a bare stack in `region`. */
function synth(over: Partial<Props> = {}, region = 'eu-west-1'): { s: StackJson; subscription: SessionSubscription } {
  const b = bareStack(region);
  const subscription = new SessionSubscription(b.stack, 'subscription', { ...PROPS, ...over, aws: b.aws });
  return { s: synthBare(b.stack), subscription };
}

describe('SessionSubscription', () => {
  const { s, subscription } = synth();

  it('makes a filter, a role and its policy, at readable addresses', () => {
    expect(Object.keys(resourcesOf(s, 'aws_cloudwatch_log_subscription_filter'))).toEqual(['sessions']);
    expect(Object.keys(resourcesOf(s, 'aws_iam_role'))).toEqual(['subscription']);
    expect(Object.keys(resourcesOf(s, 'aws_iam_role_policy'))).toEqual(['subscription']);
  });

  it('sends every event of the log group it is given to the stream it is given, through its own role, once the role may', () => {
    expect(at(s, 'aws_cloudwatch_log_subscription_filter', 'sessions')).toEqual(expect.objectContaining({
      name: 'acme-prod-sessions-to-firehose',
      log_group_name: '/acme/sessions',
      filter_pattern: '',
      destination_arn: STREAM_ARN,
      role_arn: '${aws_iam_role.subscription.arn}',
      depends_on: ['aws_iam_role_policy.subscription'],
    }));
    expect(subscription.filterName).toBe('acme-prod-sessions-to-firehose');
  });

  it('names the filter and role from namePrefix, and takes another group and stream as given', () => {
    const other = 'arn:aws:firehose:eu-west-1:111122223333:deliverystream/other';
    const { s: t, subscription: u } = synth({ namePrefix: 'beta-dev', logGroup: { name: '/beta/sessions' }, deliveryStream: { arn: other } });
    expect(at(t, 'aws_cloudwatch_log_subscription_filter', 'sessions')).toMatchObject({
      name: 'beta-dev-sessions-to-firehose', log_group_name: '/beta/sessions', destination_arn: other,
    });
    expect(u.filterName).toBe('beta-dev-sessions-to-firehose');
    expect(at(t, 'aws_iam_role', 'subscription').name).toBe('beta-dev-session-logs-to-firehose');
    expect(parseJsonencode(at(t, 'aws_iam_role_policy', 'subscription').policy).Statement[0].Resource).toBe(other);
  });

  it('its role trusts CloudWatch Logs of this account and region only', () => {
    const { account, partition } = contextRefs(s);
    const role = at(s, 'aws_iam_role', 'subscription');
    expect(role.name).toBe('acme-prod-session-logs-to-firehose');
    expect(parseJsonencode(role.assume_role_policy).Statement).toEqual([{
      Effect: 'Allow', Principal: { Service: 'logs.amazonaws.com' }, Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': `arn:${partition}:logs:eu-west-1:${account}:*` },
      },
    }]);
    const elsewhere = synth({}, 'ap-southeast-2').s;
    expect(parseJsonencode(at(elsewhere, 'aws_iam_role', 'subscription').assume_role_policy).Statement[0].Condition.ArnLike)
      .toEqual({ 'aws:SourceArn': `arn:${partition}:logs:ap-southeast-2:${account}:*` });
  });

  it('its role may only put records into that stream', () => {
    const policy = at(s, 'aws_iam_role_policy', 'subscription');
    expect(policy).toMatchObject({ name: 'put-into-session-stream', role: '${aws_iam_role.subscription.id}' });
    expect(parseJsonencode(policy.policy).Statement).toEqual([{
      Sid: 'PutIntoSessionStream', Effect: 'Allow', Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'], Resource: STREAM_ARN,
    }]);
  });
});
