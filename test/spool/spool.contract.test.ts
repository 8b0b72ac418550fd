/** Runs the spool contract suite against the segment-log spool. */
import { Spool } from '../../src/spool/index.js';
import { runSpoolContract } from './contract.js';

runSpoolContract('segment log', (options) => Spool.open(options));
