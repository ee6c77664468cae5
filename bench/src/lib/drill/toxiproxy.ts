// A private toxiproxy-server (L4 faults between services): its own process on
// a free port, driven through its HTTP API. Never the shared one, if any.
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { eventually, TOOLS_BIN } from "@kuku/testkit";

export interface Toxic {
  readonly name: string;
  /** latency, timeout, reset_peer, bandwidth, slow_close, limit_data, slicer */
  readonly type: string;
  readonly stream?: "upstream" | "downstream";
  readonly toxicity?: number;
  readonly attributes: Record<string, number>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class Toxiproxy {
  private constructor(
    private readonly child: ChildProcess,
    private readonly api: string,
  ) {}

  static async start(): Promise<Toxiproxy> {
    const port = await freePort();
    const child = spawn(`${TOOLS_BIN}/toxiproxy-server`, ["-host", "127.0.0.1", "-port", String(port)], { stdio: "ignore" });
    const proxy = new Toxiproxy(child, `http://127.0.0.1:${port}`);
    try {
      await eventually(
        "toxiproxy-server answers",
        async () => {
          await proxy.#call("GET", "/version");
          return true;
        },
        5_000,
      );
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    return proxy;
  }

  /** A proxy listening on a free loopback port, forwarding to `upstream` (host:port). Returns its port. */
  async link(name: string, upstream: string): Promise<number> {
    const created = (await this.#call("POST", "/proxies", { name, listen: "127.0.0.1:0", upstream, enabled: true })) as { listen: string };
    return Number(created.listen.split(":").pop());
  }

  /** Disabled: every connection through it is closed and new ones are refused (a cut link). */
  async setEnabled(name: string, enabled: boolean): Promise<void> {
    await this.#call("POST", `/proxies/${name}`, { enabled });
  }

  async addToxic(proxy: string, toxic: Toxic): Promise<void> {
    await this.#call("POST", `/proxies/${proxy}/toxics`, { stream: "downstream", toxicity: 1, ...toxic });
  }

  async removeToxic(proxy: string, name: string): Promise<void> {
    await this.#call("DELETE", `/proxies/${proxy}/toxics/${name}`);
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGTERM");
    await exited;
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.api}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: ${response.status} ${text}`);
    return text === "" ? undefined : JSON.parse(text);
  }
}
