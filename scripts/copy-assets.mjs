// Copies the non-TypeScript files the code reads at run time into dist/ (tsc copies only .ts output).
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const dir of ['bounce/rules']) {
  const from = join(root, 'src', dir);
  const to = join(root, 'dist', dir);
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (!f.endsWith('.ts')) cpSync(join(from, f), join(to, f));
}
