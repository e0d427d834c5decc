/**
 * True while a process with this pid exists on this host — a zombie not yet reaped counts — so a
 * node agent can tell whether the owner of something it finds (a monitor, a lock, a namespace) lives.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
