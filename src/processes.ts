/**
 * Process liveness, shared by the daemon (is another AP running here?) and
 * the annex front-ends (are the local pilots still running?).
 */
import { readFileSync } from 'node:fs';

/**
 * True if a process with this pid is running (signal 0 probes without
 * sending). A zombie is not running: a killed daemon whose parent (often
 * init in a container) has not reaped it yet must not block a restart.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust the signal probe
  }
}
