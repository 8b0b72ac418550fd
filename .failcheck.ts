import { startPrivatePostfix, testDir } from './test/harness/postfix.js';
import * as fs from 'node:fs';
const dir = testDir('failcheck');
try { await startPrivatePostfix({ dir, listen: [{ host: '127.0.0.1', port: 1 }], main: { compatibility_level: 'bogus!!' }, timeoutMs: 3000 }); } catch (e) { console.log('threw:', (e as Error).message.slice(0, 400)); }
console.log('dir left:', fs.existsSync(dir), fs.existsSync('.test-tmp'));
