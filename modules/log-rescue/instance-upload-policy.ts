import { Construct } from 'constructs';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { AwsContext } from '../shared/aws-context';
import { policyDocument, PolicyStatement } from '../shared/iam';
import { LogArchiveBucket } from '../shared/log-archive-bucket';
import { named, addressName } from '../shared/addresses';

export interface InstanceUploadPolicyProps {
  readonly aws: AwsContext;
  readonly name: string;
  readonly archive: LogArchiveBucket;
  /** Key prefix the instances may write under. */
  readonly prefix: string;
  /**
   * Instance roles (names) to attach the policy to, for roles managed by this app too.
   * @default [] (users attach it to their own roles)
   */
  readonly attachToRoles?: string[];
}

/**
 * What a fleet's instance role needs for the rescue command to upload: put objects (multipart
 * included) under this stack's prefix and nothing else (no read, no list, no delete). Users attach it, together with
 * AmazonSSMManagedInstanceCore, to their instance roles.
 */
export class InstanceUploadPolicy extends Construct {
  readonly policy: IamPolicy;

  constructor(scope: Construct, id: string, props: InstanceUploadPolicyProps) {
    super(scope, id);
    // The script streams the archive as a multipart upload: CreateMultipartUpload, UploadPart and
    // CompleteMultipartUpload are authorized as s3:PutObject, and it aborts a failed upload so no
    // parts linger (Amazon S3 User Guide, "Multipart upload API and permissions").
    const statements: PolicyStatement[] = [
      { Sid: 'UploadRescuedLogsOnly', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: props.archive.objectsArn(props.prefix) },
    ];
    if (props.archive.kmsKeyArn) {
      // S3 asks KMS for a data key on the uploader's behalf (kms:GenerateDataKey; it never calls
      // Encrypt), and for a multipart upload also decrypts it to encrypt each part (kms:Decrypt:
      // Amazon S3 User Guide, "Multipart upload API and permissions"), with the bucket ARN as
      // encryption context when S3 Bucket Keys are on, the object ARN otherwise ("Using
      // server-side encryption with AWS KMS keys"). Only through S3, only for this archive.
      statements.push({
        Sid: 'EncryptUploadsWithArchiveKey',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: props.archive.kmsKeyArn,
        Condition: {
          // S3 calls KMS from the bucket's region, which for a central archive may not be this stack's.
          StringEquals: { 'kms:ViaService': `s3.${props.archive.region}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [props.archive.bucketArn, props.archive.objectsArn(props.prefix)] },
        },
      });
    }
    this.policy = named(new IamPolicy(this, 'policy', {
      name: props.name,
      description: 'Lets the log rescue command upload this instance\'s logs to the archive, nothing more',
      policy: policyDocument(statements),
    }), 'instance_upload');
    for (const role of props.attachToRoles ?? []) {
      named(new IamRolePolicyAttachment(this, `attach-${role}`, { role, policyArn: this.policy.arn }), `instance_upload_${addressName(role)}`);
    }
  }
}
