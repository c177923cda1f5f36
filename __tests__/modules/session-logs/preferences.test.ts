/** @lane synth */
import { onlyResource } from '../../support/synth';
import { addressOf, sessionStack, terraformUnescape } from '../../stacks/session-logs.helpers';

const SESSION_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const documentOf = (s: any) => onlyResource(s, 'aws_ssm_document');
const contentOf = (s: any) => JSON.parse(terraformUnescape(documentOf(s).content));

describe('session preferences (Session document)', () => {
  it('custom (default): a JSON Session document of its own, named <project>-<environment>-session-preferences', () => {
    const s = sessionStack();
    const doc = documentOf(s);
    expect(doc).toMatchObject({ name: 'logrescue-dev-session-preferences', document_type: 'Session', document_format: 'JSON' });
    expect(doc.depends_on).toEqual([addressOf(s, 'aws_cloudwatch_log_group', 'log-group/group')]);
    expect(s.import).toBeUndefined();
    expect(s.output!.session_document_name.value).toBe('logrescue-dev-session-preferences');
    expect(s.output!.start_session_command.value).toBe('aws ssm start-session --target <instance-id> --document-name logrescue-dev-session-preferences');
  });

  it('streams to the log group, uploads nothing to S3 directly, and has the documented defaults', () => {
    const content = contentOf(sessionStack());
    expect(content).toMatchObject({ schemaVersion: '1.0', sessionType: 'Standard_Stream' });
    expect(content.inputs).toEqual({
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
  });

  it('takes timeouts, run-as, shell profile, session key and name from config; encryption follows the log group key', () => {
    const s = sessionStack({
      logGroup: { kms: 'create', name: '/acme/sessions' },
      sessionDocument: {
        customName: 'acme-sessions', idleSessionTimeoutMinutes: 15, maxSessionDurationMinutes: 120,
        runAsEnabled: true, runAsDefaultUser: 'ops', shellProfile: { linux: 'cd ${HOME}; exec bash -l', windows: 'Set-Location C:\\' },
        sessionKmsKeyArn: SESSION_KEY,
      },
    });
    expect(documentOf(s).name).toBe('acme-sessions');
    // `${HOME}` must reach AWS as written, not as a Terraform interpolation.
    expect(documentOf(s).content).toContain('cd $${HOME}');
    expect(contentOf(s).inputs).toMatchObject({
      cloudWatchLogGroupName: '/acme/sessions',
      cloudWatchEncryptionEnabled: true,
      idleSessionTimeout: '15',
      maxSessionDuration: '120',
      runAsEnabled: true,
      runAsDefaultUser: 'ops',
      shellProfile: { linux: 'cd ${HOME}; exec bash -l', windows: 'Set-Location C:\\' },
      kmsKeyId: SESSION_KEY,
    });
  });

  const ADOPT = { mode: 'adopt', s3Logging: 'none', sessionKmsKeyArn: 'none' };

  it('adopt: takes over SSM-SessionManagerRunShell with a Terraform import block, at an address of its own, protected from destroy', () => {
    const s = sessionStack({ sessionDocument: ADOPT });
    expect(documentOf(s)).toMatchObject({ name: 'SSM-SessionManagerRunShell', document_type: 'Session', lifecycle: { prevent_destroy: true } });
    const address = addressOf(s, 'aws_ssm_document', 'preferences/regional-document');
    expect(s.import).toEqual([{ to: address, id: 'SSM-SessionManagerRunShell' }]);
    // Whatever sat at the custom document's address (a custom document, or the account's document
    // adopted before it had an address of its own) is forgotten, never deleted.
    // (The address every earlier version of this stack kept the document at, in both modes.)
    expect(s.removed).toContainEqual({ from: 'aws_ssm_document.preferences_document_57F88763', lifecycle: { destroy: false } });
    expect(s.removed).toContainEqual({ from: 'aws_ssm_document.preferences', lifecycle: { destroy: false } });
    expect(s.removed!.map((r) => r.from)).not.toContain(address);
    expect(s.output!.session_document_name.value).toBe('SSM-SessionManagerRunShell');
    // Every session uses the regional document; no --document-name needed.
    expect(s.output!.start_session_command).toBeUndefined();
  });

  it('custom: leaving adopt mode forgets the account\'s document instead of deleting it', () => {
    const s = sessionStack();
    const address = addressOf(s, 'aws_ssm_document', 'preferences/document');
    expect(documentOf(s).lifecycle).toBeUndefined();
    expect(address).toBe('aws_ssm_document.preferences');
    expect(s.removed).toContainEqual({ from: 'aws_ssm_document.regional_preferences', lifecycle: { destroy: false } });
    expect(s.removed).toContainEqual({ from: expect.stringMatching(/^aws_ssm_document\.preferences_regional-document_[0-9A-F]+$/), lifecycle: { destroy: false } });
    expect(s.removed!.map((r) => r.from)).not.toContain(address);
  });

  it('adopt: keeps the S3 upload and session key the config states, so adopting switches nothing off', () => {
    const kept = contentOf(sessionStack({ sessionDocument: { mode: 'adopt', s3Logging: { bucketName: 'acme-session-transcripts', keyPrefix: 'ssm/', encryptionEnabled: true }, sessionKmsKeyArn: SESSION_KEY } })).inputs;
    expect(kept).toMatchObject({ s3BucketName: 'acme-session-transcripts', s3KeyPrefix: 'ssm/', s3EncryptionEnabled: true, kmsKeyId: SESSION_KEY });
    const off = contentOf(sessionStack({ sessionDocument: ADOPT })).inputs;
    expect(off).toMatchObject({ s3BucketName: '', s3KeyPrefix: '', kmsKeyId: '' });
  });
});
