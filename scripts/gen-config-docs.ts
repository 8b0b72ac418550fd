/**
 * @module scripts/gen-config-docs
 *
 * Writes docs/configuration.md from the directive table
 * (`renderConfigurationDoc()`). Run with `npm run docs:config` after
 * changing anything in src/config/directives*; the docs-in-sync test
 * fails until you do.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigurationDoc } from '../src/config/config-docs.js';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
writeFileSync(target, renderConfigurationDoc());
console.log(`wrote ${target}`);
