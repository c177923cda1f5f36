import { Construct } from 'constructs';
import { TerraformOutput } from 'cdktf';
import { AppConfig } from '../config/schema';
import { LogArchiveBucket } from '../modules/log-archive-bucket';
import { BaseStack } from './base-stack';

/** Flow 1: rescue an instance's logs to S3 when its Auto Scaling group terminates it. */
export class LogRescueStack extends BaseStack {
  readonly archive: LogArchiveBucket;

  constructor(scope: Construct, config: AppConfig) {
    super(scope, 'log-rescue', config);
    this.archive = new LogArchiveBucket(this, 'archive', {
      config: config.logRescue.archiveBucket,
      aws: this.aws,
      namePrefix: `${this.namePrefix}-rescue`,
    });
    new TerraformOutput(this, 'bucket_name', { value: this.archive.bucketName, description: 'Archive bucket of rescued instance logs' });
  }
}
