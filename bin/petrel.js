#!/usr/bin/env node
// The installed `petrel` command: runs the compiled CLI (npm run build makes dist/).
import { main } from '../dist/cli/main.js';

await main(process.argv);
