import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

/** Linux reports CPU time in USER_HZ ticks, 100 per second. */
const ticksPerSecond = 100;

/** CPU seconds spent by the whole machine and by this process with its reaped children. */
export interface CpuSnapshot {
  atMs: number;
  machineBusy: number;
  steal: number;
  ours: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // After the command's closing parenthesis: field 14 of stat(5) (utime) is at index 11.
  const own = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ').map(Number);
  const ours = own[11]! + own[12]! + own[13]! + own[14]!;
  return {
    atMs: performance.now(),
    machineBusy: (user! + nice! + system! + irq! + softirq!) / ticksPerSecond,
    steal: steal! / ticksPerSecond,
    ours: ours / ticksPerSecond,
  };
}

/**
 * Average cores used by everything that is not this bench, its registries or wrk between two
 * snapshots: other work on the machine makes every number here noisier. Valid once every child
 * has exited and been reaped (only then is its time in this process's counters).
 */
export function otherLoad(before: CpuSnapshot, after: CpuSnapshot): { cores: number; stealCores: number } {
  const seconds = (after.atMs - before.atMs) / 1000;
  const others = after.machineBusy - before.machineBusy - (after.ours - before.ours);
  return { cores: Math.max(0, others) / seconds, stealCores: (after.steal - before.steal) / seconds };
}

/** The first line a tool prints about its version (wrk prints it on -v, then exits 1). */
function toolVersion(command: string, args: string[]): string {
  let output: string;
  try {
    output = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    output = (error as { stdout?: string }).stdout ?? '';
  }
  return output.split('\n')[0]!.trim() || 'unknown';
}

/** What the results depend on besides the code: hardware, kernel, versions, load at the start. */
export function describeMachine(tools: { distribution: string; wrk: string }) {
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryBytes: totalmem(),
    kernel: release(),
    loadAverageAtStart: loadavg(),
    versions: {
      node: process.version,
      distribution: toolVersion(tools.distribution, ['--version']),
      wrk: toolVersion(tools.wrk, ['-v']),
    },
  };
}
