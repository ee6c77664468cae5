// The exchange side of the legacy link: a TCP acceptor whose session hands
// each NO to a venue and answers it with an ER. simulatorVenue() puts this
// repository's exchange simulator behind it, over its own gRPC API, so the
// simulator plays the external exchange a member reaches through the link.
import { createServer, type Server } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { ExchangeOrderStatus, type ExchangeService, SubmitOrderRequestSchema } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { termsToProto } from "@kuku/contracts/order-terms";
import type { Logger } from "@kuku/platform";
import type { ExecutionReport, NewOrder } from "./codec.js";
import { LegacySession, type SessionStats } from "./session.js";
import { openStore } from "./spool.js";

export type Report = Omit<ExecutionReport, "type" | "seq">;

/** What stands behind the gateway: one answer per new order, the same answer for a repeated client order id. */
export interface LegacyVenue {
  submit(order: NewOrder): Promise<Report>;
}

export interface GatewayOptions {
  /** The spool and cursor directory: a restart on the same directory resumes the session. */
  readonly dir: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly venue: LegacyVenue;
  readonly logger: Logger;
  readonly heartbeatMs?: number;
}

export class LegacyGateway {
  private constructor(
    private readonly server: Server,
    private readonly session: LegacySession,
    private readonly closeStore: () => Promise<void>,
  ) {}

  static async start(options: GatewayOptions): Promise<LegacyGateway> {
    const { spool, cursor } = await openStore(options.dir);
    const session: LegacySession = new LegacySession({
      spool,
      cursor,
      logger: options.logger,
      heartbeatMs: options.heartbeatMs ?? 1_000,
      async onRecord(record) {
        if (record.type !== "NO") return options.logger.warn({ seq: record.seq }, "an ER sent to the exchange side is ignored");
        const report = await options.venue.submit(record);
        await session.send({ type: "ER", ...report });
      },
    });
    const server = createServer((socket) => session.attach(socket));
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(options.port, options.host ?? "127.0.0.1", resolve));
    return new LegacyGateway(server, session, () => Promise.all([spool.close(), cursor.close()]).then(() => undefined));
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  }

  get stats(): SessionStats {
    return this.session.stats;
  }

  /** Answers what it took, then stops; `abrupt` drops the connection first, as a crash would. */
  async close(abrupt = false): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.session.close(!abrupt);
    await closed;
    await this.closeStore();
  }
}

const STATUS: Partial<Record<ExchangeOrderStatus, Report["status"]>> = {
  [ExchangeOrderStatus.PARTIALLY_FILLED]: "P",
  [ExchangeOrderStatus.FILLED]: "F",
  [ExchangeOrderStatus.CANCELLED]: "C",
  [ExchangeOrderStatus.EXPIRED]: "C",
  [ExchangeOrderStatus.REJECTED]: "R",
};
/** The venue refused the order itself: answered R; any other failure is retried (SubmitOrder is keyed by the client order id). */
const REFUSALS = new Set([Code.InvalidArgument, Code.FailedPrecondition, Code.OutOfRange]);
const ascii = (text: string) =>
  text
    .replace(/[^\x20-\x7e]/g, "?")
    .slice(0, 30)
    .trim();

/** The exchange simulator behind the gateway, over its gRPC API; a call that fails is retried until `patienceMs`. */
export function simulatorVenue(
  client: Pick<Client<typeof ExchangeService>, "submitOrder">,
  retryMs = 200,
  patienceMs = 60_000,
): LegacyVenue {
  return {
    async submit(order) {
      const request = create(SubmitOrderRequestSchema, {
        clientOrderId: order.clientOrderId,
        symbol: order.symbol,
        quantity: order.quantity,
        priceKrw: order.priceKrw,
        ...termsToProto({
          side: order.side === "B" ? "buy" : "sell",
          type: order.orderType === "M" ? "market" : "limit",
          timeInForce: order.timeInForce === "I" ? "ioc" : "day",
        }),
      });
      const base = { clientOrderId: order.clientOrderId, filledQuantity: 0n, remainingQuantity: 0n };
      for (const deadline = Date.now() + patienceMs; ; await sleep(retryMs)) {
        try {
          const answer = await client.submitOrder(request);
          const filledQuantity = answer.fills.reduce((sum, fill) => sum + fill.quantity, 0n);
          const status = STATUS[answer.status] ?? "A";
          return { ...base, status, filledQuantity, remainingQuantity: answer.remainingQuantity, reason: ascii(answer.rejectReason) };
        } catch (error) {
          const refusal = error instanceof ConnectError && REFUSALS.has(error.code);
          if (refusal) return { ...base, status: "R", reason: ascii(error.rawMessage) };
          if (Date.now() > deadline) throw error;
        }
      }
    },
  };
}
