/**
 * Parse every Mermaid diagram (```mermaid fences) in the Markdown files given, with the `mermaid`
 * package's own parser, the one GitHub's renderer runs. Prints one JSON line per diagram
 * ({file, line, type} or {file, line, error}) and exits 1 if any diagram does not parse.
 *
 *   node scripts/check-diagrams.mjs README.md docs/*.md
 *
 * ESM because mermaid 11 is; mermaid's parser needs a DOM (DOMPurify), which jsdom provides.
 */
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

/** Diagrams of one Markdown text: the source and the line of its opening fence (1-based). */
export function diagrams(markdown) {
  const out = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i].trim() !== '```mermaid') continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (end < 0) { out.push({ line: i + 1, source: null }); break; }
    out.push({ line: i + 1, source: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return out;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  for (const d of diagrams(readFileSync(file, 'utf8'))) {
    let result;
    if (d.source === null) result = { file, line: d.line, error: 'the ```mermaid fence is never closed' };
    else {
      try {
        result = { file, line: d.line, type: (await mermaid.parse(d.source)).diagramType };
      } catch (e) {
        result = { file, line: d.line, error: String(e?.message ?? e).split('\n').slice(0, 3).join(' | ') };
      }
    }
    if (result.error) failed = true;
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}
process.exit(failed ? 1 : 0);
