import { Construct } from 'constructs';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketObjectLockConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { ArchiveBucketConfig } from '../../config/schema';
import { AwsContext } from './aws-context';
import { policyDocument, PolicyStatement } from './iam';
import { named, retainIfRemoved } from './addresses';

export interface LogArchiveBucketProps {
  readonly aws: AwsContext;
  /** Used for a generated bucket name (`bucket_prefix`) when no bucketName is given, and in the key's description. */
  readonly namePrefix: string;
  /** What the bucket is in its stack: the name of every resource's address (`aws_s3_bucket.<addressName>`). */
  readonly addressName: string;
  /**
   * Move objects to `lifecycle.storageClass` after `lifecycle.transitionDays`. Off for short-lived
   * objects (query results), which expire before a colder class would pay off.
   * @default true
   */
  readonly tiering?: boolean;
  /**
   * Describe this existing bucket instead of creating one; the props below it then do not apply.
   * @default a bucket created here
   */
  readonly existingBucketName?: string;
  /**
   * KMS key of the existing bucket, so IAM policies can allow it.
   * @default none: the existing bucket uses SSE-S3
   */
  readonly existingKmsKeyArn?: string;
  /**
   * Region of the existing bucket: S3 calls its key from there (`kms:ViaService`).
   * @default the stack's region
   */
  readonly existingBucketRegion?: string;
  /**
   * More bucket policy statements (other accounts' writers); `bucket` is the bucket's ARN.
   * @default none
   */
  readonly extraStatements?: (bucket: string) => PolicyStatement[];
  /**
   * The created key's policy (in a key policy, "Resource": "*" is the key itself).
   * @default KMS's default key policy (the account administers and uses the key through IAM)
   */
  readonly keyPolicy?: string;
  /**
   * Fixed bucket name.
   * @default a unique name Terraform generates from namePrefix
   */
  readonly bucketName?: string;
  readonly encryption: 'SSE-S3' | 'SSE-KMS';
  /**
   * With SSE-KMS: encrypt with this key.
   * @default with SSE-KMS, a key created here (rotation on)
   */
  readonly kmsKeyArn?: string;
  /** Days before objects move to storageClass. */
  readonly transitionDays: number;
  readonly storageClass: string;
  /** Days before current objects expire; 0 keeps them forever. */
  readonly expirationDays: number;
  /** Days before replaced or deleted versions are removed. */
  readonly noncurrentVersionExpirationDays: number;
  /**
   * Write-once retention, enabled in place; it cannot be turned off again.
   * @default no Object Lock
   */
  readonly objectLock?: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly days: number };
  /** Terraform `prevent_destroy` on the bucket and its key. */
  readonly preventDestroy: boolean;
}

/** The bucket props a config section gives (config `logRescue.archiveBucket`, `sessionLogs.archiveBucket`). */
export function archiveBucketSettings(c: ArchiveBucketConfig): Omit<LogArchiveBucketProps, 'aws' | 'namePrefix' | 'addressName' | 'tiering'> {
  return {
    existingBucketName: c.existingBucketName,
    existingKmsKeyArn: c.existingKmsKeyArn,
    bucketName: c.bucketName,
    encryption: c.encryption,
    kmsKeyArn: c.kmsKeyArn,
    ...c.lifecycle,
    objectLock: c.objectLock,
    preventDestroy: c.preventDestroy,
  };
}

/** Every resource type this construct can create; each one's address is `<type>.<addressName>`. */
const ARCHIVE_RESOURCES = [
  'aws_s3_bucket', 'aws_s3_bucket_public_access_block', 'aws_s3_bucket_ownership_controls', 'aws_s3_bucket_versioning',
  'aws_kms_key', 'aws_s3_bucket_server_side_encryption_configuration', 'aws_s3_bucket_lifecycle_configuration',
  'aws_s3_bucket_object_lock_configuration', 'aws_s3_bucket_policy',
] as const;

/** S3 allows at most 37 characters in `bucket_prefix`. */
const MAX_BUCKET_PREFIX = 37;

export function bucketPrefixFor(namePrefix: string): string {
  const cleaned = namePrefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-');
  return `${cleaned.slice(0, MAX_BUCKET_PREFIX - 1).replace(/-$/, '')}-`;
}

/**
 * The bucket logs are archived in: private, versioned, encrypted, TLS-only, tiered to colder
 * storage, and protected from `terraform destroy`. With `existingBucketName` it only describes a
 * bucket someone else manages.
 */
export class LogArchiveBucket extends Construct {
  readonly bucketName: string;
  readonly bucketArn: string;
  /** The bucket's region: where S3 calls its KMS key from. */
  readonly region: string;
  /** The key objects are encrypted with, when SSE-KMS is used. */
  readonly kmsKeyArn?: string;
  /** Present only when this construct created the bucket. */
  readonly bucket?: S3Bucket;

  constructor(scope: Construct, id: string, props: LogArchiveBucketProps) {
    super(scope, id);
    const { aws } = props;

    this.region = props.existingBucketName ? props.existingBucketRegion ?? aws.region : aws.region;
    if (props.existingBucketName) {
      this.bucketName = props.existingBucketName;
      this.bucketArn = `arn:${aws.partition}:s3:::${props.existingBucketName}`;
      this.kmsKeyArn = props.existingKmsKeyArn;
      // A bucket this stack created before keeps its data and protections.
      for (const type of ARCHIVE_RESOURCES) retainIfRemoved(this, type, props.addressName);
      return;
    }

    const bucket = named(new S3Bucket(this, 'bucket', {
      ...(props.bucketName ? { bucket: props.bucketName } : { bucketPrefix: bucketPrefixFor(props.namePrefix) }),
      forceDestroy: false,
      lifecycle: { preventDestroy: props.preventDestroy },
    }), props.addressName);
    this.bucket = bucket;
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;

    const publicAccessBlock = named(new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }), props.addressName);

    named(new S3BucketOwnershipControls(this, 'ownership', {
      bucket: bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    }), props.addressName);

    const versioning = named(new S3BucketVersioningA(this, 'versioning', {
      bucket: bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    }), props.addressName);

    if (props.encryption === 'SSE-KMS' && !props.kmsKeyArn) {
      this.kmsKeyArn = named(new KmsKey(this, 'key', {
        description: `Encrypts log archive bucket ${props.namePrefix}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: props.keyPolicy,
        // Losing the key loses every object encrypted with it.
        lifecycle: { preventDestroy: props.preventDestroy },
      }), props.addressName).arn;
    } else {
      this.kmsKeyArn = props.kmsKeyArn;
      retainIfRemoved(this, 'aws_kms_key', props.addressName);
    }

    named(new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: bucket.id,
      rule: [{
        applyServerSideEncryptionByDefault: this.kmsKeyArn
          ? { sseAlgorithm: 'aws:kms', kmsMasterKeyId: this.kmsKeyArn }
          : { sseAlgorithm: 'AES256' },
        bucketKeyEnabled: this.kmsKeyArn ? true : undefined,
      }],
    }), props.addressName);

    named(new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucket.id,
      // Lifecycle rules on an unversioned bucket would behave differently; order the calls.
      dependsOn: [versioning],
      rule: [{
        id: 'archive-tiers',
        status: 'Enabled',
        filter: [{ prefix: '' }],
        transition: props.tiering === false ? undefined : [{ days: props.transitionDays, storageClass: props.storageClass }],
        expiration: props.expirationDays > 0 ? [{ days: props.expirationDays }] : undefined,
        noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionExpirationDays }],
        abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
      }],
    }), props.addressName);

    if (props.objectLock) {
      named(new S3BucketObjectLockConfigurationA(this, 'object-lock', {
        bucket: bucket.id,
        // Enabling it here, not on aws_s3_bucket (where it forces a new bucket), lets an existing
        // archive turn Object Lock on in place; S3 requires versioning first.
        objectLockEnabled: 'Enabled',
        rule: { defaultRetention: { mode: props.objectLock.mode, days: props.objectLock.days } },
        dependsOn: [versioning],
      }), props.addressName);
    } else {
      retainIfRemoved(this, 'aws_s3_bucket_object_lock_configuration', props.addressName);
    }

    const objects = `${bucket.arn}/*`;
    const statements: PolicyStatement[] = [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucket.arn, objects],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      // Deny a wrong encryption header only when there is one: `...IfExists` would also match a
      // request without the header, and writers that rely on the bucket's default encryption send
      // none (Firehose in SSE-S3 mode; Amazon S3 User Guide, "Setting default server-side
      // encryption behavior for Amazon S3 buckets"). Such objects are encrypted by the default
      // rule above. `Null: false` = the key is present (IAM User Guide, "Condition operator to
      // check existence of condition keys").
      {
        Sid: 'DenyWrongEncryptionHeader',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: objects,
        Condition: {
          Null: { 's3:x-amz-server-side-encryption': 'false' },
          StringNotEquals: { 's3:x-amz-server-side-encryption': this.kmsKeyArn ? 'aws:kms' : 'AES256' },
        },
      },
    ];
    if (this.kmsKeyArn) {
      statements.push(
        {
          Sid: 'DenyOtherKmsKeys',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:PutObject',
          Resource: objects,
          Condition: {
            Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
            StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': this.kmsKeyArn },
          },
        },
        // `aws:kms` without a key id makes S3 use the AWS managed aws/s3 key, not the archive's
        // (Amazon S3 User Guide, "Specifying server-side encryption with AWS KMS (SSE-KMS)").
        {
          Sid: 'DenyAwsManagedKey',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:PutObject',
          Resource: objects,
          Condition: {
            StringEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' },
            Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'true' },
          },
        },
      );
    }
    statements.push(...(props.extraStatements?.(bucket.arn) ?? []));
    named(new S3BucketPolicy(this, 'policy', {
      bucket: bucket.id,
      policy: policyDocument(statements),
      // S3 rejects concurrent policy and public-access-block writes ("conflicting conditional operation").
      dependsOn: [publicAccessBlock],
    }), props.addressName);
  }

  /** ARN of every object under a key prefix (no leading or trailing slash). */
  objectsArn(prefix: string): string {
    return `${this.bucketArn}/${prefix}/*`;
  }
}
