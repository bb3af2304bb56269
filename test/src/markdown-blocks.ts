/**
 * The fenced code blocks of a Markdown file, for tests that run the documentation's examples.
 * A block may be preceded (blank lines allowed) by an HTML comment marker
 * `<!-- readme-examples: skip (why) -->`: the reason is kept, so a test can skip the block and
 * say why, or pick out the blocks another test runs.
 */
import { readFileSync } from 'node:fs';

export interface MarkdownBlock {
  /** The file as given. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word (`sh`, `python`, `ts`, ...), '' when none. */
  lang: string;
  code: string;
  /** The text of a `readme-examples: skip (...)` marker before the block, else undefined. */
  skip: string | undefined;
}

const FENCE = /^(```+|~~~+)\s*([^\s`]*)/;
const SKIP_MARKER = /^<!--\s*readme-examples:\s*skip\b\s*(.*?)\s*-->\s*$/;

export function markdownBlocks(file: string, text = readFileSync(file, 'utf8')): MarkdownBlock[] {
  const lines = text.split('\n');
  const blocks: MarkdownBlock[] = [];
  let marker: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = FENCE.exec(line);
    if (open === null) {
      const skip = SKIP_MARKER.exec(line.trim());
      if (skip !== null) marker = skip[1] || 'marked skip';
      else if (line.trim() !== '') marker = undefined;
      continue;
    }
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.startsWith(fence)) body.push(lines[j++]!);
    if (j === lines.length) throw new Error(`${file}:${i + 1}: code block never closed`);
    blocks.push({ file, line: i + 1, lang: open[2]!.toLowerCase(), code: `${body.join('\n')}\n`, skip: marker });
    marker = undefined;
    i = j;
  }
  return blocks;
}
