/**
 * CPU time from /proc, for benchmarks that attribute CPU to one program: a whole process tree
 * (a browser with its renderers, GPU and utility processes), one process, or the machine.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process times in USER_HZ ticks, 100 a second on every architecture it runs on. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in seconds. */
  cpu: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    // The process exited between listing /proc and reading it.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw err;
  }
  // The command name may hold spaces and parentheses: the fields start after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => Number(fields[n - 3]);
  return { ppid: field(4), cpu: (field(14) + field(15) + field(16) + field(17)) / TICKS_PER_SECOND };
}

/**
 * CPU seconds used so far by `root` and its live descendants. Children's times (cutime, cstime)
 * are counted too: a process that has exited and been reaped within the tree still shows there.
 */
export function treeCpuSeconds(root: number): number {
  return [...treeCpuByKind(root).values()].reduce((a, b) => a + b, 0);
}

/** What a Chromium process is, from its command line: browser, renderer, gpu-process, utility:<service>… */
function chromiumKind(pid: number): string {
  let args: string[];
  try {
    // Chromium's children rewrite their process title: the arguments come space-separated then.
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
  } catch {
    return 'gone';
  }
  const value = (flag: string): string | undefined =>
    args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
  const type = value('type');
  if (type === undefined) return 'browser';
  if (type !== 'utility') return type;
  // `network.mojom.NetworkService` → `utility:network`.
  return `utility:${(value('utility-sub-type') ?? '').split('.')[0] ?? ''}`;
}

/** CPU seconds so far of `root`'s tree, by kind of Chromium process (see chromiumKind). */
export function treeCpuByKind(root: number): Map<string, number> {
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== undefined) stats.set(Number(name), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out = new Map<string, number>();
  const todo = [root];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    const kind = chromiumKind(pid);
    out.set(kind, (out.get(kind) ?? 0) + (stats.get(pid)?.cpu ?? 0));
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds the whole machine has spent busy (all cores, everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  // guest and guest_nice (the last two) are already counted in user and nice.
  const busy = ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
  return busy / TICKS_PER_SECOND;
}
