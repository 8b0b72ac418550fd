import { startPetrel } from '/work/main/test/harness/petrel.js';
import { INTEROP_CONFIG } from '/work/main/test/interop/config.js';
const p = await startPetrel(INTEROP_CONFIG);
console.log(JSON.stringify(p.ports));
process.on('SIGTERM', async () => { await p.stop(); process.exit(0); });
setTimeout(async () => { await p.stop(); process.exit(0); }, 600_000);
