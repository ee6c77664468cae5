// The member (broker) side of the legacy link: it connects out, and keeps
// reconnecting; orders are spooled before they leave, so an order taken while
// the link is down goes out when it is back, and a restart on the same
// directory resumes the session where it stopped.
import { connect } from "node:net";
import type { Logger } from "@kuku/platform";
import type { ExecutionReport, NewOrder } from "./codec.js";
import { LegacySession, type SessionStats } from "./session.js";
import { openStore } from "./spool.js";

export interface MemberOptions {
  readonly dir: string;
  readonly host?: string;
  readonly port: number;
  /** Every ER in sequence order; after a gateway crash the same order's report may come twice. */
  readonly onReport: (report: ExecutionReport) => void;
  readonly logger: Logger;
  readonly heartbeatMs?: number;
  readonly reconnectMs?: number;
}

export class LegacyMember {
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: MemberOptions,
    private readonly session: LegacySession,
    private readonly closeStore: () => Promise<void>,
  ) {}

  static async start(options: MemberOptions): Promise<LegacyMember> {
    const { spool, cursor } = await openStore(options.dir);
    const session = new LegacySession({
      spool,
      cursor,
      logger: options.logger,
      heartbeatMs: options.heartbeatMs ?? 1_000,
      async onRecord(record) {
        if (record.type === "ER") options.onReport(record);
      },
    });
    const member = new LegacyMember(options, session, () => Promise.all([spool.close(), cursor.close()]).then(() => undefined));
    member.#connect();
    return member;
  }

  get stats(): SessionStats {
    return this.session.stats;
  }

  /** Resolves with the order's sequence number once it is spooled; it goes out now or when the link is back. */
  submit(order: Omit<NewOrder, "type" | "seq">): Promise<number> {
    return this.session.send({ type: "NO", ...order });
  }

  #connect(): void {
    if (this.#closed) return;
    const socket = connect(this.options.port, this.options.host ?? "127.0.0.1");
    socket.once("connect", () => this.session.attach(socket));
    socket.once("error", () => undefined);
    socket.once("close", () => {
      if (!this.#closed) this.#timer = setTimeout(() => this.#connect(), this.options.reconnectMs ?? 100);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.session.close(true);
    await this.closeStore();
  }
}
