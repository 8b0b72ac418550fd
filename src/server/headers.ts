/**
 * @module server/headers
 *
 * The header section of an incoming message, as bytes: split into fields
 * (folded continuation lines kept with their field), looked up by name,
 * removed, and written back. Bytes are handled as latin1 so that 8-bit and
 * UTF-8 header text passes through unchanged.
 *
 * Exports: `HeaderField`, `findHeaderEnd`, `parseHeaderFields`,
 * `serializeHeaderFields`, `headerValue`, `foldHeader`.
 */

export interface HeaderField {
  /** Field name as written ('' for a malformed line with no colon). */
  readonly name: string;
  readonly lower: string;
  /** The whole field including its folded lines and final CRLF. */
  readonly raw: string;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Offset just past the blank line that ends the header section, or -1 when
 * it has not been seen yet. A message that starts with CRLF has no header.
 */
export function findHeaderEnd(buf: Buffer, from = 0): number {
  if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) return 2;
  const i = buf.indexOf(CRLFCRLF, Math.max(0, from - 3));
  return i < 0 ? -1 : i + 4;
}

/** Splits a header section (with or without its blank line) into fields. */
export function parseHeaderFields(section: Buffer): HeaderField[] {
  const text = section.toString('latin1');
  const fields: HeaderField[] = [];
  let start = 0;
  let current: { name: string; raw: string } | undefined;
  while (start < text.length) {
    let end = text.indexOf('\r\n', start);
    end = end < 0 ? text.length : end + 2;
    const line = text.slice(start, end);
    start = end;
    if (line === '\r\n') break; // the blank line
    if ((line[0] === ' ' || line[0] === '\t') && current) {
      current.raw += line;
      continue;
    }
    if (current) fields.push({ name: current.name, lower: current.name.toLowerCase(), raw: current.raw });
    const colon = line.indexOf(':');
    const name = colon > 0 && /^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, colon).trimEnd()) ? line.slice(0, colon).trimEnd() : '';
    current = { name, raw: line.endsWith('\r\n') ? line : line + '\r\n' };
  }
  if (current) fields.push({ name: current.name, lower: current.name.toLowerCase(), raw: current.raw });
  return fields;
}

export function serializeHeaderFields(fields: readonly HeaderField[]): Buffer {
  return Buffer.from(fields.map((f) => f.raw).join(''), 'latin1');
}

/** The unfolded value of a field, trimmed. */
export function headerValue(f: HeaderField): string {
  const colon = f.raw.indexOf(':');
  return f.raw
    .slice(colon + 1)
    .replace(/\r\n([ \t])/g, '$1')
    .trim();
}

/** `Name: value` folded at spaces so that no line exceeds 78 characters where possible (RFC 5322 §2.1.1). */
export function foldHeader(name: string, value: string): string {
  const words = value.split(' ');
  const lines: string[] = [];
  let line = `${name}:`;
  for (const w of words) {
    if (line.length + 1 + w.length > 78 && line.trim().length > name.length + 1) {
      lines.push(line);
      line = `\t${w}`;
    } else line += ` ${w}`;
  }
  lines.push(line);
  return lines.join('\r\n') + '\r\n';
}
