/**
 * What /proc says about processes (Linux): enough for a test to see a process tree, find what is left of a
 * process group after its leader exited, and kill exactly those PIDs.
 */
import fs from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  /** Clock ticks since boot: with the PID, tells a process from a later one that reused the PID. */
  startTime: number;
  cmdline: string;
}

/** One process, or undefined when it is gone. */
export function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces or parentheses itself: fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((w) => w !== '').join(' ');
    return { pid, state: fields[0], ppid: Number(fields[1]), pgid: Number(fields[2]), startTime: Number(fields[19]), cmdline };
  } catch {
    return undefined;
  }
}

export function allProcesses(): ProcInfo[] {
  return fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))
    .map((name) => procInfo(Number(name))).filter((p): p is ProcInfo => p !== undefined);
}

/** The process and all its descendants. */
export function processTree(rootPid: number): ProcInfo[] {
  const all = allProcesses();
  const tree = all.filter((p) => p.pid === rootPid);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i].pid));
  return tree;
}

/** Live (not zombie) members of a process group. */
export function processGroup(pgid: number): ProcInfo[] {
  return allProcesses().filter((p) => p.pgid === pgid && p.state !== 'Z');
}

/** True while the very process seen earlier (same PID, same start time) still runs. */
export function stillRunning(seen: ProcInfo): boolean {
  const now = procInfo(seen.pid);
  return now !== undefined && now.startTime === seen.startTime && now.state !== 'Z';
}
