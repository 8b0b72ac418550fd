/**
 * @module config/glob
 *
 * The small glob that `include` needs (Node 20 has no `fs.glob`): `*` and `?`
 * and `[...]` inside any path segment, no `**`. Results are sorted so that
 * `include conf.d/*.conf` reads files in a stable, documented order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function hasGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + seg.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands an absolute pattern to the existing files it names, sorted; hidden files match only a pattern that starts with a dot. */
export function expandGlob(absPattern: string): string[] {
  const root = path.parse(absPattern).root;
  const segments = absPattern.slice(root.length).split(path.sep).filter((s) => s !== '');
  let current = [root];
  for (const seg of segments) {
    const next: string[] = [];
    for (const dir of current) {
      if (!hasGlob(seg)) {
        const candidate = path.join(dir, seg);
        if (fs.existsSync(candidate)) next.push(candidate);
        continue;
      }
      let entries: string[];
      try {
        entries = fs.readdirSync(dir);
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      for (const e of entries.sort()) {
        if (e.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(e)) next.push(path.join(dir, e));
      }
    }
    current = next;
  }
  return current.filter((f) => {
    try {
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  });
}
