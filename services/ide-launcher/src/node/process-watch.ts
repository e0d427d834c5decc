import { readFile } from 'node:fs/promises';

/** A process's identity on the node: its PID and its start time, so a recycled PID is not mistaken for it. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: string;
}

/** Reads `/proc/<pid>/stat`: state and start time (fields 3 and 22), or undefined when it is gone. */
async function stat(pid: number): Promise<{ state: string; startTime: string } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, startTime: fields[19]! };
}

/** The identity of a running process, or undefined when there is none (or only a zombie). */
export async function identify(pid: number): Promise<ProcessIdentity | undefined> {
  const s = await stat(pid);
  return s && s.state !== 'Z' && s.state !== 'X' ? { pid, startTime: s.startTime } : undefined;
}

/** True while the process still runs (not a zombie, not a newer process with its PID). */
export async function alive(process: ProcessIdentity): Promise<boolean> {
  const s = await stat(process.pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X' && s.startTime === process.startTime;
}
