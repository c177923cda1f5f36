import { Construct } from 'constructs';
import { TerraformOutput } from 'cdktf';
import { AppConfig } from '../config/schema';
import { LogArchiveBucket } from '../modules/log-archive-bucket';
import { BaseStack } from './base-stack';

/** Flow 2: Session Manager sessions -> CloudWatch Logs -> Firehose -> S3, queryable in Athena. */
export class SessionLogsStack extends BaseStack {
  readonly archive: LogArchiveBucket;

  constructor(scope: Construct, config: AppConfig) {
    super(scope, 'session-logs', config);
    this.archive = new LogArchiveBucket(this, 'archive', {
      config: config.sessionLogs.archiveBucket,
      aws: this.aws,
      namePrefix: `${this.namePrefix}-sessions`,
    });
    new TerraformOutput(this, 'bucket_name', { value: this.archive.bucketName, description: 'Archive bucket of session logs' });
  }
}
