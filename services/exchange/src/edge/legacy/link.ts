// A stand-in for the relay between the networks (the store-and-forward hop of
// ADR 0025) for tests and drills: it forwards whole records both ways and can
// lose sequenced records at random (seeded, so a run repeats) or cut every
// connection, as a flaky line does. Losing every n-th record instead can
// starve a resend forever: when a resend is a multiple of n long, the same
// position is lost each round.
import { connect, createServer, type Server, type Socket } from "node:net";
import { RECORD_BYTES, RecordReader } from "./codec.js";

const UNSEQUENCED = "0".repeat(10);

export class FaultyLink {
  dropped = 0;
  #random: number;
  readonly #sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly lossPercent: number,
    seed: number,
  ) {
    this.#random = seed >>> 0;
  }

  /** Listens on a free port and forwards each connection to `targetPort`, losing about lossPercent % of the sequenced records. */
  static async start(targetPort: number, lossPercent: number, seed = 1): Promise<FaultyLink> {
    const server = createServer();
    const link = new FaultyLink(server, lossPercent, seed);
    server.on("connection", (inbound) => link.#bridge(inbound, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return link;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  }

  /** Drops every connection through the link, as a line going down. */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #bridge(inbound: Socket, targetPort: number): void {
    const outbound = connect(targetPort, "127.0.0.1");
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      this.#sockets.add(from);
      const reader = new RecordReader();
      from.on("data", (chunk: Buffer) => {
        for (const record of reader.push(chunk)) if (!this.#lose(record)) to.write(record);
      });
      from.on("error", () => undefined);
      from.on("close", () => {
        this.#sockets.delete(from);
        to.destroy();
      });
    }
  }

  #lose(record: Buffer): boolean {
    if (this.lossPercent === 0 || record.length !== RECORD_BYTES || record.toString("latin1", 2, 12) === UNSEQUENCED) return false;
    this.#random = (Math.imul(this.#random, 1664525) + 1013904223) >>> 0;
    if ((this.#random / 2 ** 32) * 100 >= this.lossPercent) return false;
    this.dropped++;
    return true;
  }
}
