import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { BUNDLE_OPTIONS, bundleHandler } from '../../handlers/log-rescue/bundle';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const CACHE_DIR = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'log-rescue-handler');

/** Everything the bundle's bytes depend on: handler sources, shared patterns, locked dependencies, options. */
function inputsHash(): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) files.push(full);
    }
  };
  walk(path.join(PROJECT_ROOT, 'handlers', 'log-rescue'));
  files.push(path.join(PROJECT_ROOT, 'config', 'patterns.ts'), path.join(PROJECT_ROOT, 'package-lock.json'));
  const hash = createHash('sha256').update(JSON.stringify(BUNDLE_OPTIONS));
  for (const f of files) hash.update(path.relative(PROJECT_ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return hash.digest('hex').slice(0, 24);
}

/**
 * The handler as a Lambda deployment zip, built once per distinct input and reused by every synth
 * after: bundling and zipping cost more than the rest of a synth. Same inputs, same bytes, so the
 * function's source_code_hash only changes when the code does.
 */
export function handlerZip(): string {
  const dir = path.join(CACHE_DIR, inputsHash());
  const zip = path.join(dir, 'handler.zip');
  if (existsSync(zip)) return zip;
  // Build beside the cache and rename into place: parallel synths never see a half-written file.
  const staging = `${dir}.staging-${process.pid}-${Math.random().toString(36).slice(2)}`;
  mkdirSync(staging, { recursive: true });
  const js = path.join(staging, 'index.js');
  bundleHandler(js);
  writeFileSync(path.join(staging, 'handler.zip'), zipSingleFile('index.js', readFileSync(js)));
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another process won the race with the same bytes
  }
  return zip;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A zip holding one deflated file, with a fixed timestamp (1980-01-01) and permissions, so the
 * archive is a pure function of the content.
 */
export function zipSingleFile(name: string, content: Buffer): Buffer {
  const data = deflateRawSync(content, { level: 9 });
  const fileName = Buffer.from(name, 'utf8');
  const crc = crc32(content);
  const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;
  const common = (b: Buffer, o: number) => {
    b.writeUInt16LE(20, o); // version needed
    b.writeUInt16LE(0x0800, o + 2); // flags: UTF-8 names
    b.writeUInt16LE(8, o + 4); // deflate
    b.writeUInt16LE(0, o + 6); // time 00:00:00
    b.writeUInt16LE(DOS_DATE_1980_01_01, o + 8);
    b.writeUInt32LE(crc, o + 10);
    b.writeUInt32LE(data.length, o + 14);
    b.writeUInt32LE(content.length, o + 18);
    b.writeUInt16LE(fileName.length, o + 22);
    b.writeUInt16LE(0, o + 24); // extra length
  };
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  common(local, 4);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
  common(central, 6);
  central.writeUInt16LE(0, 32); // comment length
  central.writeUInt16LE(0, 34); // disk
  central.writeUInt16LE(0, 36); // internal attributes
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external: regular file, rw-r--r--
  central.writeUInt32LE(0, 42); // offset of the local header
  const centralSize = central.length + fileName.length;
  const centralOffset = local.length + fileName.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fileName, data, central, fileName, end]);
}
