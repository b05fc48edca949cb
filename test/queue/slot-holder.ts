/**
 * A worker process that takes one job of tenant `capped` and never ends it: a test kills it
 * (SIGKILL) while it holds its tenant's running slot. argv: redis port, lease ms. Prints `holding`
 * once the job runs.
 */
import { Redis } from 'ioredis';
import { startJobWorker } from '../../queue/job-worker.js';
import { RunningSlots } from '../../queue/running-slots.js';

const [port, leaseMs] = process.argv.slice(2).map(Number);
// `node --test dist/test/` runs every file under test/ as a test file: without its arguments
// there is nothing to hold, and it must end rather than wait on a Redis at the default port.
if (Number.isInteger(port) && Number.isInteger(leaseMs)) hold(port!, leaseMs!);

function hold(port: number, leaseMs: number): void {
  const redis = new Redis(port, '127.0.0.1');
  const slots = new RunningSlots(redis, () => undefined, leaseMs);
  startJobWorker({
    name: `slot-holder-${process.pid}`,
    connection: { host: '127.0.0.1', port },
    concurrency: 1,
    runningCap: { slots, capOf: async () => 1 },
    runner: {
      run: () => {
        process.stdout.write('holding\n');
        return new Promise(() => undefined);
      },
    },
  });
}
