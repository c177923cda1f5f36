/**
 * AlarmTopic on a bare stack: where a stack's alarms notify. An existing topic (nothing created), a
 * topic it creates that only CloudWatch alarms of this account and region may publish to (the
 * e-mail subscribed when given), or nowhere (no actions); `actions` is what every alarm takes.
 * @lane unit
 */
import { TerraformOutput } from 'cdktf';
import { resourcesOf, StackJson } from '../../support/stack-json';
import { at, bareStack, synthBare } from '../../support/bare-stack';
import { contextRefs, parseJsonencode } from '../../stacks/session-logs.helpers';
import { AlarmTopic, AlarmTopicProps } from '../../../modules/shared/alarm-topic';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:oncall';
const CREATED = '${aws_sns_topic.alarms.arn}';

type Props = Omit<AlarmTopicProps, 'aws'>;

/** The topic (construct id `alarm-topic`) on a bare stack in `region`, with its `topicArn` and `actions` as outputs. */
function synth(props: Props, region = 'eu-west-1'): { s: StackJson; topic: AlarmTopic; topicArn: unknown; actions: unknown } {
  const b = bareStack(region);
  const topic = new AlarmTopic(b.stack, 'alarm-topic', { ...props, aws: b.aws });
  new TerraformOutput(b.stack, 'actions', { value: topic.actions });
  if (topic.topicArn) new TerraformOutput(b.stack, 'topic_arn', { value: topic.topicArn });
  const s = synthBare(b.stack);
  return { s, topic, topicArn: s.output!.topic_arn?.value, actions: s.output!.actions.value };
}

const nothingCreated = (s: StackJson) => {
  for (const t of ['aws_sns_topic', 'aws_sns_topic_policy', 'aws_sns_topic_subscription']) expect(resourcesOf(s, t)).toEqual({});
};

describe('AlarmTopic', () => {
  it('createTopic: a topic of the given name at aws_sns_topic.alarms, which is what alarms notify', () => {
    const { s, topicArn, actions } = synth({ name: 'acme-prod-session-logs-alarms', createTopic: true });
    expect(Object.keys(resourcesOf(s, 'aws_sns_topic'))).toEqual(['alarms']);
    const topic = at(s, 'aws_sns_topic', 'alarms');
    expect(topic.name).toBe('acme-prod-session-logs-alarms');
    // CloudWatch cannot publish to a topic under the AWS managed SNS key: no key at all.
    expect(topic.kms_master_key_id).toBeUndefined();
    expect([topicArn, actions]).toEqual([CREATED, [CREATED]]);
    expect(at(synth({ name: 'acme-prod-log-rescue-alarms', createTopic: true }).s, 'aws_sns_topic', 'alarms').name).toBe('acme-prod-log-rescue-alarms');
  });

  it('createTopic: only CloudWatch alarms of this account and region may publish to it', () => {
    const { s } = synth({ name: 'acme-prod-session-logs-alarms', createTopic: true });
    const { account, partition } = contextRefs(s);
    const policy = at(s, 'aws_sns_topic_policy', 'alarms');
    expect(policy.arn).toBe(CREATED);
    expect(parseJsonencode(policy.policy).Statement).toEqual([{
      Sid: 'CloudWatchAlarmsOfThisAccount', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish', Resource: CREATED,
      Condition: {
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:eu-west-1:${account}:alarm:*` },
      },
    }]);
    const elsewhere = synth({ name: 'x', createTopic: true }, 'us-west-2').s;
    expect(parseJsonencode(at(elsewhere, 'aws_sns_topic_policy', 'alarms').policy).Statement[0].Condition.ArnLike)
      .toEqual({ 'aws:SourceArn': `arn:${partition}:cloudwatch:us-west-2:${account}:alarm:*` });
  });

  it('createTopic with an e-mail: the address subscribed to the topic; without one, no subscription', () => {
    const { s } = synth({ name: 'acme-prod-session-logs-alarms', createTopic: true, email: 'oncall@example.com' });
    expect(Object.keys(resourcesOf(s, 'aws_sns_topic_subscription'))).toEqual(['alarms_email']);
    expect(at(s, 'aws_sns_topic_subscription', 'alarms_email')).toMatchObject({ topic_arn: CREATED, protocol: 'email', endpoint: 'oncall@example.com' });
    const other = synth({ name: 'acme-prod-session-logs-alarms', createTopic: true, email: 'sre@example.org' }).s;
    expect(at(other, 'aws_sns_topic_subscription', 'alarms_email').endpoint).toBe('sre@example.org');
    const without = synth({ name: 'acme-prod-session-logs-alarms', createTopic: true }).s;
    expect(Object.keys(resourcesOf(without, 'aws_sns_topic'))).toEqual(['alarms']);
    expect(resourcesOf(without, 'aws_sns_topic_subscription')).toEqual({});
  });

  it('an existing topic: notified by every alarm, nothing created, even with createTopic and an e-mail', () => {
    for (const extra of [{}, { createTopic: true, email: 'oncall@example.com' }]) {
      const { s, topic, actions } = synth({ name: 'acme-prod-session-logs-alarms', existingTopicArn: TOPIC, ...extra });
      expect(topic.topicArn).toBe(TOPIC);
      expect(actions).toEqual([TOPIC]);
      nothingCreated(s);
    }
  });

  it('neither an existing topic nor createTopic: no topic, and alarms without actions', () => {
    const { s, topic, actions } = synth({ name: 'acme-prod-session-logs-alarms', email: 'oncall@example.com' });
    expect(topic.topicArn).toBeUndefined();
    expect(actions).toEqual([]);
    nothingCreated(s);
    expect(synth({ name: 'acme-prod-session-logs-alarms', createTopic: false }).actions).toEqual([]);
  });
});
