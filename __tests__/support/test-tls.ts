/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1, made in memory when a
 * test starts (no openssl binary, no key material in the repository). The S3 stand-in serves HTTPS
 * with it so a client such as the AWS CLI takes the same code path it takes against real S3 (botocore
 * signs payloads, uses trailers and accepts SSE-KMS differently over http); the client trusts the
 * CA through its CA-bundle setting (AWS_CA_BUNDLE for the AWS CLI).
 *
 * The certificates are what a strict verifier expects (Python 3.13 turns on X509_STRICT): the CA has
 * basicConstraints CA:TRUE and keyUsage keyCertSign, both critical, and a subject key identifier; the
 * server certificate has CA:FALSE, digitalSignature, extendedKeyUsage serverAuth, the IP in
 * subjectAltName, and an authority key identifier naming the CA. Valid from an hour ago for a day.
 */
import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';

export interface TestTls {
  /** PEM of the CA certificate: what the client trusts. */
  readonly caPem: string;
  /** PEM of the server certificate followed by the CA's (the chain the server sends). */
  readonly certPem: string;
  /** PEM (PKCS#8) of the server's private key. */
  readonly keyPem: string;
}

// ---------------------------------------------------------------- DER, only what a certificate needs

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...contents: Buffer[]): Buffer => {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const seq = (...contents: Buffer[]) => tlv(0x30, ...contents);
const set = (...contents: Buffer[]) => tlv(0x31, ...contents);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const explicit = (n: number, content: Buffer) => tlv(0xa0 | n, content);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && !(b[i + 1] & 0x80)) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const enc = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) enc.unshift(0x80 | (v & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, Buffer.from(out));
}
/** UTCTime (RFC 5280 wants it for dates before 2050). */
function utcTime(d: Date): Buffer {
  return tlv(0x17, Buffer.from(`${d.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`, 'ascii'));
}
const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  ca: boolean;
  subjectKeyId: Buffer;
  authorityKeyId?: Buffer;
  ipAddress?: number[];
}

function certificate(spec: CertSpec): Buffer {
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const extensions = [
    extension('2.5.29.19', true, seq(...(spec.ca ? [bool(true)] : []))),
    // keyUsage: keyCertSign|cRLSign (bits 5, 6) for the CA, digitalSignature (bit 0) for the server.
    extension('2.5.29.15', true, spec.ca ? tlv(0x03, Buffer.from([1, 0x06])) : tlv(0x03, Buffer.from([7, 0x80]))),
    extension('2.5.29.14', false, octets(spec.subjectKeyId)),
  ];
  if (spec.authorityKeyId) extensions.push(extension('2.5.29.35', false, seq(tlv(0x80, spec.authorityKeyId))));
  if (!spec.ca) extensions.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
  if (spec.ipAddress) extensions.push(extension('2.5.29.17', false, seq(tlv(0x87, Buffer.from(spec.ipAddress)))));
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_WITH_SHA256,
    name(spec.issuer),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 86400_000))),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  return seq(tbs, ECDSA_WITH_SHA256, bits(sign('sha256', tbs, spec.signingKey)));
}

const pem = (label: string, der: Buffer) =>
  `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
const keyId = (k: KeyObject) => createHash('sha1').update(k.export({ type: 'spki', format: 'der' })).digest();

/** A fresh CA and a certificate for the IPv4 address `ip` (dotted) that it signed. */
export function makeTestTls(ip = '127.0.0.1'): TestTls {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = 'log-rescue test CA (throwaway)';
  const caCert = certificate({
    subject: caName, issuer: caName, publicKey: ca.publicKey, signingKey: ca.privateKey, ca: true, subjectKeyId: keyId(ca.publicKey),
  });
  const serverCert = certificate({
    subject: ip,
    issuer: caName,
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    ca: false,
    subjectKeyId: keyId(server.publicKey),
    authorityKeyId: keyId(ca.publicKey),
    ipAddress: ip.split('.').map(Number),
  });
  const caPem = pem('CERTIFICATE', caCert);
  return {
    caPem,
    certPem: pem('CERTIFICATE', serverCert) + caPem,
    keyPem: server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
