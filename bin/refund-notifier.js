#!/usr/bin/env -S node --max-old-space-size=512
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through the prepare script).
//
// The V8 flag on the first line is the one place the service's heap ceiling is set; run this file
// itself (`npx refund-notifier`, `npm start`, the image's entrypoint) and it applies. Why 512 MB
// (docs/operations.md, "Memory"): V8 sizes its heap from the memory it sees (the host's, or a
// container's limit). With 8 GB or more and no limit it allows itself 2 GB or more, and then lets
// garbage fill the old space to four times the live heap before collecting it; under a 2 GB
// ceiling it collects at 1.3 to 2 times. The live heap is ~30 MB whatever the store holds
// (bench/polling-scale), so 512 MB is 17 times that, and V8 collects at 1.4 times: about 60 MB
// less peak RSS while polling a store of 1M refunds (docs/performance.md).
import { runCli } from '../dist/cli.js';

// `refund-notifier config check | head` closes stdout early; that is not an error worth a trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

runCli(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
