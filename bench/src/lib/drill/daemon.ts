// A server process of the drill's own (a broker, a Redis), so that the drill
// may kill it with -9 and start it again on the same arguments, data and
// port: never one of the shared servers other tests use. Its output goes to
// a log file, not to memory (a long drill restarts it hundreds of times),
// and its tail is quoted when it does not come up.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually, GiveUp } from "@kuku/testkit";

export class Daemon {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly logFile: string,
    /** True once the server answers the way its clients need. */
    private readonly ready: () => Promise<boolean>,
    private readonly startTimeoutMs = 60_000,
  ) {}

  /** Spawns it and waits until it is ready; fails early, with its log, if it exits first. */
  async start(): Promise<void> {
    const log = openSync(this.logFile, "a");
    const child = spawn(this.command, [...this.args], { stdio: ["ignore", log, log] });
    closeSync(log); // the child has its own descriptor
    this.#child = child;
    let gone: string | undefined;
    this.#exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        gone = `exited with ${code ?? signal}`;
        resolve();
      });
      // A command that cannot be spawned never exits.
      child.once("error", (error) => {
        gone = error.message;
        resolve();
      });
    });
    try {
      await eventually(
        `${this.name} ready`,
        async () => {
          if (gone !== undefined) throw new GiveUp(`${this.name} ${gone} before it was ready`);
          return this.ready();
        },
        this.startTimeoutMs,
      );
    } catch (error) {
      await this.kill();
      throw new Error(`${(error as Error).message}\n${this.#logTail()}`);
    }
  }

  /** kill -9: no shutdown of its own, as a power cut. Resolves once it is gone. */
  async kill(): Promise<void> {
    this.#child?.kill("SIGKILL");
    await this.#exited;
  }

  /** kill -9, down for `downMs`, then started again on the same arguments (same data, same port). */
  async crashAndRestart(downMs: number): Promise<void> {
    await this.kill();
    await sleep(downMs);
    await this.start();
  }

  /** A clean stop (SIGTERM), -9 if it takes longer than 10 s. */
  async stop(): Promise<void> {
    if (this.#child === undefined || this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child?.kill("SIGKILL"), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }

  #logTail(): string {
    try {
      return readFileSync(this.logFile, "utf8").split("\n").slice(-30).join("\n");
    } catch {
      return "(no log)";
    }
  }
}
