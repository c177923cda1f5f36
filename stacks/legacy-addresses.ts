/**
 * Where each readable address was before addresses were readable: cdktf's generated address, the
 * construct path (relative to the stack) plus a hash, as the stacks deployed it up to commit
 * 983b22a (the last with hashed addresses). FROZEN: these are facts about existing deployments, not about the code; never edit an
 * entry when the code moves. Each entry becomes a `moved` block from the old address to the
 * readable one (or a `removed` block, for a retained resource the config no longer makes).
 *
 * Data sources need no entry: Terraform reads them again and keeps no history of their address.
 */
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AppConfig } from '../config/schema';
import { SESSION_INTERFACE_SERVICES } from '../modules/session-logs/vpc-endpoints';
import { addressName } from '../modules/shared/addresses';
import { STACK_NAMES } from '../config/patterns';

type StackName = (typeof STACK_NAMES)[number];

const ARCHIVE_PARTS: Record<string, string> = {
  aws_s3_bucket: 'bucket',
  aws_s3_bucket_public_access_block: 'public-access-block',
  aws_s3_bucket_ownership_controls: 'ownership',
  aws_s3_bucket_versioning: 'versioning',
  aws_kms_key: 'key',
  aws_s3_bucket_server_side_encryption_configuration: 'encryption',
  aws_s3_bucket_lifecycle_configuration: 'lifecycle',
  aws_s3_bucket_object_lock_configuration: 'object-lock',
  aws_s3_bucket_policy: 'policy',
};

/** A log archive bucket's parts: readable address -> old construct path. */
function archive(name: string, at: string): Record<string, string> {
  return Object.fromEntries(Object.entries(ARCHIVE_PARTS).map(([type, id]) => [`${type}.${name}`, `${at}/${id}`]));
}

function endpoints(at: string): Record<string, string> {
  return {
    'aws_security_group.endpoints': `${at}/security-group`,
    'aws_vpc_security_group_ingress_rule.endpoints_https_from_vpc': `${at}/https-from-vpc`,
    'aws_vpc_security_group_ingress_rule.endpoints_https_from_more_cidrs': `${at}/https-from-more-cidrs`,
    ...Object.fromEntries([...SESSION_INTERFACE_SERVICES, 's3'].map((s) => [`aws_vpc_endpoint.${addressName(s)}`, `${at}/${s}`])),
  };
}

function alarmTopic(): Record<string, string> {
  return { 'aws_sns_topic.alarms': 'alarm-topic/topic', 'aws_sns_topic_policy.alarms': 'alarm-topic/policy', 'aws_sns_topic_subscription.alarms_email': 'alarm-topic/email' };
}

/** Readable address -> old construct path, for the parts `config` can make in `stack`. */
function legacyPaths(stack: StackName, config: AppConfig): Record<string, string> {
  switch (stack) {
    case 'log-rescue': {
      const c = config.logRescue;
      const literal = c.autoScalingGroups.filter((g): g is string => typeof g === 'string');
      return {
        ...archive('archive', 'archive'),
        'aws_ssm_document.rescue_logs': 'document',
        ...Object.fromEntries(literal.map((g) => [`aws_autoscaling_lifecycle_hook.${addressName(g)}`, `hooks/hook-${g}`])),
        'aws_autoscaling_lifecycle_hook.from_remote_state': 'hooks/hook-from-remote-state',
        ...Object.fromEntries(['lifecycle', 'command-invocation', 'command-status', 'spot-warning'].flatMap((r) => [
          [`aws_cloudwatch_event_rule.${addressName(r)}`, `events/${r}`],
          [`aws_cloudwatch_event_target.${addressName(r)}`, `events/${r}-target`],
        ])),
        'aws_sqs_queue.dead_letters': 'events/dlq',
        'aws_sqs_queue_policy.dead_letters': 'events/dlq-policy',
        'aws_sqs_queue.events': 'event-queue/queue',
        'aws_sqs_queue_policy.events': 'event-queue/policy',
        'aws_sqs_queue_redrive_allow_policy.dead_letters': 'event-queue/dlq-redrive-allow',
        'aws_cloudwatch_log_group.handler': 'handler/logs',
        'aws_iam_role.handler': 'handler/role',
        'aws_iam_role_policy.handler': 'handler/policy',
        'aws_lambda_function.handler': 'handler/function',
        'aws_lambda_event_source_mapping.handler_events': 'handler/event-queue',
        'aws_iam_policy.instance_upload': 'instance-policy/policy',
        ...Object.fromEntries(c.attachInstancePolicyToRoles.map((r) => [`aws_iam_role_policy_attachment.instance_upload_${addressName(r)}`, `instance-policy/attach-${r}`])),
        ...alarmTopic(),
        ...Object.fromEntries(['not-rescued', 'events-failing', 'dead-letters', 'handler-errors', 'event-queue-age']
          .map((a) => [`aws_cloudwatch_metric_alarm.${addressName(a)}`, `alarms/${a}`])),
      };
    }
    case 'session-logs':
      return {
        ...archive('archive', 'archive'),
        ...archive('athena_results', 'analysis/results'),
        'aws_kms_key.sessions': 'log-group/key',
        'aws_kms_alias.sessions': 'log-group/alias',
        'aws_cloudwatch_log_group.sessions': 'log-group/group',
        'aws_ssm_document.preferences': 'preferences/document',
        'aws_ssm_document.regional_preferences': 'preferences/regional-document',
        'aws_iam_policy.session_operator': 'preferences/operator-policy',
        'aws_cloudwatch_log_group.firehose_errors': 'firehose/error-log-group',
        'aws_cloudwatch_log_stream.firehose_errors': 'firehose/error-log-stream',
        'aws_iam_role.firehose': 'firehose/role',
        'aws_iam_role_policy.firehose': 'firehose/role-policy',
        'aws_kinesis_firehose_delivery_stream.sessions': 'firehose/stream',
        'aws_iam_role.subscription': 'subscription/role',
        'aws_iam_role_policy.subscription': 'subscription/role-policy',
        'aws_cloudwatch_log_subscription_filter.sessions': 'subscription/filter',
        'aws_iam_policy.instance_session_logging': 'instance-iam/policy',
        'aws_iam_role.instance': 'instance-iam/role',
        'aws_iam_role_policy_attachment.instance_ssm_core': 'instance-iam/ssm-core',
        'aws_iam_role_policy_attachment.instance_session_logging': 'instance-iam/session-logging',
        'aws_iam_instance_profile.instance': 'instance-iam/profile',
        'aws_glue_catalog_database.sessions': 'analysis/database',
        'aws_glue_catalog_table.sessions': 'analysis/table',
        'aws_athena_workgroup.sessions': 'analysis/workgroup',
        ...Object.fromEntries(['sessions-per-user', 'commands-per-instance', 'sessions-in-range']
          .map((q) => [`aws_athena_named_query.${addressName(q)}`, `analysis/${q}`])),
        ...endpoints('vpc-endpoints'),
        ...alarmTopic(),
        ...Object.fromEntries(['firehose-freshness', 'firehose-delivery-failures', 'subscription-delivery-errors']
          .map((a) => [`aws_cloudwatch_metric_alarm.${addressName(a)}`, `alarms/${a}`])),
      };
    case 'demo-fleet':
      return {
        'aws_vpc.demo': 'network/vpc',
        'aws_default_security_group.demo': 'network/default-security-group',
        ...Object.fromEntries(config.demoFleet.availabilityZoneSuffixes.flatMap((s) => [
          [`aws_subnet.private_${addressName(s)}`, `network/private-${s}`],
          [`aws_route_table.private_${addressName(s)}`, `network/private-${s}-routes`],
          [`aws_route_table_association.private_${addressName(s)}`, `network/private-${s}-association`],
        ])),
        ...endpoints('network/endpoints'),
        'aws_security_group.fleet': 'fleet/security-group',
        'aws_vpc_security_group_egress_rule.fleet_https_to_endpoints': 'fleet/https-to-endpoints',
        'aws_vpc_security_group_egress_rule.fleet_https_to_s3': 'fleet/https-to-s3',
        'aws_launch_template.fleet': 'fleet/launch-template',
        'aws_autoscaling_group.fleet': 'fleet/group',
      };
    case 'archive':
      // New with organisations: never deployed at hashed addresses.
      return {};
  }
}

/** The stack the old paths are rebuilt on (a logical id does not depend on the stack's own name). */
export const LEGACY_SCRATCH_STACK = 'frozen-legacy-paths';

/**
 * Readable address -> the address the stack had for it before (`aws_s3_bucket.archive` ->
 * `aws_s3_bucket.archive_bucket_B42367AB`), computed by cdktf's own naming from the old paths on a
 * scratch stack, so the hashes are exactly the ones it generated.
 */
export function legacyAddresses(stack: StackName, config: AppConfig): Map<string, string> {
  const scratch = new TerraformStack(new App({ outdir: '/nonexistent', skipValidation: true }), LEGACY_SCRATCH_STACK);
  const out = new Map<string, string>();
  for (const [address, path] of Object.entries(legacyPaths(stack, config))) {
    let scope: Construct = scratch;
    for (const id of path.split('/')) scope = scope.node.tryFindChild(id) as Construct ?? new Construct(scope, id);
    out.set(address, `${address.slice(0, address.lastIndexOf('.'))}.${scratch.getLogicalId(scope.node)}`);
  }
  return out;
}
