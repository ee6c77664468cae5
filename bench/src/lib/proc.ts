// A process's CPU time and memory as Linux counts them (/proc), for figures
// about a process the benchmark did not start in-process (a service, a
// forked server or client), where process.cpuUsage() cannot be called.
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process (all its threads), in seconds (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

/**
 * Bytes a process passed to read and write system calls (/proc/<pid>/io
 * rchar + wchar): for a warm client whose only traffic is its calls, what
 * those calls put on the wire, both ways (headers and framing included).
 */
export function ioBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(io)![1]);
  return field("rchar") + field("wchar");
}
