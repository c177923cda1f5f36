import { Construct } from 'constructs';
import { AppConfig, FromRemoteState, sessionKmsKeyOf } from '../config/schema';
import { AlarmTopic } from '../modules/shared/alarm-topic';
import { LogArchiveBucket } from '../modules/shared/log-archive-bucket';
import { SessionAlarms } from '../modules/session-logs/alarms';
import { SessionAnalysis } from '../modules/session-logs/analysis';
import { SESSION_LOGS_PREFIX, SessionFirehose } from '../modules/session-logs/firehose';
import { SessionInstanceIam } from '../modules/session-logs/instance-iam';
import { SessionLogGroup } from '../modules/session-logs/log-group';
import { SessionPreferences } from '../modules/session-logs/preferences';
import { SessionSubscription } from '../modules/session-logs/subscription';
import { VpcEndpoints } from '../modules/session-logs/vpc-endpoints';
import { sessionLogsWidgets } from '../modules/session-logs/dashboard';
import { MetricDashboard } from '../modules/shared/dashboard';
import { BaseStack, StackPlacement } from './base-stack';

type Ref<T> = T | { fromRemoteState: FromRemoteState };

/**
 * Flow 2: Session Manager sessions -> CloudWatch Logs -> subscription filter -> Firehose (gunzip,
 * message extraction) -> S3 `session-logs/`, queryable in Athena, with alarms on the delivery.
 */
export class SessionLogsStack extends BaseStack {
  readonly archive: LogArchiveBucket;
  readonly logGroup: SessionLogGroup;
  readonly preferences: SessionPreferences;
  readonly firehose: SessionFirehose;
  readonly subscription: SessionSubscription;
  readonly instanceIam: SessionInstanceIam;
  readonly analysis?: SessionAnalysis;
  readonly vpcEndpoints?: VpcEndpoints;
  readonly alarmTopic: AlarmTopic;
  readonly dashboard?: MetricDashboard;
  readonly alarms: SessionAlarms;

  constructor(scope: Construct, config: AppConfig, placement?: StackPlacement) {
    super(scope, 'session-logs', config, placement);
    const c = config.sessionLogs;
    const aws = this.aws;
    const namePrefix = this.namePrefix;

    this.archive = this.archiveBucket(c.archiveBucket, `${namePrefix}-sessions`);

    this.logGroup = new SessionLogGroup(this, 'log-group', {
      name: c.logGroup.name,
      retentionDays: c.logGroup.retentionDays,
      logGroupClass: c.logGroup.class,
      kms: c.logGroup.kms,
      aws,
      namePrefix,
    });

    const d = c.sessionDocument;
    this.preferences = new SessionPreferences(this, 'preferences', {
      mode: d.mode,
      customName: d.customName,
      idleSessionTimeoutMinutes: d.idleSessionTimeoutMinutes,
      maxSessionDurationMinutes: d.maxSessionDurationMinutes,
      runAsEnabled: d.runAsEnabled,
      runAsDefaultUser: d.runAsDefaultUser,
      shellProfile: d.shellProfile,
      s3Logging: d.s3Logging === 'none' ? undefined : d.s3Logging,
      sessionKmsKeyArn: sessionKmsKeyOf(d),
      logGroup: this.logGroup,
      namePrefix,
      aws,
    });

    this.firehose = new SessionFirehose(this, 'firehose', {
      bufferingSizeMb: c.firehose.bufferingSizeMb,
      bufferingIntervalSeconds: c.firehose.bufferingIntervalSeconds,
      errorLogRetentionDays: c.firehose.errorLogRetentionDays,
      aws,
      archive: this.archive,
      namePrefix,
      // Records at rest in the stream are the same session data as the log group: same key.
      streamKmsKeyArn: this.logGroup.kmsKeyArn,
      keyPrefixRoot: this.placement.central?.keyPrefixRoot,
    });

    this.subscription = new SessionSubscription(this, 'subscription', {
      aws,
      logGroup: this.logGroup.logGroup,
      deliveryStream: this.firehose.stream,
      namePrefix,
    });

    this.instanceIam = new SessionInstanceIam(this, 'instance-iam', {
      aws,
      logGroup: this.logGroup,
      sessionKmsKeyArn: sessionKmsKeyOf(c.sessionDocument),
      createInstanceRole: c.createInstanceRole,
      namePrefix,
    });

    if (c.analysis.enabled) {
      this.analysis = new SessionAnalysis(this, 'analysis', {
        firstYear: c.analysis.firstYear,
        lastYear: c.analysis.lastYear,
        bytesScannedCutoffPerQueryMb: c.analysis.bytesScannedCutoffPerQueryMb,
        resultsExpirationDays: c.analysis.resultsExpirationDays,
        archive: this.archive,
        prefix: SESSION_LOGS_PREFIX,
        project: config.project,
        environment: config.environment,
        namePrefix,
        aws,
      });
    }

    const v = c.vpcEndpoints;
    if (v.enabled && v.vpcId && v.subnetIds && v.vpcCidr) {
      this.vpcEndpoints = new VpcEndpoints(this, 'vpc-endpoints', {
        region: config.region,
        vpcId: this.value(v.vpcId),
        subnetIds: this.values(v.subnetIds),
        routeTableIds: v.routeTableIds ? this.values(v.routeTableIds) : undefined,
        vpcCidrs: typeof v.vpcCidr === 'string' ? [v.vpcCidr] : this.values(v.vpcCidr),
        namePrefix,
      });
    }

    this.alarmTopic = new AlarmTopic(this, 'alarm-topic', {
      aws,
      name: `${namePrefix}-session-logs-alarms`,
      existingTopicArn: c.alarms.snsTopicArn,
      createTopic: c.alarms.createTopic,
      email: c.alarms.email,
    });
    this.alarms = new SessionAlarms(this, 'alarms', {
      actions: this.alarmTopic.actions,
      streamName: this.firehose.streamName,
      logGroupName: this.logGroup.name,
      subscriptionFilterName: this.subscription.filterName,
      freshnessThresholdSeconds: c.firehose.freshnessAlarmSeconds ?? Math.max(300, 2 * c.firehose.bufferingIntervalSeconds),
      namePrefix,
    });

    if (c.dashboard) {
      this.dashboard = new MetricDashboard(this, 'dashboard', {
        name: `${namePrefix}-session-logs`,
        region: aws.region,
        addressName: 'overview',
        widgets: sessionLogsWidgets({ logGroupName: this.logGroup.name, streamName: this.firehose.streamName, subscriptionFilterName: this.subscription.filterName }),
      });
    }

    this.outputs();
  }

  /** A config value, or another state's output when it is a `fromRemoteState` reference. */
  private value(v: Ref<string>): string {
    return typeof v === 'string' ? v : this.remoteStates.output(v.fromRemoteState);
  }

  private values(v: Ref<string[]>): string[] {
    return Array.isArray(v) ? v : this.remoteStates.list(v.fromRemoteState);
  }

  private outputs(): void {
    this.output('bucket_name', this.archive.bucketName, 'Archive bucket of session logs');
    this.output('log_group_name', this.logGroup.name, 'CloudWatch Logs group sessions stream to');
    if (this.dashboard) this.output('dashboard_name', this.dashboard.dashboard.dashboardName, 'CloudWatch dashboard of the session log pipeline');
    this.output('firehose_stream_name', this.firehose.streamName, 'Firehose stream that archives the log group to S3');
    this.output('session_document_name', this.preferences.documentName, 'Session document holding the Session Manager preferences');
    if (this.config.sessionLogs.sessionDocument.mode === 'custom') {
      this.output('start_session_command', `aws ssm start-session --target <instance-id> --document-name ${this.preferences.documentName}`,
        'Sessions use these preferences only when started with this document');
      this.output('operator_policy_arn', this.preferences.operatorPolicy!.arn,
        'Attach to operator roles: ssm:StartSession only with the logged session document, never SSM-SessionManagerRunShell');
    }
    this.output('instance_policy_arn', this.instanceIam.policy.arn, 'Attach to instance roles so their sessions can stream to the log group');
    if (this.instanceIam.instanceProfile) {
      this.output('instance_profile_name', this.instanceIam.instanceProfile.name, 'Instance profile with SSM core and session streaming');
    }
    if (this.analysis) {
      this.output('athena_workgroup', this.analysis.workgroup.name, 'Athena workgroup with the saved session queries');
      this.output('glue_table', `${this.analysis.database.name}.${this.analysis.table.name}`, 'Glue table over the delivered session records');
      this.output('athena_results_bucket', this.analysis.results.bucketName, 'Athena query results (session transcripts), expired after analysis.resultsExpirationDays');
    }
    if (this.alarmTopic.topicArn) this.output('alarm_topic_arn', this.alarmTopic.topicArn, 'SNS topic the delivery alarms notify');
  }
}
