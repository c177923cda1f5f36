import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { SsmDocument } from '@cdktf/provider-aws/lib/ssm-document';
import { AwsContext } from '../shared/aws-context';
import { policyDocument } from '../shared/iam';
import { escapeTemplate, multilineText } from '../shared/terraform-text';
import { named, retainIfRemoved } from '../shared/addresses';

/** The regional document whose inputs are the default preferences of every Standard_Stream session. */
export const DEFAULT_SESSION_DOCUMENT = 'SSM-SessionManagerRunShell';
/** Address names of the two modes' documents: distinct, so switching modes forgets one and never renames or deletes it. */
const ADOPTED_DOCUMENT = 'regional_preferences';
const CUSTOM_DOCUMENT = 'preferences';

export interface SessionPreferencesProps {
  /**
   * `adopt`: take over the regional SSM-SessionManagerRunShell (imported, never deleted).
   * `custom`: write a document of its own, used with `start-session --document-name`.
   */
  readonly mode: 'adopt' | 'custom';
  /**
   * Name of the custom document (custom mode only).
   * @default `<namePrefix>-session-preferences`
   */
  readonly customName?: string;
  readonly idleSessionTimeoutMinutes: number;
  /** 0 means no limit. */
  readonly maxSessionDurationMinutes: number;
  readonly runAsEnabled: boolean;
  /**
   * The OS user sessions run as, when runAsEnabled.
   * @default none
   */
  readonly runAsDefaultUser?: string;
  /** Commands run at session start, per platform. */
  readonly shellProfile: { readonly linux: string; readonly windows: string };
  /**
   * Session Manager's own upload of transcripts to S3 (the document's s3BucketName, s3KeyPrefix,
   * s3EncryptionEnabled).
   * @default no upload (Firehose archives the sessions)
   */
  readonly s3Logging?: { readonly bucketName: string; readonly keyPrefix: string; readonly encryptionEnabled: boolean };
  /**
   * KMS key for session data between client and instance (the document's kmsKeyId).
   * @default no session encryption beyond TLS
   */
  readonly sessionKmsKeyArn?: string;
  /**
   * The log group sessions stream to: its name; its key, since the agent refuses to stream to an
   * unencrypted group when encryption is on; and its resource, created before the document so no
   * session ever points at a group that does not exist yet. A SessionLogGroup is one.
   */
  readonly logGroup: {
    readonly name: string;
    /**
     * The group's KMS key; when set, the preferences turn on cloudWatchEncryptionEnabled.
     * @default none: the agent streams without the encryption check, and CloudWatch Logs still
     * encrypts the group at rest with its own key ("Log group data is always encrypted in CloudWatch
     * Logs", CloudWatch Logs User Guide, encrypt-log-data-kms.html)
     */
    readonly kmsKeyArn?: string;
    readonly logGroup: ITerraformDependable;
  };
  /** `<project>-<environment>`: the custom document is `<namePrefix>-session-preferences`. */
  readonly namePrefix: string;
  readonly aws: AwsContext;
}

/**
 * Session Manager preferences as a Session document (schemaVersion 1.0, Standard_Stream): stream
 * to CloudWatch Logs, no direct S3 upload (Firehose archives the stream), timeouts, run-as and
 * shell profile. Either adopts the regional default document through a Terraform `import` block,
 * or writes a document of its own that users name in `start-session`.
 */
export class SessionPreferences extends Construct {
  readonly document: SsmDocument;
  readonly documentName: string;
  /** The inputs as written into the document, for readers that want them without parsing. */
  readonly inputs: Record<string, unknown>;
  /**
   * Custom mode only: what operators need to start sessions that are logged. Attach it to the
   * operators' roles instead of a policy that allows `ssm:StartSession` on any document.
   */
  readonly operatorPolicy?: IamPolicy;

  constructor(scope: Construct, id: string, props: SessionPreferencesProps) {
    super(scope, id);
    this.documentName = props.mode === 'adopt' ? DEFAULT_SESSION_DOCUMENT : (props.customName ?? `${props.namePrefix}-session-preferences`);

    // Session documents take every input as a string or boolean; an empty string means "not set".
    // S3 upload is what the config states; in adopt mode it must state it, so an account's S3
    // upload is never switched off by accident.
    const s3 = props.s3Logging;
    this.inputs = {
      cloudWatchLogGroupName: props.logGroup.name,
      cloudWatchStreamingEnabled: true,
      cloudWatchEncryptionEnabled: props.logGroup.kmsKeyArn !== undefined,
      s3BucketName: s3?.bucketName ?? '',
      s3KeyPrefix: s3?.keyPrefix ?? '',
      s3EncryptionEnabled: s3?.encryptionEnabled ?? true,
      idleSessionTimeout: String(props.idleSessionTimeoutMinutes),
      maxSessionDuration: props.maxSessionDurationMinutes > 0 ? String(props.maxSessionDurationMinutes) : '',
      runAsEnabled: props.runAsEnabled,
      runAsDefaultUser: props.runAsEnabled ? (props.runAsDefaultUser ?? '') : '',
      shellProfile: { linux: props.shellProfile.linux, windows: props.shellProfile.windows },
      kmsKeyId: props.sessionKmsKeyArn ?? '',
    };

    // The two modes keep their documents at different addresses. Adopt mode's is the account's
    // regional preferences document: deleting it (a destroy, or a replace when the name changes)
    // resets Session Manager for the whole region. So it is protected from destroy, and whichever
    // document the current mode does not manage is forgotten, never deleted (a `removed` block): the
    // account keeps SSM-SessionManagerRunShell when leaving adopt mode, and a custom document (or one
    // adopted before adopt mode had its own address) is left in place when switching to it.
    const adopt = props.mode === 'adopt';
    retainIfRemoved(this, 'aws_ssm_document', adopt ? CUSTOM_DOCUMENT : ADOPTED_DOCUMENT);
    this.document = named(new SsmDocument(this, adopt ? 'regional-document' : 'document', {
      name: this.documentName,
      lifecycle: adopt ? { preventDestroy: true } : undefined,
      documentType: 'Session',
      documentFormat: 'JSON',
      content: multilineText(escapeTemplate(JSON.stringify({
        schemaVersion: '1.0',
        description: 'Session Manager preferences: stream sessions to CloudWatch Logs (archived to S3 by Firehose)',
        sessionType: 'Standard_Stream',
        inputs: this.inputs,
      }, null, 2))),
      dependsOn: [props.logGroup.logGroup],
    }), adopt ? ADOPTED_DOCUMENT : CUSTOM_DOCUMENT);

    if (adopt) {
      this.document.importFrom(DEFAULT_SESSION_DOCUMENT);
      return;
    }

    // A custom document holds preferences only for sessions started with it: the console, Fleet
    // Manager and `start-session` without `--document-name` use SSM-SessionManagerRunShell, which
    // would not log. With ssm:SessionDocumentAccessCheck, Session Manager checks the caller may use
    // the document a session starts with, the default one included; this policy names only ours
    // (AWS Systems Manager User Guide, "Start a default shell session by specifying the default
    // session document in IAM policies" and "Enforce a session document permission check for the
    // AWS CLI").
    const { aws } = props;
    this.operatorPolicy = named(new IamPolicy(this, 'operator-policy', {
      name: `${props.namePrefix}-session-operator`,
      description: `Start Session Manager sessions only with ${this.documentName}, so every session is logged`,
      policy: policyDocument([
        {
          Sid: 'StartLoggedSessionsOnly',
          Effect: 'Allow',
          Action: 'ssm:StartSession',
          Resource: [aws.arn('ec2', 'instance/*'), aws.arn('ssm', `document/${this.documentName}`)],
          Condition: { BoolIfExists: { 'ssm:SessionDocumentAccessCheck': 'true' } },
        },
        {
          // The session manager plugin ends (and may resume) sessions. Session ids start with the
          // caller's role session or user name, which this stack cannot know, so the resource is
          // every session of this account and region, not other accounts' or regions'.
          Sid: 'EndSessions',
          Effect: 'Allow',
          Action: ['ssm:TerminateSession', 'ssm:ResumeSession'],
          Resource: aws.arn('ssm', 'session/*'),
        },
      ]),
    }), 'session_operator');
  }
}
