/**
 * @module config/parser
 *
 * Builds the block tree of a configuration from the lexer's logical lines,
 * following `include` directives (globs, relative to the including file)
 * and checking block nesting against `BLOCKS` from the directive table.
 *
 * Exports `parseConfigFile(path)` / `parseConfigText(text, path)` returning a
 * `BlockNode` for the top level plus every diagnostic found. It never stops
 * at the first problem and never throws for bad input.
 *
 * Rules kept here:
 *   - a block opened in a file is closed in the same file (an included file
 *     is balanced on its own);
 *   - `</name>` must close the innermost open block;
 *   - a block nests only where PowerMTA allows it (`<domain>` inside
 *     `<virtual-mta>` and `<virtual-mta-pool>`; `<address-list>` inside the
 *     bounce and feedback-loop processors); everything else is top level;
 *   - an include cycle is reported with the chain of files, then skipped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLOCKS } from './directives.js';
import { expandGlob, hasGlob } from './glob.js';
import { lex, positionAt, type LexLine, type Located } from './lexer.js';
import type { Diagnostic, ScopeName, SourcePos } from './types.js';
import { unquote } from './values.js';

export interface DirectiveNode {
  readonly kind: 'directive';
  /** Lower-case name; '' for a nameless `/re/ …` rule line. */
  readonly name: string;
  readonly rawName: string;
  readonly value: string;
  readonly pos: SourcePos;
  readonly valueLoc: Located;
  readonly valueOffset: number;
  readonly commentColumn?: number;
}

export interface BlockNode {
  readonly kind: 'block';
  readonly scope: ScopeName;
  readonly rawName: string;
  readonly arg: string;
  readonly pos: SourcePos;
  readonly argPos: SourcePos;
  readonly children: Array<BlockNode | DirectiveNode>;
}

export interface ParseResult {
  readonly root: BlockNode;
  readonly diagnostics: Diagnostic[];
  /** Every file read, in order (the main file first). */
  readonly files: string[];
}

const BLOCK_NAMES = new Set<string>(Object.keys(BLOCKS).filter((k) => k !== 'global'));

export function parseConfigFile(file: string): ParseResult {
  const abs = path.resolve(file);
  const ctx = newContext();
  const root = rootNode(abs);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    ctx.diagnostics.push({
      severity: 'error',
      pos: { file: abs, line: 0, column: 0 },
      message: `cannot read configuration file: ${describeFsError(err)}`,
      text: file,
    });
    return { root, diagnostics: ctx.diagnostics, files: ctx.files };
  }
  parseInto(ctx, text, abs, [root], []);
  return { root, diagnostics: ctx.diagnostics, files: ctx.files };
}

export function parseConfigText(text: string, file: string): ParseResult {
  const abs = path.resolve(file);
  const ctx = newContext();
  const root = rootNode(abs);
  parseInto(ctx, text, abs, [root], []);
  return { root, diagnostics: ctx.diagnostics, files: ctx.files };
}

interface Context {
  diagnostics: Diagnostic[];
  files: string[];
}

function newContext(): Context {
  return { diagnostics: [], files: [] };
}

function rootNode(file: string): BlockNode {
  const pos = { file, line: 1, column: 1 };
  return { kind: 'block', scope: 'global', rawName: '', arg: '', pos, argPos: pos, children: [] };
}

/**
 * Parses `text` (from `file`) into the innermost block of `stack`.
 * `includeChain` holds the real paths of the files including this one.
 */
function parseInto(ctx: Context, text: string, file: string, stack: BlockNode[], includeChain: string[]): void {
  ctx.files.push(file);
  const { lines, diagnostics } = lex(text, file);
  ctx.diagnostics.push(...diagnostics);
  const depthAtStart = stack.length;
  const err = (pos: SourcePos, message: string, extra: Partial<Diagnostic> = {}): void => {
    ctx.diagnostics.push({ severity: 'error', pos, message, ...extra });
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const current = stack[stack.length - 1]!;
    switch (line.kind) {
      case 'open': {
        if (!BLOCK_NAMES.has(line.name)) {
          err(line.pos, `unknown block <${line.rawName}>`, {
            text: `<${line.rawName}>`,
            expected: `one of ${[...BLOCK_NAMES].map((b) => `<${b}>`).join(', ')}`,
          });
          // Keep a placeholder block so that its closing tag and contents do not cascade into more errors.
          const bogus: BlockNode = { kind: 'block', scope: 'global', rawName: line.rawName, arg: line.arg, pos: line.pos, argPos: line.argPos, children: [] };
          stack.push(bogus);
          break;
        }
        const scope = line.name as ScopeName;
        const spec = BLOCKS[scope];
        if (!spec.parents.includes(current.scope)) {
          const where = spec.parents.map((p) => (p === 'global' ? 'the top level' : `<${p}>`)).join(' or ');
          err(line.pos, `<${line.rawName}> is not allowed ${current.scope === 'global' && current.rawName === '' ? 'at the top level' : `inside <${current.rawName}>`}`, {
            text: `<${line.rawName}${line.arg ? ' ' + line.arg : ''}>`,
            expected: `<${scope}> at ${where}`,
          });
        }
        if (spec.arg === 'required' && line.arg === '') {
          err(line.argPos, `<${line.rawName}> needs an argument`, { expected: blockArgExpected(scope) });
        } else if (spec.arg === 'none' && line.arg !== '') {
          err(line.argPos, `<${line.rawName}> takes no argument`, { text: line.arg });
        }
        const node: BlockNode = {
          kind: 'block',
          scope,
          rawName: line.rawName,
          arg: line.arg,
          pos: line.pos,
          argPos: line.argPos,
          children: [],
        };
        current.children.push(node);
        stack.push(node);
        break;
      }
      case 'close': {
        if (stack.length <= depthAtStart) {
          err(line.pos, `unexpected </${line.rawName}>: no <${line.rawName}> is open`, {
            text: `</${line.rawName}>`,
            expected: stack.length > 1 ? `a directive, or </${stack[stack.length - 1]!.rawName}>` : 'a directive or a block',
          });
          break;
        }
        if (current.rawName.toLowerCase() !== line.name) {
          // Reported once; it closes the innermost block, so nothing cascades from it.
          err(line.pos, `</${line.rawName}> does not match <${current.rawName}${current.arg ? ' ' + current.arg : ''}> opened at line ${current.pos.line}`, {
            text: `</${line.rawName}>`,
            expected: `</${current.rawName}>`,
          });
        }
        stack.pop();
        break;
      }
      case 'rule': {
        let rule = line;
        if (current.scope === 'bounce-category-patterns') {
          const joined = joinSplitRule(lines, i);
          rule = joined.line;
          i = joined.lastIndex;
        }
        current.children.push({ kind: 'directive', name: '', rawName: '', value: rule.value, pos: rule.pos, valueLoc: rule.valueLoc, valueOffset: rule.valueOffset });
        break;
      }
      case 'directive': {
        if (line.name === 'include') {
          include(ctx, line, stack, includeChain, file);
          break;
        }
        current.children.push({
          kind: 'directive',
          name: line.name,
          rawName: line.rawName,
          value: line.value,
          pos: line.pos,
          valueLoc: line.valueLoc,
          valueOffset: line.valueOffset,
          ...(line.commentColumn !== undefined ? { commentColumn: line.commentColumn } : {}),
        });
        break;
      }
    }
  }

  while (stack.length > depthAtStart) {
    const open = stack.pop()!;
    err(open.pos, `<${open.rawName}${open.arg ? ' ' + open.arg : ''}> is not closed${includeChain.length ? ' in this file' : ''}`, {
      text: `<${open.rawName}${open.arg ? ' ' + open.arg : ''}>`,
      expected: `</${open.rawName}> before the end of the file`,
    });
  }
}

function blockArgExpected(scope: ScopeName): string {
  switch (scope) {
    case 'source':
      return 'an IP address, a CIDR such as 10.1.0/24 or 0/0, or a name such as {auth}';
    case 'domain':
      return 'a domain, *, [*.]example.com or $macro';
    case 'acct-file':
      return 'a file path or |command';
    case 'spool':
      return 'a directory';
    default:
      return 'a name';
  }
}

/**
 * `<bounce-category-patterns>` lines may be split in real configs (9 of 22
 * surveyed, the vendor's defaults among them). The rule: a `/re/` line with
 * no category takes the category from the next line when that line is a
 * single word; a regex left open at the end of a line continues on the next
 * line, joined without a separator. Anything else is left for the value
 * parser to report.
 */
function joinSplitRule(lines: LexLine[], index: number): { line: Extract<LexLine, { kind: 'rule' }>; lastIndex: number } {
  let line = lines[index] as Extract<LexLine, { kind: 'rule' }>;
  let last = index;
  for (let guard = 0; guard < 4; guard++) {
    const end = regexEnd(line.value);
    const next = lines[last + 1];
    if (!next || (next.kind !== 'rule' && next.kind !== 'directive')) break;
    const nextText = next.kind === 'rule' ? next.value : next.value ? `${next.rawName} ${next.value}` : next.rawName;
    if (end < 0) {
      line = mergeRule(line, nextText, next, '');
      last++;
      continue;
    }
    if (line.value.slice(end + 1).trim() === '' && next.kind === 'directive' && next.value === '') {
      line = mergeRule(line, nextText, next, ' ');
      last++;
    }
    break;
  }
  return { line, lastIndex: last };
}

function mergeRule(line: Extract<LexLine, { kind: 'rule' }>, text: string, next: LexLine, sep: string): Extract<LexLine, { kind: 'rule' }> {
  const start = line.value.length + sep.length;
  const nextPos = next.pos;
  const segments = [...line.valueLoc.segments, { start, line: nextPos.line, column: nextPos.column }];
  return { ...line, value: line.value + sep + text, valueLoc: { file: line.valueLoc.file, segments } };
}

/** Index of the `/` closing a regex that starts at 0, or -1 when it is not closed. */
export function regexEnd(text: string): number {
  let inClass = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '/') return i;
  }
  return -1;
}

function include(ctx: Context, line: Extract<LexLine, { kind: 'directive' }>, stack: BlockNode[], chain: string[], file: string): void {
  const valuePos = positionAt(line.valueLoc, line.valueOffset);
  const target = unquote(line.value);
  if (target === '') {
    ctx.diagnostics.push({ severity: 'error', pos: valuePos, message: 'include needs a file path', expected: 'include PATH (a file or a glob such as conf.d/*.conf)' });
    return;
  }
  if (/^https?:\/\//i.test(target)) {
    ctx.diagnostics.push({
      severity: 'error',
      pos: valuePos,
      message: 'include from a URL is not supported',
      text: target,
      expected: 'a local file path; fetch the file and include it from disk',
    });
    return;
  }
  const base = path.dirname(file);
  const resolved = path.resolve(base, target);
  let files: string[];
  if (hasGlob(target)) {
    files = expandGlob(resolved);
    if (files.length === 0) {
      ctx.diagnostics.push({ severity: 'warning', pos: valuePos, message: `include pattern matches no file`, text: target });
      return;
    }
  } else {
    files = [resolved];
  }
  for (const f of files) {
    let real: string;
    let text: string;
    try {
      real = fs.realpathSync(f);
      text = fs.readFileSync(real, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code;
      ctx.diagnostics.push({
        severity: 'error',
        pos: valuePos,
        message: code === 'ENOENT' ? `include file not found: ${target}` : `cannot include ${target}: ${describeFsError(err)}`,
        text: target,
        expected: 'an existing, readable file (relative paths are relative to the including file)',
      });
      continue;
    }
    const selfReal = safeRealpath(file);
    const fullChain = [...chain, selfReal];
    if (fullChain.includes(real)) {
      ctx.diagnostics.push({
        severity: 'error',
        pos: valuePos,
        message: `include cycle: ${[...fullChain.slice(fullChain.indexOf(real)), real].map((p) => path.basename(p)).join(' -> ')}`,
        text: target,
      });
      continue;
    }
    parseInto(ctx, text, real, stack, fullChain);
  }
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return code ?? String((err as Error)?.message ?? err);
  }
}
