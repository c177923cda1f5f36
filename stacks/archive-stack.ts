import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { AppConfig, OrganisationConfig } from '../config/schema';
import { policyDocument, PolicyStatement } from '../modules/shared/iam';
import { archiveBucketSettings, LogArchiveBucket } from '../modules/shared/log-archive-bucket';
import { firehoseRoleName } from '../modules/session-logs/firehose';
import { BaseStack } from './base-stack';
import { namePrefixIn } from './placement';

/**
 * `${aws:PrincipalAccount}` as the policy variable IAM evaluates, not a Terraform interpolation:
 * cdktf's rawString writes it as `$${`, which Terraform turns into a literal `${` (Terraform
 * language, "Strings and Templates", escape sequences), and IAM replaces the variable with the
 * requester's account (IAM User Guide, "IAM policy elements: Variables and tags": variables in the
 * Resource element and in condition values). A plain `${` in a string would make cdktf warn.
 */
export const PRINCIPAL_ACCOUNT = Fn.rawString('${aws:PrincipalAccount}');

/**
 * The log-archive account's stack (organisation): one bucket and one KMS key for every member
 * account and region. Members may put objects under their own account's prefix and nothing else:
 * the bucket policy names the members' accounts, requires the organisation, and reaches only
 * `<bucket>/${aws:PrincipalAccount}/*`; the key is usable by them only through S3 in this region.
 * Object ownership is BucketOwnerEnforced (the archive module), so this account owns every object.
 */
export class ArchiveStack extends BaseStack {
  readonly archive: LogArchiveBucket;

  constructor(scope: Construct, config: AppConfig, org: OrganisationConfig) {
    const home: AppConfig = { ...config, region: org.archive.region };
    super(scope, 'archive', home, { id: 'archive', namePrefix: namePrefixIn(home, org.archive.region), deployRoleArn: org.archive.deployRoleArn });
    const aws = this.aws;
    const members = org.members.map((m) => `arn:${aws.partition}:iam::${m.accountId}:root`);
    const inOrg = { 'aws:PrincipalOrgID': org.id };
    // Any member's delivery role, in any region (other regions add a code to the name prefix).
    const firehoseRoles = `arn:${aws.partition}:iam::*:role/${firehoseRoleName(`${config.project}-${config.environment}*`)}`;

    this.archive = new LogArchiveBucket(this, 'archive', {
      // The rescue flow's lifecycle settings for the one bucket both flows share here.
      ...archiveBucketSettings(config.logRescue.archiveBucket),
      existingBucketName: undefined,
      bucketName: org.archive.bucketName,
      encryption: 'SSE-KMS',
      kmsKeyArn: undefined,
      objectLock: org.archive.objectLock,
      aws,
      namePrefix: `${this.namePrefix}-archive`,
      addressName: 'archive',
      extraStatements: (bucket) => memberStatements(bucket, members, inOrg, firehoseRoles),
      keyPolicy: policyDocument([
        // KMS's default statement: the account administers the key and may allow its use by IAM
        // (AWS KMS Developer Guide, "Default key policy"); without it nobody could manage the key.
        { Sid: 'AccountAdministersKey', Effect: 'Allow', Principal: { AWS: `arn:${aws.partition}:iam::${aws.accountId}:root` }, Action: 'kms:*', Resource: '*' },
        // Members' uploads: S3 asks for a data key on the writer's behalf (GenerateDataKey) and, for
        // multipart uploads, decrypts it again (Decrypt) (Amazon S3 User Guide, "Multipart upload
        // API and permissions"); only through S3 in the bucket's region, for this bucket (its ARN is
        // the encryption context with S3 Bucket Keys on), from the organisation.
        {
          Sid: 'MembersEncryptThroughS3Only',
          Effect: 'Allow',
          Principal: { AWS: members },
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: '*',
          Condition: {
            StringEquals: { 'kms:ViaService': `s3.${aws.region}.amazonaws.com`, ...inOrg },
            StringLike: { 'kms:EncryptionContext:aws:s3:arn': [`arn:${aws.partition}:s3:::${org.archive.bucketName}`, `arn:${aws.partition}:s3:::${org.archive.bucketName}/${PRINCIPAL_ACCOUNT}/*`] },
          },
        },
      ]),
    });

    this.output('bucket_name', this.archive.bucketName, 'The central archive bucket every member writes to');
    this.output('bucket_arn', this.archive.bucketArn, 'ARN of the central archive bucket');
    this.output('kms_key_arn', this.archive.kmsKeyArn!, 'The key objects are encrypted with; member stacks read it from this state');
  }
}

/** What the members may do in the bucket: write under their own account's prefix; Firehose a little more. */
function memberStatements(bucket: string, members: string[], inOrg: Record<string, string>, firehoseRoles: string): PolicyStatement[] {
  const ownPrefix = `${bucket}/${PRINCIPAL_ACCOUNT}/*`;
  return [
    // Instance roles (the rescue command's upload policy) and Firehose roles: put and abort their
    // own multipart uploads, only under `<their account>/`. No read, list or delete: a member
    // cannot see, delete or overwrite another member's objects.
    { Sid: 'MembersWriteOwnPrefix', Effect: 'Allow', Principal: { AWS: members }, Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: ownPrefix, Condition: { StringEquals: inOrg } },
    // Firehose's S3 destination also needs to find the bucket and read back its own objects
    // (Amazon Data Firehose Developer Guide, "Grant Firehose access to an Amazon S3 destination").
    {
      Sid: 'MemberFirehoseFindsBucket', Effect: 'Allow', Principal: { AWS: members },
      Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: bucket,
      Condition: { StringEquals: inOrg, ArnLike: { 'aws:PrincipalArn': firehoseRoles } },
    },
    {
      Sid: 'MemberFirehoseReadsOwnPrefix', Effect: 'Allow', Principal: { AWS: members },
      Action: 's3:GetObject', Resource: ownPrefix,
      Condition: { StringEquals: inOrg, ArnLike: { 'aws:PrincipalArn': firehoseRoles } },
    },
  ];
}
