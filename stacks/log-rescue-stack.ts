import { Construct } from 'constructs';
import { AppConfig } from '../config/schema';
import { AlarmTopic } from '../modules/shared/alarm-topic';
import { InstanceUploadPolicy } from '../modules/log-rescue/instance-upload-policy';
import { LifecycleHooks } from '../modules/log-rescue/lifecycle-hooks';
import { LogArchiveBucket } from '../modules/shared/log-archive-bucket';
import { RescueAlarms } from '../modules/log-rescue/alarms';
import { RescueDocument } from '../modules/log-rescue/document';
import { RescueEvents } from '../modules/log-rescue/events';
import { RescueFunction } from '../modules/log-rescue/function';
import { logRescueWidgets } from '../modules/log-rescue/dashboard';
import { MetricDashboard } from '../modules/shared/dashboard';
import { BaseStack, StackPlacement } from './base-stack';

/** Flow 1: rescue an instance's logs to S3 when its Auto Scaling group terminates it. */
export class LogRescueStack extends BaseStack {
  readonly archive: LogArchiveBucket;

  constructor(scope: Construct, config: AppConfig, placement?: StackPlacement) {
    super(scope, 'log-rescue', config, placement);
    const c = config.logRescue;
    const name = `${this.namePrefix}-log-rescue`;

    this.archive = this.archiveBucket(c.archiveBucket, `${this.namePrefix}-rescue`);

    const document = new RescueDocument(this, 'document', {
      name: `${this.namePrefix}-rescue-logs`,
      archive: this.archive,
      prefix: c.prefix,
      logGlobs: c.command.logGlobs,
      includeJournal: c.command.includeJournal,
      executionTimeoutSeconds: c.command.executionTimeoutSeconds,
      maxTotalMb: c.command.maxTotalMb,
    });

    const hooks = new LifecycleHooks(this, 'hooks', {
      autoScalingGroups: c.autoScalingGroups,
      remoteStates: this.remoteStates,
      hookName: c.lifecycleHook.name,
      heartbeatTimeoutSeconds: c.lifecycleHook.heartbeatTimeoutSeconds,
      defaultResult: c.lifecycleHook.defaultResult,
    });

    const events = new RescueEvents(this, 'events', {
      namePrefix: this.namePrefix,
      groupNames: hooks.groupNames,
      hookName: hooks.hookName,
      document,
      spotInterruption: c.spotInterruption,
      maximumRetryAttempts: c.retry.maximumRetryAttempts,
      maximumEventAgeSeconds: c.retry.maximumEventAgeSeconds,
      onlineWaitSeconds: c.handler.onlineWaitSeconds,
      heartbeatTimeoutSeconds: c.lifecycleHook.heartbeatTimeoutSeconds,
    });

    const handler = new RescueFunction(this, 'handler', {
      aws: this.aws,
      functionName: name,
      document,
      groupNames: hooks.groupNames,
      hookName: hooks.hookName,
      eventQueue: events.eventQueue,
      metricStack: this.namePrefix,
      onlineWaitSeconds: c.handler.onlineWaitSeconds,
      executionTimeoutSeconds: c.command.executionTimeoutSeconds,
      heartbeatTimeoutSeconds: c.lifecycleHook.heartbeatTimeoutSeconds,
      memoryMb: c.handler.memoryMb,
      logRetentionDays: c.handler.logRetentionDays,
      reservedConcurrency: c.handler.reservedConcurrency,
      batchSize: c.handler.batchSize,
      batchWindowSeconds: c.handler.batchWindowSeconds,
      maximumConcurrency: c.handler.maximumConcurrency,
    });

    const instancePolicy = new InstanceUploadPolicy(this, 'instance-policy', {
      aws: this.aws,
      name: `${name}-instance-upload`,
      archive: this.archive,
      prefix: c.prefix,
      attachToRoles: c.attachInstancePolicyToRoles,
    });

    const topic = new AlarmTopic(this, 'alarm-topic', {
      aws: this.aws,
      name: `${name}-alarms`,
      existingTopicArn: c.alarms.snsTopicArn,
      createTopic: c.alarms.createTopic,
      email: c.alarms.email,
    });
    new RescueAlarms(this, 'alarms', {
      namePrefix: this.namePrefix,
      metricStack: this.namePrefix,
      handler: handler.function,
      deadLetterQueue: events.deadLetterQueue,
      eventQueue: events.eventQueue,
      actions: topic.actions,
    });

    if (c.dashboard) {
      const board = new MetricDashboard(this, 'dashboard', {
        name: name,
        region: this.aws.region,
        addressName: 'overview',
        widgets: logRescueWidgets({
          metricStack: this.namePrefix,
          eventQueueName: events.eventQueue.name,
          deadLetterQueueName: events.deadLetterQueue.name,
          functionName: handler.function.functionName,
        }),
      });
      this.output('dashboard_name', board.dashboard.dashboardName, 'CloudWatch dashboard of the rescue');
    }

    this.output('bucket_name', this.archive.bucketName, 'Archive bucket of rescued instance logs');
    this.output('document_name', document.name, 'SSM Command document that uploads an instance\'s logs');
    this.output('instance_policy_arn', instancePolicy.policy.arn, 'Attach to the fleet\'s instance role (with AmazonSSMManagedInstanceCore)');
    this.output('event_queue_url', events.eventQueue.url, 'The queue every rule feeds the handler from');
    this.output('dead_letter_queue_url', events.deadLetterQueue.url, 'Events the handler could not process');
    this.output('function_name', handler.function.functionName, 'Log rescue handler Lambda');
    if (topic.topicArn) this.output('alarm_topic_arn', topic.topicArn, 'SNS topic the alarms notify');
  }
}
