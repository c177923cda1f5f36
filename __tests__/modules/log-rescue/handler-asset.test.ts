/**
 * @lane unit
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { handlerZip, zipSingleFile } from '../../../modules/log-rescue/handler-asset';

describe('handler asset', () => {
  it('is a zip that a standard reader opens, holding exactly index.js with its bytes', () => {
    const content = Buffer.from('exports.handler = async () => "ok";\n'.repeat(200));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zip-test-'));
    const file = path.join(dir, 'a.zip');
    writeFileSync(file, zipSingleFile('index.js', content));
    // Python's zipfile checks the CRC and sizes; Lambda reads the same format.
    const listing = execFileSync('python3', ['-c', [
      'import sys, zipfile', 'z = zipfile.ZipFile(sys.argv[1])', 'assert z.testzip() is None',
      'i = z.infolist()[0]', 'print(len(z.infolist()), i.filename, i.date_time, oct(i.external_attr >> 16))',
      'sys.stdout.flush(); sys.stdout.buffer.write(z.read("index.js"))',
    ].join('\n'), file]);
    const [header, ...rest] = listing.toString('utf8').split('\n');
    expect(header).toBe("1 index.js (1980, 1, 1, 0, 0, 0) 0o100644");
    expect(rest.join('\n')).toBe(content.toString('utf8'));
  });

  it('is a pure function of the content', () => {
    const content = Buffer.from('module.exports = 1;');
    expect(zipSingleFile('index.js', content).equals(zipSingleFile('index.js', content))).toBe(true);
    expect(zipSingleFile('index.js', content).equals(zipSingleFile('index.js', Buffer.from('module.exports = 2;')))).toBe(false);
  });

  it('builds the handler once per distinct input and reuses it', () => {
    const first = handlerZip();
    const bytes = readFileSync(first);
    expect(handlerZip()).toBe(first);
    expect(readFileSync(first).equals(bytes)).toBe(true);
    expect(bytes.length).toBeGreaterThan(100_000);
  });
});
