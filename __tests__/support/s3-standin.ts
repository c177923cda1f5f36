/**
 * A local stand-in for S3's PutObject, for running a real S3 client (the AWS CLI) against it. It does
 * what S3 does where an upload's integrity and encryption are concerned, and answers in S3's words:
 *
 * - Path-style requests (`/<bucket>/<key>`, what botocore sends to an IP endpoint). PutObject and the
 *   multipart upload (CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 *   AbortMultipartUpload) are served, and for readers GetObject (the latest version, or `versionId`
 *   when it is that one; `x-amz-checksum-*` only with `x-amz-checksum-mode: ENABLED`, as S3 does)
 *   and ListObjectsV2 (`prefix`, `delimiter`, continuation tokens; `listPageSize` keys per page);
 *   anything else is `501 NotImplemented`. An unknown bucket is
 *   `404 NoSuchBucket`.
 * - Multipart as S3 does it ("Amazon S3 multipart upload limits",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html; API reference, UploadPart,
 *   CompleteMultipartUpload, CompletedPart): part numbers 1..10,000 and parts of at most 5 GiB
 *   (`InvalidArgument`, `EntityTooLarge`); each part's digests checked like a PutObject's
 *   (`BadDigest`), and a part checksum of another algorithm than the upload's is `InvalidRequest`.
 *   On completion: at least one part (`MalformedXML`), ascending part numbers (`InvalidPartOrder`),
 *   every listed part uploaded with that ETag and, for an upload created with a checksum
 *   algorithm, that checksum (`InvalidPart`), every part but the last at least 5 MiB
 *   (`EntityTooSmall`). The object then gets the composite checksum (the digest of the parts' raw
 *   digests, `-<parts>` appended; "Checking object integrity",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html), an ETag
 *   of the same form over the parts' MD5s, and a VersionId. SSE is given at creation and applies to
 *   the object. An unknown or finished upload id is `404 NoSuchUpload`.
 * - Signature Version 4 is checked with the stand-in's one access key: a missing or foreign key,
 *   a scope region other than the bucket's (`AuthorizationHeaderMalformed`), a request older or newer
 *   than 15 minutes, or a wrong signature (`SignatureDoesNotMatch`) is refused.
 * - The payload: a plain body, or `Content-Encoding: aws-chunked` (botocore's trailing-checksum
 *   upload, `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`) decoded chunk by chunk, its
 *   trailer read and its length checked against `x-amz-decoded-content-length`.
 * - Digests are checked against the bytes received before anything is stored: `Content-MD5`
 *   (`InvalidDigest` when it is not a base64 MD5, `BadDigest` when it differs), one
 *   `x-amz-checksum-sha256`/`-sha1`/`-crc32`/`-crc32c` header or trailer (`InvalidRequest` when malformed or more than
 *   one, `BadDigest` when it differs), then a hex `x-amz-content-sha256` (`XAmzContentSHA256Mismatch`).
 *   When more than one would fail, this stand-in answers the first of that list; which one real S3
 *   names first is not known here, only that it refuses.
 * - Server-side encryption: `AES256`, `aws:kms` (with or without `x-amz-server-side-encryption-aws-kms-key-id`)
 *   or `aws:kms:dsse`; anything else, or a KMS key id without `aws:kms`, is `InvalidArgument`, and so
 *   is SSE-KMS over plain http ("must be made over a secure connection"). No header means the
 *   bucket default, SSE-S3, as S3 does since January 2023.
 * - A stored object answers `200` with what S3 sends: `ETag` (the MD5 for SSE-S3, not for SSE-KMS),
 *   `x-amz-version-id` (the bucket is versioned), `x-amz-server-side-encryption` and the KMS key id,
 *   `x-amz-checksum-*` when one was checked, `x-amz-request-id`, `x-amz-id-2`, `Server: AmazonS3`.
 *
 * Every request is recorded (headers as received, the decoded payload, trailers, the answer). Tamper
 * mode flips one byte of a payload after it is received and before it is verified, as a corruption
 * on the way would: S3 must then refuse it. Fail mode answers chosen PutObjects with an S3 error
 * (`503 SlowDown`, say) to see what the client does about it.
 *
 * Runs in the test's own process, so the client must be started asynchronously (a synchronous spawn
 * would block the event loop the server answers on).
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeTestTls } from './test-tls';

/** The credentials the stand-in accepts (anything else is refused like an unknown key). */
export const STANDIN_ACCESS_KEY_ID = 'AKIALOGRESCUETEST000';
export const STANDIN_SECRET_ACCESS_KEY = 'log-rescue-test-secret-not-a-real-key-0000';
/** The account the stand-in's AWS managed key (`aws/s3`) belongs to. */
const ACCOUNT = '123456789012';

export interface S3StandInOptions {
  /** Buckets that exist, with their regions. */
  readonly buckets: Record<string, string>;
  /** Serve https with a throwaway CA (see caPem), as S3 does; false serves plain http. @default true */
  readonly tls?: boolean;
  /** Keys per ListObjectsV2 page (S3's is 1,000), small to make a client page. @default 1000 */
  readonly listPageSize?: number;
}

export interface RecordedRequest {
  readonly method: string;
  /** The request target as sent (path and query, still percent-encoded). */
  readonly url: string;
  readonly bucket?: string;
  readonly key?: string;
  /** Headers by lower-case name, as received (repeats joined with ", "). */
  readonly headers: Record<string, string>;
  /** Bytes on the wire after HTTP framing (before aws-chunked decoding). */
  readonly wireBytes: number;
  /** The payload after aws-chunked decoding, before any tampering. */
  readonly payload: Buffer;
  /** aws-chunked trailers by lower-case name. */
  readonly trailers: Record<string, string>;
  readonly tampered: boolean;
  readonly status: number;
  /** S3's error code when refused. */
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly responseHeaders: Record<string, string>;
}

export interface StoredObject {
  readonly body: Buffer;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly serverSideEncryption: string;
  readonly kmsKeyId?: string;
  readonly checksum?: { algorithm: string; value: string };
  readonly etag: string;
  readonly versionId: string;
  /** Parts the object was assembled from (1 for a PutObject). */
  readonly parts: number;
  readonly lastModified?: Date;
}

/** A multipart upload in progress. */
export interface MultipartUpload {
  readonly bucket: string;
  readonly key: string;
  readonly contentType?: string;
  readonly serverSideEncryption: string;
  readonly kmsKeyId?: string;
  /** The checksum algorithm given at creation (`SHA256`), if any. */
  readonly checksumAlgorithm?: string;
  readonly parts: Map<number, { body: Buffer; etag: string; md5: Buffer; checksum?: string }>;
}

/** What a test can make S3 refuse: the operation and the object key. */
export type S3Operation = 'PutObject' | 'CreateMultipartUpload' | 'UploadPart' | 'CompleteMultipartUpload' | 'AbortMultipartUpload'
  | 'GetObject' | 'ListObjectsV2';

class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly extra: Record<string, string> = {}) {
    super(message);
  }
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const sha256Hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** A reflected CRC-32 with polynomial `poly`, big-endian, as S3's x-amz-checksum-crc32/-crc32c. */
function crc32Of(poly: number): (b: Buffer) => Buffer {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    table[n] = c >>> 0;
  }
  return (b) => {
    let c = 0xffffffff;
    for (const byte of b) c = table[(c ^ byte) & 0xff] ^ (c >>> 8);
    const out = Buffer.alloc(4);
    out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
    return out;
  };
}
const nodeHash = (alg: string) => (b: Buffer) => createHash(alg).update(b).digest();

/** The checksum algorithms S3 offers that this stand-in computes, by header suffix (not CRC64NVME). */
const CHECKSUMS: Record<string, { name: string; digest: (b: Buffer) => Buffer; bytes: number }> = {
  sha256: { name: 'SHA256', digest: nodeHash('sha256'), bytes: 32 },
  sha1: { name: 'SHA1', digest: nodeHash('sha1'), bytes: 20 },
  crc32: { name: 'CRC32', digest: crc32Of(0xedb88320), bytes: 4 },
  crc32c: { name: 'CRC32C', digest: crc32Of(0x82f63b78), bytes: 4 },
};
const UNSUPPORTED_CHECKSUMS = ['crc64nvme'];

/** Strict base64 of exactly `bytes` bytes. */
function isBase64Of(value: string, bytes: number): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  const raw = Buffer.from(value, 'base64');
  return raw.length === bytes && raw.toString('base64') === value;
}

/**
 * The aws-chunked body: `<hex-size>[;chunk-signature=...]\r\n<data>\r\n` ... `0\r\n` then trailer
 * lines `name:value\r\n` and an empty line. Unsigned chunks only.
 */
export function decodeAwsChunked(body: Buffer): { payload: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  let pos = 0;
  const line = (): string => {
    const end = body.indexOf('\r\n', pos, 'latin1');
    if (end < 0) throw new S3Error(400, 'IncompleteBody', 'The request body terminated unexpectedly');
    const text = body.subarray(pos, end).toString('latin1');
    pos = end + 2;
    return text;
  };
  for (;;) {
    const header = line();
    const m = /^([0-9a-fA-F]+)(;.*)?$/.exec(header);
    if (!m) throw new S3Error(400, 'InvalidChunkSizeError', 'Only the last chunk is allowed to have a size less than 8192 bytes');
    if (m[2] !== undefined) throw new S3Error(501, 'NotImplemented', 'Signed aws-chunked payloads are not implemented by this stand-in');
    const size = parseInt(m[1], 16);
    if (size === 0) break;
    if (pos + size + 2 > body.length || body.subarray(pos + size, pos + size + 2).toString('latin1') !== '\r\n') {
      throw new S3Error(400, 'IncompleteBody', 'The request body terminated unexpectedly');
    }
    parts.push(body.subarray(pos, pos + size));
    pos += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (let t = line(); t !== ''; t = line()) {
    const colon = t.indexOf(':');
    if (colon <= 0) throw new S3Error(400, 'MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
    trailers[t.slice(0, colon).trim().toLowerCase()] = t.slice(colon + 1).trim();
  }
  if (pos !== body.length) throw new S3Error(400, 'MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
  return { payload: Buffer.concat(parts), trailers };
}

export class S3StandIn {
  /** `https://127.0.0.1:<port>` (or http). */
  readonly endpoint: string;
  /** PEM of the CA the https certificate chains to (empty for http). */
  readonly caPem: string;
  readonly requests: RecordedRequest[] = [];
  /** Stored objects by `<bucket>/<key>`. */
  readonly objects = new Map<string, StoredObject>();
  /** Multipart uploads in progress, by upload id. */
  readonly uploads = new Map<string, MultipartUpload>();
  /** Largest part payload received (bytes). */
  largestPart = 0;
  /** Tamper with the payload of a PutObject whose key this returns true for. */
  tamper: ((key: string) => boolean) | undefined;
  /**
   * Answer a PutObject with this S3 error instead of storing it (after authentication, before the
   * payload is read): e.g. `503 SlowDown`, to see the client retry.
   */
  fail: ((key: string, operation: S3Operation) => { status: number; code: string; message: string } | undefined) | undefined;

  private constructor(private readonly server: http.Server, private readonly opts: S3StandInOptions, caPem: string, tls: boolean) {
    this.caPem = caPem;
    this.endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.tls = tls;
  }

  private readonly tls: boolean;
  /** The bucket's AWS managed key (`aws/s3`), used for SSE-KMS without a key id. */
  private readonly awsManagedKeyId = randomUUID();

  static async start(opts: S3StandInOptions): Promise<S3StandIn> {
    const tls = opts.tls ?? true;
    const material = tls ? makeTestTls() : undefined;
    let standIn: S3StandIn | undefined;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => standIn!.handle(req, res);
    const server = material ? https.createServer({ key: material.keyPem, cert: material.certPem }, handler) : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    standIn = new S3StandIn(server, opts, material?.caPem ?? '', tls);
    return standIn;
  }

  /** Forget requests and objects, and stop tampering. */
  clear(): void {
    this.requests.length = 0;
    this.objects.clear();
    this.uploads.clear();
    this.largestPart = 0;
    this.tamper = undefined;
    this.fail = undefined;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** PutObject requests for one key, in order. */
  putsOf(key: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PUT' && r.key === key && !r.url.includes('?'));
  }

  /** The S3 operation a recorded request was. */
  static operationOf(r: Pick<RecordedRequest, 'method' | 'url'>): S3Operation | 'other' {
    const q = new URLSearchParams(r.url.split('?')[1] ?? '');
    if (r.method === 'PUT') return q.has('uploadId') ? 'UploadPart' : r.url.includes('?') ? 'other' : 'PutObject';
    if (r.method === 'POST') return q.has('uploads') ? 'CreateMultipartUpload' : q.has('uploadId') ? 'CompleteMultipartUpload' : 'other';
    if (r.method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
    const hasKey = /^\/[^/?]+\/[^?]+/.test(r.url);
    if (r.method === 'GET' && hasKey) return 'GetObject';
    if (r.method === 'GET' && !hasKey && q.get('list-type') === '2') return 'ListObjectsV2';
    return 'other';
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.respond(req, res, Buffer.concat(chunks)));
  }

  private respond(req: http.IncomingMessage, res: http.ServerResponse, wire: Buffer): void {
    const headers: Record<string, string> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const n = req.rawHeaders[i].toLowerCase();
      headers[n] = n in headers ? `${headers[n]}, ${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1];
    }
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const responseHeaders: Record<string, string> = {
      'x-amz-request-id': requestId,
      'x-amz-id-2': randomBytes(48).toString('base64'),
      Date: new Date().toUTCString(),
      Server: 'AmazonS3',
    };
    let bucket: string | undefined;
    let key: string | undefined;
    let payload = wire;
    let trailers: Record<string, string> = {};
    let tampered = false;
    let status = 200;
    let error: S3Error | undefined;
    try {
      const [rawPath, query = ''] = (req.url ?? '/').split('?', 2);
      const m = /^\/([^/]+)(?:\/(.*))?$/.exec(rawPath);
      bucket = m ? decodeURIComponent(m[1]) : undefined;
      key = m?.[2] ? decodeURIComponent(m[2]) : undefined;
      if (bucket === undefined || !(bucket in this.opts.buckets)) {
        throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', bucket ? { BucketName: bucket } : {});
      }
      this.authenticate(req.method ?? '', rawPath, query, headers, this.opts.buckets[bucket]);
      const operation = S3StandIn.operationOf({ method: req.method ?? '', url: req.url ?? '' });
      if (operation === 'ListObjectsV2' || operation === 'GetObject') {
        const injected = this.fail?.(key ?? '', operation);
        if (injected) throw new S3Error(injected.status, injected.code, injected.message);
        const answer = operation === 'GetObject' ? this.getObject(bucket, key!, new URLSearchParams(query), headers) : this.listObjects(bucket, new URLSearchParams(query));
        Object.assign(responseHeaders, answer.headers, { 'Content-Length': String(answer.body.length) });
        res.writeHead(200, responseHeaders);
        res.end(answer.body);
        this.record(req, bucket, key, headers, wire, payload, trailers, tampered, 200, undefined, responseHeaders);
        return;
      }
      if (key === undefined || operation === 'other') {
        throw new S3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented (this stand-in serves PutObject and multipart uploads only)');
      }
      const injected = this.fail?.(key, operation);
      if (injected) throw new S3Error(injected.status, injected.code, injected.message);
      ({ payload, trailers } = this.decodePayload(headers, wire));
      if (operation !== 'PutObject') {
        const params = new URLSearchParams(query);
        let checked = payload;
        if (operation === 'UploadPart' && this.tamper?.(key) && payload.length > 0) {
          checked = Buffer.from(payload);
          checked[Math.floor(checked.length / 2)] ^= 0x01;
          tampered = true;
        }
        const answer = this.multipart(operation, bucket, key, params, headers, trailers, checked);
        Object.assign(responseHeaders, answer.headers);
        if (answer.xml !== undefined) {
          Object.assign(responseHeaders, { 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(answer.xml)) });
        } else {
          responseHeaders['Content-Length'] = '0';
        }
        status = answer.status;
        res.writeHead(status, responseHeaders);
        res.end(answer.xml ?? '');
        this.record(req, bucket, key, headers, wire, payload, trailers, tampered, status, undefined, responseHeaders);
        return;
      }
      let checked = payload;
      if (this.tamper?.(key) && payload.length > 0) {
        checked = Buffer.from(payload);
        checked[Math.floor(checked.length / 2)] ^= 0x01;
        tampered = true;
      }
      const checksum = this.verify(headers, trailers, checked);
      const sse = this.encryption(headers, bucket);
      const versionId = randomBytes(24).toString('base64url').slice(0, 32);
      const etag = sse.serverSideEncryption === 'AES256' ? `"${createHash('md5').update(checked).digest('hex')}"` : `"${randomBytes(16).toString('hex')}"`;
      this.objects.set(`${bucket}/${key}`, {
        body: checked,
        contentType: headers['content-type'],
        contentEncoding: headers['content-encoding']?.split(',').map((s) => s.trim()).filter((s) => s !== 'aws-chunked').join(', ') || undefined,
        ...sse,
        checksum,
        etag,
        versionId,
        parts: 1,
        lastModified: new Date(),
      });
      Object.assign(responseHeaders, {
        ETag: etag,
        'x-amz-version-id': versionId,
        'x-amz-server-side-encryption': sse.serverSideEncryption,
        ...(sse.kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': sse.kmsKeyId } : {}),
        ...(checksum ? { [`x-amz-checksum-${checksum.algorithm.toLowerCase()}`]: checksum.value } : {}),
        'Content-Length': '0',
      });
    } catch (e) {
      if (!(e instanceof S3Error)) throw e;
      error = e;
      status = e.status;
      const extra = Object.entries(e.extra).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message>${extra}`
        + `<RequestId>${requestId}</RequestId><HostId>${responseHeaders['x-amz-id-2']}</HostId></Error>`;
      Object.assign(responseHeaders, { 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(xml)) });
      res.writeHead(status, responseHeaders);
      res.end(xml);
    }
    if (!error) {
      res.writeHead(status, responseHeaders);
      res.end();
    }
    this.record(req, bucket, key, headers, wire, payload, trailers, tampered, status, error, responseHeaders);
  }

  private record(
    req: http.IncomingMessage, bucket: string | undefined, key: string | undefined, headers: Record<string, string>, wire: Buffer, payload: Buffer,
    trailers: Record<string, string>, tampered: boolean, status: number, error: S3Error | undefined, responseHeaders: Record<string, string>,
  ): void {
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      bucket,
      key,
      headers,
      wireBytes: wire.length,
      payload,
      trailers,
      tampered,
      status,
      errorCode: error?.code,
      errorMessage: error?.message,
      responseHeaders,
    });
  }

  private multipart(
    operation: Exclude<S3Operation, 'PutObject'>, bucket: string, key: string, params: URLSearchParams, headers: Record<string, string>,
    trailers: Record<string, string>, body: Buffer,
  ): { status: number; headers: Record<string, string>; xml?: string } {
    const xmlDoc = (root: string, fields: Record<string, string | undefined>) => `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`
      + Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `<${k}>${xmlEscape(v!)}</${k}>`).join('') + `</${root}>`;
    const sseHeaders = (u: { serverSideEncryption: string; kmsKeyId?: string }) => ({
      'x-amz-server-side-encryption': u.serverSideEncryption,
      ...(u.kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': u.kmsKeyId } : {}),
    });
    if (operation === 'CreateMultipartUpload') {
      const algorithm = headers['x-amz-checksum-algorithm']?.toUpperCase();
      if (algorithm !== undefined && !Object.values(CHECKSUMS).some((c) => c.name === algorithm)) {
        throw new S3Error(400, 'InvalidRequest', 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, SHA1, SHA256]');
      }
      // Upload ids are opaque (base64url here, like S3's own); about one in 64 starts with '-', which a
      // command-line parser reads as an option unless passed as --upload-id=<id>. Always hand one out.
      const uploadId = `-${randomBytes(48).toString('base64url')}`;
      const upload: MultipartUpload = {
        bucket, key, contentType: headers['content-type'], ...this.encryption(headers, bucket), checksumAlgorithm: algorithm, parts: new Map(),
      };
      this.uploads.set(uploadId, upload);
      return {
        status: 200,
        headers: { ...sseHeaders(upload), ...(algorithm ? { 'x-amz-checksum-algorithm': algorithm } : {}) },
        xml: xmlDoc('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: uploadId }),
      };
    }
    const uploadId = params.get('uploadId') ?? '';
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) {
      throw new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });
    }
    if (operation === 'AbortMultipartUpload') {
      this.uploads.delete(uploadId);
      return { status: 204, headers: {} };
    }
    if (operation === 'UploadPart') {
      const partNumber = Number(params.get('partNumber'));
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
        throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: String(params.get('partNumber')) });
      }
      if (body.length > 5 * 1024 ** 3) throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
      const checksum = this.verify(headers, trailers, body);
      if (checksum && upload.checksumAlgorithm && checksum.algorithm !== upload.checksumAlgorithm) {
        throw new S3Error(400, 'InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${upload.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${checksum.algorithm.toLowerCase()}`);
      }
      const md5 = createHash('md5').update(body).digest();
      // With SSE-KMS a part's ETag is not its MD5, as for a PutObject.
      const etag = upload.serverSideEncryption === 'AES256' ? `"${md5.toString('hex')}"` : `"${randomBytes(16).toString('hex')}"`;
      const own = upload.checksumAlgorithm
        ? Object.values(CHECKSUMS).find((c) => c.name === upload.checksumAlgorithm)!.digest(body).toString('base64')
        : undefined;
      upload.parts.set(partNumber, { body, etag, md5, checksum: own });
      this.largestPart = Math.max(this.largestPart, body.length);
      return {
        status: 200,
        headers: { ETag: etag, ...sseHeaders(upload), ...(own ? { [`x-amz-checksum-${upload.checksumAlgorithm!.toLowerCase()}`]: own } : {}) },
      };
    }
    // CompleteMultipartUpload
    const malformed = () => new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    const xml = body.toString('utf8');
    if (!/^\s*(<\?xml[^>]*\?>\s*)?<CompleteMultipartUpload[\s>]/.test(xml)) throw malformed();
    const listed = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => {
      const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(m[1])?.[1];
      return {
        partNumber: Number(field('PartNumber')),
        etag: (field('ETag') ?? '').replace(/&quot;/g, '"'),
        checksum: upload.checksumAlgorithm ? field(`Checksum${upload.checksumAlgorithm}`) ?? undefined : undefined,
      };
    });
    if (listed.length === 0) throw malformed();
    const invalidPart = () => new S3Error(400, 'InvalidPart', "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.");
    const bodies: Buffer[] = [];
    const digests: Buffer[] = [];
    const md5s: Buffer[] = [];
    listed.forEach((p, i) => {
      if (i > 0 && !(p.partNumber > listed[i - 1].partNumber)) {
        throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
      }
      const part = upload.parts.get(p.partNumber);
      if (!part || part.etag !== p.etag) throw invalidPart();
      if (upload.checksumAlgorithm && p.checksum !== part.checksum) throw invalidPart();
      if (i < listed.length - 1 && part.body.length < 5 * 1024 * 1024) {
        throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', { ProposedSize: String(part.body.length), MinSizeAllowed: String(5 * 1024 * 1024) });
      }
      bodies.push(part.body);
      md5s.push(part.md5);
      if (part.checksum) digests.push(Buffer.from(part.checksum, 'base64'));
    });
    const algo = upload.checksumAlgorithm ? Object.values(CHECKSUMS).find((c) => c.name === upload.checksumAlgorithm)! : undefined;
    const checksum = algo ? { algorithm: algo.name, value: `${algo.digest(Buffer.concat(digests)).toString('base64')}-${listed.length}` } : undefined;
    const etag = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${listed.length}"`;
    const versionId = randomBytes(24).toString('base64url').slice(0, 32);
    this.objects.set(`${bucket}/${key}`, {
      body: Buffer.concat(bodies), contentType: upload.contentType, serverSideEncryption: upload.serverSideEncryption, kmsKeyId: upload.kmsKeyId,
      checksum, etag, versionId, parts: listed.length, lastModified: new Date(),
    });
    this.uploads.delete(uploadId);
    return {
      status: 200,
      headers: { 'x-amz-version-id': versionId, ...sseHeaders(upload) },
      xml: xmlDoc('CompleteMultipartUploadResult', {
        Location: `${this.endpoint}/${bucket}/${key}`, Bucket: bucket, Key: key, ETag: etag,
        ...(checksum ? { [`Checksum${checksum.algorithm}`]: checksum.value } : {}),
      }),
    };
  }

  /** GetObject of the latest version ("GetObject", S3 API reference). */
  private getObject(bucket: string, key: string, params: URLSearchParams, headers: Record<string, string>): { headers: Record<string, string>; body: Buffer } {
    const o = this.objects.get(`${bucket}/${key}`);
    const versionId = params.get('versionId');
    if (!o) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    // Only the latest version is kept here; an older version id is one this stand-in cannot serve.
    if (versionId !== null && versionId !== o.versionId) throw new S3Error(404, 'NoSuchVersion', 'The specified version does not exist.', { Key: key, VersionId: versionId });
    return {
      body: o.body,
      headers: {
        'Content-Type': o.contentType ?? 'binary/octet-stream',
        ...(o.contentEncoding ? { 'Content-Encoding': o.contentEncoding } : {}),
        ETag: o.etag,
        'Last-Modified': (o.lastModified ?? new Date()).toUTCString(),
        'Accept-Ranges': 'bytes',
        'x-amz-version-id': o.versionId,
        'x-amz-server-side-encryption': o.serverSideEncryption,
        ...(o.kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': o.kmsKeyId } : {}),
        // S3 returns the stored checksum only when asked (x-amz-checksum-mode: ENABLED); a
        // multipart object's is the composite one, `<base64>-<parts>`, with x-amz-checksum-type.
        ...(o.checksum && headers['x-amz-checksum-mode']?.toUpperCase() === 'ENABLED'
          ? { [`x-amz-checksum-${o.checksum.algorithm.toLowerCase()}`]: o.checksum.value, 'x-amz-checksum-type': o.parts > 1 ? 'COMPOSITE' : 'FULL_OBJECT' }
          : {}),
      },
    };
  }

  /** ListObjectsV2: keys in UTF-8 binary order, CommonPrefixes for a delimiter, pages of listPageSize. */
  private listObjects(bucket: string, params: URLSearchParams): { headers: Record<string, string>; body: Buffer } {
    const prefix = params.get('prefix') ?? '';
    const delimiter = params.get('delimiter') ?? '';
    const pageSize = Math.min(Number(params.get('max-keys') ?? 1000), this.opts.listPageSize ?? 1000);
    const token = params.get('continuation-token');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : params.get('start-after') ?? '';
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(`${bucket}/`)).map((k) => k.slice(bucket.length + 1))
      .filter((k) => k.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    // Entries (a key, or the common prefix that rolls it up), in order; a page ends after a whole entry.
    const entries: { key?: string; prefix?: string; last: string }[] = [];
    for (const k of keys) {
      const rest = k.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const p = prefix + rest.slice(0, cut + delimiter.length);
        if (entries.length && entries[entries.length - 1].prefix === p) entries[entries.length - 1].last = k;
        else entries.push({ prefix: p, last: k });
      } else entries.push({ key: k, last: k });
    }
    const remaining = entries.filter((e) => Buffer.compare(Buffer.from(e.last), Buffer.from(after)) > 0);
    const page = remaining.slice(0, pageSize);
    const truncated = remaining.length > page.length;
    const x = (name: string, v: string) => `<${name}>${xmlEscape(v)}</${name}>`;
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
      + x('Name', bucket) + x('Prefix', prefix) + (delimiter ? x('Delimiter', delimiter) : '') + x('MaxKeys', String(pageSize))
      + x('KeyCount', String(page.length)) + x('IsTruncated', String(truncated))
      + (token ? x('ContinuationToken', token) : '')
      + (truncated ? x('NextContinuationToken', Buffer.from(page[page.length - 1].last).toString('base64url')) : '')
      + page.filter((e) => e.key !== undefined).map((e) => {
        const o = this.objects.get(`${bucket}/${e.key}`)!;
        return `<Contents>${x('Key', e.key!)}${x('LastModified', (o.lastModified ?? new Date()).toISOString())}${x('ETag', o.etag)}${x('Size', String(o.body.length))}${x('StorageClass', 'STANDARD')}</Contents>`;
      }).join('')
      + page.filter((e) => e.prefix !== undefined).map((e) => `<CommonPrefixes>${x('Prefix', e.prefix!)}</CommonPrefixes>`).join('')
      + '</ListBucketResult>';
    return { headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(xml) };
  }

  /** SigV4 with the Authorization header, as S3 checks it. */
  private authenticate(method: string, rawPath: string, query: string, headers: Record<string, string>, region: string): void {
    const auth = headers.authorization;
    if (!auth) throw new S3Error(403, 'AccessDenied', 'Access Denied');
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.');
    const [, accessKey, day, scopeRegion, signedHeaders, signature] = m;
    if (accessKey !== STANDIN_ACCESS_KEY_ID) {
      throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKey });
    }
    if (scopeRegion !== region) {
      throw new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${scopeRegion}' is wrong; expecting '${region}'`, { Region: region });
    }
    const amzDate = headers['x-amz-date'] ?? '';
    const dm = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(amzDate);
    if (!dm || amzDate.slice(0, 8) !== day) throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    const sent = Date.UTC(+dm[1], +dm[2] - 1, +dm[3], +dm[4], +dm[5], +dm[6]);
    if (Math.abs(Date.now() - sent) > 15 * 60_000) {
      throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }
    const contentSha256 = headers['x-amz-content-sha256'];
    if (!contentSha256) throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    const names = signedHeaders.split(';');
    if (!names.includes('host')) throw new S3Error(403, 'AccessDenied', 'There were headers present in the request which were not signed');
    const canonicalQuery = query === '' ? '' : query.split('&').map((p) => (p.includes('=') ? p : `${p}=`)).sort().join('&');
    const canonicalHeaders = names.map((n) => `${n}:${(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
    const canonicalRequest = [method, rawPath, canonicalQuery, canonicalHeaders, signedHeaders, contentSha256].join('\n');
    const scope = `${day}/${scopeRegion}/s3/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const signingKey = ['s3', 'aws4_request'].reduce(hmac, hmac(hmac(`AWS4${STANDIN_SECRET_ACCESS_KEY}`, day), scopeRegion));
    const expected = hmac(signingKey, stringToSign);
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
        AWSAccessKeyId: accessKey, StringToSign: stringToSign, CanonicalRequest: canonicalRequest,
      });
    }
  }

  private decodePayload(headers: Record<string, string>, wire: Buffer): { payload: Buffer; trailers: Record<string, string> } {
    const encodings = (headers['content-encoding'] ?? '').split(',').map((s) => s.trim().toLowerCase());
    const contentSha256 = headers['x-amz-content-sha256'];
    if (!encodings.includes('aws-chunked')) {
      if (contentSha256.startsWith('STREAMING-')) throw new S3Error(400, 'InvalidArgument', `x-amz-content-sha256 ${contentSha256} needs Content-Encoding: aws-chunked`);
      return { payload: wire, trailers: {} };
    }
    if (contentSha256 !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
      throw new S3Error(501, 'NotImplemented', `aws-chunked with x-amz-content-sha256 ${contentSha256} is not implemented by this stand-in`);
    }
    const decoded = decodeAwsChunked(wire);
    const declared = headers['x-amz-decoded-content-length'];
    if (declared === undefined) throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    if (Number(declared) !== decoded.payload.length) throw new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    const announced = (headers['x-amz-trailer'] ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    for (const name of Object.keys(decoded.trailers)) {
      if (!announced.includes(name)) throw new S3Error(400, 'MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
    }
    for (const name of announced) {
      if (!(name in decoded.trailers)) throw new S3Error(400, 'MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
    }
    return decoded;
  }

  /** Checks every digest sent against `body`; returns the flexible checksum S3 stores, if any. */
  private verify(headers: Record<string, string>, trailers: Record<string, string>, body: Buffer): { algorithm: string; value: string } | undefined {
    const md5 = headers['content-md5'];
    if (md5 !== undefined) {
      if (!isBase64Of(md5, 16)) throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5 });
      const actual = createHash('md5').update(body).digest('base64');
      if (actual !== md5) {
        throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: md5, CalculatedDigest: actual });
      }
    }
    const sent = [...Object.entries(headers), ...Object.entries(trailers)].filter(([n]) => n.startsWith('x-amz-checksum-') && n !== 'x-amz-checksum-type');
    if (sent.length > 1) throw new S3Error(400, 'InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
    const sdkAlgorithm = headers['x-amz-sdk-checksum-algorithm'];
    let checksum: { algorithm: string; value: string } | undefined;
    if (sent.length === 1) {
      const [name, value] = sent[0];
      const suffix = name.slice('x-amz-checksum-'.length);
      if (UNSUPPORTED_CHECKSUMS.includes(suffix)) throw new S3Error(501, 'NotImplemented', `${name} is not implemented by this stand-in`);
      const algo = CHECKSUMS[suffix];
      if (!algo) throw new S3Error(400, 'InvalidRequest', `Invalid checksum header ${name}`);
      if (sdkAlgorithm !== undefined && sdkAlgorithm.toUpperCase() !== algo.name) {
        throw new S3Error(400, 'InvalidRequest', `Value for x-amz-sdk-checksum-algorithm header is invalid.`);
      }
      if (!isBase64Of(value, algo.bytes)) throw new S3Error(400, 'InvalidRequest', `Value for ${name} header is invalid.`);
      const actual = algo.digest(body).toString('base64');
      if (actual !== value) throw new S3Error(400, 'BadDigest', `The ${algo.name} you specified did not match the calculated checksum.`);
      checksum = { algorithm: algo.name, value };
    } else if (sdkAlgorithm !== undefined && !headers['x-amz-trailer']) {
      throw new S3Error(400, 'InvalidRequest', `x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.`);
    }
    const contentSha256 = headers['x-amz-content-sha256'];
    if (/^[0-9a-f]{64}$/.test(contentSha256) && contentSha256 !== sha256Hex(body)) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
        ClientComputedContentSHA256: contentSha256, S3ComputedContentSHA256: sha256Hex(body),
      });
    } else if (!/^[0-9a-f]{64}$/.test(contentSha256) && !['UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'].includes(contentSha256)) {
      throw new S3Error(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value.');
    }
    return checksum;
  }

  private encryption(headers: Record<string, string>, bucket: string): { serverSideEncryption: string; kmsKeyId?: string } {
    const sse = headers['x-amz-server-side-encryption'];
    const kmsKeyId = headers['x-amz-server-side-encryption-aws-kms-key-id'];
    if (sse === undefined) {
      if (kmsKeyId !== undefined) {
        throw new S3Error(400, 'InvalidArgument', 'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms', {
          ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: 'null',
        });
      }
      return { serverSideEncryption: 'AES256' };
    }
    if (!['AES256', 'aws:kms', 'aws:kms:dsse'].includes(sse)) {
      throw new S3Error(400, 'InvalidArgument', 'The encryption method specified is not supported', { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse });
    }
    if (sse === 'AES256') {
      if (kmsKeyId !== undefined) {
        throw new S3Error(400, 'InvalidArgument', 'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms', {
          ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse,
        });
      }
      return { serverSideEncryption: sse };
    }
    if (!this.tls) {
      throw new S3Error(400, 'InvalidArgument', 'Requests specifying Server Side Encryption with AWS KMS managed keys must be made over a secure connection.', {
        ArgumentName: 'Authorization', ArgumentValue: 'null',
      });
    }
    const region = this.opts.buckets[bucket];
    return { serverSideEncryption: sse, kmsKeyId: kmsKeyId ?? `arn:aws:kms:${region}:${ACCOUNT}:key/${this.awsManagedKeyId}` };
  }
}
