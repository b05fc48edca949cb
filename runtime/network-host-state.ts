/**
 * What warmbox's bridges share on one host, under /run/warmbox (gone at reboot, as they are): a lock
 * held while a worker chooses its subnet and makes its bridge (two workers starting together would
 * otherwise choose the same one), and a marker per uplink whose forwarding warmbox turned on, so
 * that the last bridge to go turns it back off — whichever worker made it.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeSysctl } from './network-bridge.js';

export const HOST_STATE_DIR = '/run/warmbox';
const LOCK = join(HOST_STATE_DIR, 'network.lock');
const FORWARDING_MARK = 'forwarding-on-';
const LOCK_WAIT_MS = 10_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `fn` holding the host's network lock (a file holding the owner's pid; a dead owner's is taken over). */
export async function withNetworkLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(HOST_STATE_DIR, { recursive: true, mode: 0o755 });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(LOCK, 'utf8') || 'NaN');
      if (Number.isInteger(owner) && !isAlive(owner)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`${LOCK} is held by pid ${owner} for more than ${LOCK_WAIT_MS} ms`, { cause: err });
      else await sleep(20);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

export function markForwardingTurnedOn(dev: string): void {
  mkdirSync(HOST_STATE_DIR, { recursive: true, mode: 0o755 });
  closeSync(openSync(join(HOST_STATE_DIR, `${FORWARDING_MARK}${dev}`), 'w', 0o644));
}

/** Turns forwarding back off on every uplink warmbox turned it on for (call when no warmbox bridge is left). */
export function restoreForwarding(onLog: (line: string) => void): void {
  let names: string[];
  try {
    names = readdirSync(HOST_STATE_DIR).filter((n) => n.startsWith(FORWARDING_MARK));
  } catch {
    return;
  }
  for (const name of names) {
    const dev = name.slice(FORWARDING_MARK.length);
    try {
      writeSysctl(`ipv4/conf/${dev}/forwarding`, '0');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onLog(`cannot turn IPv4 forwarding on ${dev} back off: ${(err as Error).message}`);
    }
    rmSync(join(HOST_STATE_DIR, name), { force: true });
  }
}
