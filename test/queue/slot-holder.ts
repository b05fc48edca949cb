/**
 * A worker process that takes one job of tenant `capped` and never ends it: a test kills it
 * (SIGKILL) while it holds its tenant's running slot. argv: redis port, lease ms. Prints `holding`
 * once the job runs.
 */
import { Redis } from 'ioredis';
import { startJobWorker } from '../../queue/job-worker.js';
import { RunningSlots } from '../../queue/running-slots.js';

const [port, leaseMs] = process.argv.slice(2).map(Number);
const redis = new Redis(port!, '127.0.0.1');
const slots = new RunningSlots(redis, () => undefined, leaseMs);
startJobWorker({
  name: `slot-holder-${process.pid}`,
  connection: { host: '127.0.0.1', port: port! },
  concurrency: 1,
  runningCap: { slots, capOf: () => 1 },
  runner: {
    run: () => {
      process.stdout.write('holding\n');
      return new Promise(() => undefined);
    },
  },
});
