// Preloaded into the service by bench/polling-scale (`node --import <this file> bin/refund-notifier.js
// start`, forked with an IPC channel): reports the process's memory to the bench, and writes heap
// snapshots of the main thread and of every worker thread when asked. Nothing in the service
// knows of it; without an IPC channel it does nothing.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setInterval } from 'node:timers';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const workers = [];

if (process.send) {
  process.on('worker', (worker) => {
    workers.push(worker);
    worker.once('exit', () => workers.splice(workers.indexOf(worker), 1));
  });
  const report = () => {
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
    process.send?.({ probe: 'memory', at: Date.now(), usage: process.memoryUsage(), spaces, workers: workers.length });
  };
  // 250 ms: fine enough to see a claim's or a scrape's allocations, cheap enough to change nothing.
  setInterval(report, 250).unref();
  process.on('message', (msg) => {
    if (msg?.probe === 'snapshot') void snapshot(msg.dir).then((files) => process.send?.({ probe: 'snapshot', files }));
  });
  // The channel must not keep the service alive after it stopped.
  process.channel?.unref();
}

async function snapshot(dir) {
  const files = [writeHeapSnapshot(join(dir, `main-${process.pid}.heapsnapshot`))];
  for (const [i, worker] of workers.entries()) {
    const file = join(dir, `worker${i}-${process.pid}.heapsnapshot`);
    await pipeline(await worker.getHeapSnapshot(), createWriteStream(file));
    files.push(file);
  }
  return files;
}
