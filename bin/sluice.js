#!/usr/bin/env node
// Runs the compiled CLI (`npm install` builds it); stdout and stderr are flushed before exit.
import { main } from '../dist/src/cli/main.js';

const io = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) };
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`sluice: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
