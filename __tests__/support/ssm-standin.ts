/**
 * A local stand-in for the SSM calls the AWS provider makes to read (and so import) an
 * aws_ssm_document, holding SSM-SessionManagerRunShell as the Session Manager console creates it.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * Answers the SSM calls the AWS provider makes to read an aws_ssm_document, for one document as
 * the Session Manager console creates it (or reports it missing).
 */
export async function startSsmStandIn(documentExists: boolean): Promise<{ url: string; close: () => Promise<void>; calls: string[] }> {
  const name = 'SSM-SessionManagerRunShell';
  const content = JSON.stringify({
    schemaVersion: '1.0',
    description: 'Document to hold regional settings for Session Manager',
    sessionType: 'Standard_Stream',
    inputs: {
      s3BucketName: '', s3KeyPrefix: '', s3EncryptionEnabled: true, cloudWatchLogGroupName: '', cloudWatchEncryptionEnabled: true,
      cloudWatchStreamingEnabled: true, idleSessionTimeout: '20', maxSessionDuration: '', kmsKeyId: '', runAsEnabled: false,
      runAsDefaultUser: '', shellProfile: { windows: '', linux: '' },
    },
  });
  const document = {
    Name: name, DocumentType: 'Session', DocumentFormat: 'JSON', SchemaVersion: '1.0', Status: 'Active',
    DocumentVersion: '1', LatestVersion: '1', DefaultVersion: '1', Owner: '123456789012', CreatedDate: 1700000000,
    PlatformTypes: ['Windows', 'Linux', 'MacOS'], Hash: '0'.repeat(64), HashType: 'Sha256',
    Description: 'Document to hold regional settings for Session Manager',
  };
  const answers: Record<string, unknown> = {
    'AmazonSSM.DescribeDocument': { Document: document },
    'AmazonSSM.GetDocument': { Name: name, Content: content, DocumentFormat: 'JSON', DocumentType: 'Session', DocumentVersion: '1', Status: 'Active' },
    'AmazonSSM.DescribeDocumentPermission': { AccountIds: [], AccountSharingInfoList: [] },
    'AmazonSSM.ListTagsForResource': { TagList: [] },
  };
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      calls.push(target);
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (!documentExists && target === 'AmazonSSM.DescribeDocument') {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'InvalidDocument', Message: `Document with name ${name} does not exist.` }));
      } else if (target in answers) {
        res.end(JSON.stringify(answers[target]));
      } else {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ValidationException', Message: `the SSM stand-in does not answer ${target}` }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
