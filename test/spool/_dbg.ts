import { readFileSync, readdirSync } from 'node:fs';
import { checkRecordAt, decodeMessagePayload } from '../../src/spool/record.js';
import { parseMessageId } from '../../src/spool/ids.js';
const dir = process.argv[2]!; const want = parseMessageId(process.argv[3]!);
for (const f of readdirSync(dir + '/segments').sort()) {
  const buf = readFileSync(dir + '/segments/' + f); let off = 0; let n = 0;
  while (off < buf.length) { const r = checkRecordAt(buf, off); if (!r) { console.log(f, 'BAD at', off, 'of', buf.length); break; }
    n++;
    if (r.type === 1) { const { meta } = decodeMessagePayload(r.payload); if (meta.id === want) console.log(f, off, 'MSG', JSON.stringify(meta.st ?? null)); }
    if (r.type === 2) { const { c } = JSON.parse(r.payload.toString()); for (const ch of c) if (ch[0] === want) console.log(f, off, 'STATE', JSON.stringify(ch)); }
    if (r.type === 3) console.log(f, off, 'SEAL', r.payload.readDoubleLE(0));
    off += r.length; }
  console.log(f, 'records', n, 'size', buf.length);
}
