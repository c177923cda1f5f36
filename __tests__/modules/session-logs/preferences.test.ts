/**
 * SessionPreferences on a bare stack, next to the SessionLogGroup it streams to: the Session
 * document its flat props make in either mode (inputs, escaping, addresses, import); then what the
 * session-logs stack gives it from config (defaults, names, "none", legacy addresses, outputs).
 * @lane synth
 */
import { onlyResource, resourcesOf, StackJson } from '../../support/stack-json';
import { bareStack, synthBare } from '../../support/bare-stack';
import { addressOf, sessionStack, terraformUnescape } from '../../stacks/session-logs.helpers';
import { SessionLogGroup, SessionLogGroupProps } from '../../../modules/session-logs/log-group';
import { SessionPreferences, SessionPreferencesProps } from '../../../modules/session-logs/preferences';

const SESSION_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const GROUP_KEY = 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-21ba-43dc-65fe-0987654321ba';

type Props = Omit<SessionPreferencesProps, 'logGroup' | 'aws'>;
type GroupProps = Omit<SessionLogGroupProps, 'aws'>;

const PROPS: Props = {
  mode: 'custom',
  idleSessionTimeoutMinutes: 15,
  maxSessionDurationMinutes: 120,
  runAsEnabled: true,
  runAsDefaultUser: 'ops',
  shellProfile: { linux: 'cd ${HOME}; exec bash -l', windows: 'Set-Location C:\\' },
  namePrefix: 'acme-prod',
};

const GROUP: GroupProps = { name: '/acme/sessions', retentionDays: 3, logGroupClass: 'STANDARD', kms: 'none', namePrefix: 'acme-prod' };

/** The preferences (construct id `preferences`) on a bare stack, streaming to a SessionLogGroup (id `log-group`). */
function synth(over: Partial<Props> = {}, group: Partial<GroupProps> = {}): { s: StackJson; prefs: SessionPreferences } {
  const b = bareStack();
  const logGroup = new SessionLogGroup(b.stack, 'log-group', { ...GROUP, ...group, aws: b.aws });
  const prefs = new SessionPreferences(b.stack, 'preferences', { ...PROPS, ...over, logGroup, aws: b.aws });
  return { s: synthBare(b.stack), prefs };
}

const documentOf = (s: StackJson) => onlyResource(s, 'aws_ssm_document');
const contentOf = (s: StackJson) => JSON.parse(terraformUnescape(documentOf(s).content));
/** The `removed` blocks for session documents (the log group adds its own for a key it no longer makes). */
const removedDocuments = (s: StackJson) => (s.removed ?? []).filter((r) => r.from.startsWith('aws_ssm_document.'));


/** The document inputs the bare test's props give: /acme/sessions, 15/120 minutes, run as ops, a shell profile, no S3 upload, no key. */
const BARE_INPUTS = {
  cloudWatchLogGroupName: '/acme/sessions',
  cloudWatchStreamingEnabled: true,
  cloudWatchEncryptionEnabled: false,
  s3BucketName: '',
  s3KeyPrefix: '',
  s3EncryptionEnabled: true,
  idleSessionTimeout: '15',
  maxSessionDuration: '120',
  runAsEnabled: true,
  runAsDefaultUser: 'ops',
  shellProfile: { linux: 'cd ${HOME}; exec bash -l', windows: 'Set-Location C:\\' },
  kmsKeyId: '',
};
describe('SessionPreferences', () => {
  describe('custom mode', () => {
    const { s, prefs } = synth();

    it('writes a JSON Session document of its own, named <namePrefix>-session-preferences, made after the log group', () => {
      const doc = documentOf(s);
      expect(doc).toMatchObject({ name: 'acme-prod-session-preferences', document_type: 'Session', document_format: 'JSON' });
      expect(prefs.documentName).toBe('acme-prod-session-preferences');
      expect(Object.keys(resourcesOf(s, 'aws_cloudwatch_log_group'))).toEqual(['sessions']);
      expect(doc.depends_on).toEqual(['aws_cloudwatch_log_group.sessions']);
      expect(s.import).toBeUndefined();
    });

    it('takes the name it is given', () => {
      const named = synth({ customName: 'acme-sessions' });
      expect(documentOf(named.s).name).toBe('acme-sessions');
      expect(named.prefs.documentName).toBe('acme-sessions');
    });

    it('streams to the log group it is given, uploads nothing to S3 directly, and writes timeouts, run-as and shell profile as inputs', () => {
      const content = contentOf(s);
      expect(content).toMatchObject({ schemaVersion: '1.0', sessionType: 'Standard_Stream' });
      expect(content.inputs).toEqual(BARE_INPUTS);
      // What it exposes as `inputs` is what the document holds.
      expect(prefs.inputs).toEqual(content.inputs);
    });

    it('passes `${...}` in a shell profile to AWS as written, not as a Terraform interpolation', () => {
      expect(documentOf(s).content).toContain('cd $${HOME}');
    });

    it('writes no session limit for 0 minutes, and no run-as user while run-as is off', () => {
      const inputs = contentOf(synth({ maxSessionDurationMinutes: 0, runAsEnabled: false }).s).inputs;
      expect(inputs).toMatchObject({ maxSessionDuration: '', runAsEnabled: false, runAsDefaultUser: '' });
    });

    it('turns CloudWatch encryption on when the log group has a key, created or given', () => {
      expect(contentOf(synth({}, { kms: 'create' }).s).inputs.cloudWatchEncryptionEnabled).toBe(true);
      expect(contentOf(synth({}, { kms: GROUP_KEY }).s).inputs.cloudWatchEncryptionEnabled).toBe(true);
    });

    it('forgets the account\'s document that adopt mode kept, instead of deleting it, and is not itself protected', () => {
      expect(prefs.document.node.path).toMatch(/\/preferences\/document$/);
      expect(Object.keys(resourcesOf(s, 'aws_ssm_document'))).toEqual(['preferences']);
      expect(documentOf(s).lifecycle).toBeUndefined();
      expect(removedDocuments(s)).toEqual([{ from: 'aws_ssm_document.regional_preferences', lifecycle: { destroy: false } }]);
    });
  });

  describe('adopt mode', () => {
    const ADOPT: Partial<Props> = { mode: 'adopt' };
    const { s, prefs } = synth(ADOPT);

    it('takes over SSM-SessionManagerRunShell with a Terraform import block, at an address of its own, protected from destroy', () => {
      expect(documentOf(s)).toMatchObject({ name: 'SSM-SessionManagerRunShell', document_type: 'Session', lifecycle: { prevent_destroy: true } });
      expect(prefs.documentName).toBe('SSM-SessionManagerRunShell');
      expect(prefs.document.node.path).toMatch(/\/preferences\/regional-document$/);
      expect(Object.keys(resourcesOf(s, 'aws_ssm_document'))).toEqual(['regional_preferences']);
      expect(s.import).toEqual([{ to: 'aws_ssm_document.regional_preferences', id: 'SSM-SessionManagerRunShell' }]);
      // Whatever sat at the custom document's address is forgotten, never deleted.
      expect(removedDocuments(s)).toEqual([{ from: 'aws_ssm_document.preferences', lifecycle: { destroy: false } }]);
    });

    it('adopts the regional document whatever custom name it is given', () => {
      expect(documentOf(synth({ ...ADOPT, customName: 'acme-sessions' }).s).name).toBe('SSM-SessionManagerRunShell');
    });

    it('keeps the S3 upload and session key it is given, so adopting switches nothing off', () => {
      const kept = contentOf(synth({
        ...ADOPT,
        s3Logging: { bucketName: 'acme-session-transcripts', keyPrefix: 'ssm/', encryptionEnabled: false },
        sessionKmsKeyArn: SESSION_KEY,
      }).s).inputs;
      expect(kept).toMatchObject({ s3BucketName: 'acme-session-transcripts', s3KeyPrefix: 'ssm/', s3EncryptionEnabled: false, kmsKeyId: SESSION_KEY });
      expect(contentOf(s).inputs).toMatchObject({ s3BucketName: '', s3KeyPrefix: '', s3EncryptionEnabled: true, kmsKeyId: '' });
    });
  });
});

describe('in the session-logs stack', () => {
  it('by default: a custom document <project>-<environment>-session-preferences after the stack\'s log group, with the documented defaults and the command to start sessions with', () => {
    const s = sessionStack();
    const doc = documentOf(s);
    expect(doc).toMatchObject({ name: 'logrescue-dev-session-preferences', document_type: 'Session', document_format: 'JSON' });
    expect(doc.depends_on).toEqual([addressOf(s, 'aws_cloudwatch_log_group', 'log-group/group')]);
    expect(s.import).toBeUndefined();
    expect(s.output!.session_document_name.value).toBe('logrescue-dev-session-preferences');
    expect(s.output!.start_session_command.value).toBe('aws ssm start-session --target <instance-id> --document-name logrescue-dev-session-preferences');
    expect(contentOf(s).inputs).toEqual({
      cloudWatchLogGroupName: '/aws/ssm/session-logs',
      cloudWatchStreamingEnabled: true,
      cloudWatchEncryptionEnabled: false,
      s3BucketName: '',
      s3KeyPrefix: '',
      s3EncryptionEnabled: true,
      idleSessionTimeout: '20',
      maxSessionDuration: '',
      runAsEnabled: false,
      runAsDefaultUser: '',
      shellProfile: { linux: '', windows: '' },
      kmsKeyId: '',
    });
    // Leaving adopt mode forgets the account's document, at its address and at the hashed one
    // earlier versions of the stack kept it at.
    expect(addressOf(s, 'aws_ssm_document', 'preferences/document')).toBe('aws_ssm_document.preferences');
    expect(s.removed).toContainEqual({ from: 'aws_ssm_document.regional_preferences', lifecycle: { destroy: false } });
    expect(s.removed).toContainEqual({ from: expect.stringMatching(/^aws_ssm_document\.preferences_regional-document_[0-9A-F]+$/), lifecycle: { destroy: false } });
    expect(s.removed!.map((r) => r.from)).not.toContain('aws_ssm_document.preferences');
  });

  it('takes name, timeouts, run-as, shell profile, S3 upload and session key from config, and the log group\'s name and key', () => {
    const s = sessionStack({
      logGroup: { kms: 'create', name: '/acme/sessions' },
      sessionDocument: {
        customName: 'acme-sessions', idleSessionTimeoutMinutes: 15, maxSessionDurationMinutes: 120,
        runAsEnabled: true, runAsDefaultUser: 'ops', shellProfile: { linux: 'cd ${HOME}; exec bash -l', windows: 'Set-Location C:\\' },
        s3Logging: { bucketName: 'acme-session-transcripts', keyPrefix: 'ssm/', encryptionEnabled: true },
        sessionKmsKeyArn: SESSION_KEY,
      },
    });
    expect(documentOf(s).name).toBe('acme-sessions');
    expect(s.output!.session_document_name.value).toBe('acme-sessions');
    // The same preferences as the bare test's, plus the S3 upload, session key and log encryption the config adds.
    expect(contentOf(s).inputs).toEqual({
      ...BARE_INPUTS,
      cloudWatchEncryptionEnabled: true, s3BucketName: 'acme-session-transcripts', s3KeyPrefix: 'ssm/', kmsKeyId: SESSION_KEY,
    });
  });

  it('adopt: imports the regional document, forgets what earlier versions kept at the custom address, reads "none" as no S3 upload and no session key, and outputs no start-session command', () => {
    const s = sessionStack({ sessionDocument: { mode: 'adopt', s3Logging: 'none', sessionKmsKeyArn: 'none' } });
    expect(documentOf(s)).toMatchObject({ name: 'SSM-SessionManagerRunShell', lifecycle: { prevent_destroy: true } });
    const address = addressOf(s, 'aws_ssm_document', 'preferences/regional-document');
    expect(s.import).toEqual([{ to: address, id: 'SSM-SessionManagerRunShell' }]);
    // (The address every earlier version of this stack kept the document at, in both modes.)
    expect(s.removed).toContainEqual({ from: 'aws_ssm_document.preferences_document_57F88763', lifecycle: { destroy: false } });
    expect(s.removed).toContainEqual({ from: 'aws_ssm_document.preferences', lifecycle: { destroy: false } });
    expect(s.removed!.map((r) => r.from)).not.toContain(address);
    expect(contentOf(s).inputs).toMatchObject({ s3BucketName: '', s3KeyPrefix: '', kmsKeyId: '' });
    expect(s.output!.session_document_name.value).toBe('SSM-SessionManagerRunShell');
    // Every session uses the regional document; no --document-name needed.
    expect(s.output!.start_session_command).toBeUndefined();
  });
});
