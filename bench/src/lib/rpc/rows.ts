// The rows of `kuku-bench rpc`: which server, which client. Row names are
// what --rows takes.
import type { BuiltInInterceptor } from "@kuku/platform";

export type ServerSpec =
  | { readonly kind: "connect" }
  | { readonly kind: "grpc-js" }
  /** The bare grpc-js server over mutual TLS (certificates in tlsDir, made by the command). */
  | { readonly kind: "grpc-js-mtls"; readonly tlsDir?: string }
  /** The platform's startServer; tracing means the SDK exporting every span to Zipkin. */
  | {
      readonly kind: "platform";
      readonly builtIns: readonly BuiltInInterceptor[];
      readonly faults: boolean;
      readonly tracing: boolean;
      /** Who serves gRPC on HTTP/2 behind the platform's port. */
      readonly grpcServer: "connect" | "grpc-js";
    }
  /** The real ledger service on a fresh database, called with GetBalances. */
  | { readonly kind: "ledger" };

/** A Node client on connect's gRPC transport, on @grpc/grpc-js, on the platform's service client; or ghz. */
export type ClientKind = "connect" | "grpc-js" | "grpc-js-mtls" | "platform" | "ghz";

/** What a Node client process is told to do. */
export interface ClientRun {
  readonly client: Exclude<ClientKind, "ghz">;
  readonly port: number;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** For grpc-js-mtls: where the CA and the client's certificate are. */
  readonly tlsDir?: string;
}

export interface Row {
  readonly name: string;
  /** Rows with the same server name share one server process. */
  readonly server: string;
  readonly spec: ServerSpec;
  readonly client: ClientKind;
}

const ALL: readonly BuiltInInterceptor[] = ["observability", "errorMapping", "validation", "textFields"];
const platform = (
  builtIns: readonly BuiltInInterceptor[],
  extra: { faults?: boolean; tracing?: boolean; grpcServer?: "connect" | "grpc-js" } = {},
): ServerSpec => ({
  kind: "platform",
  builtIns,
  faults: extra.faults ?? false,
  tracing: extra.tracing ?? false,
  grpcServer: extra.grpcServer ?? "connect",
});

const servers: Record<string, ServerSpec> = {
  connect: { kind: "connect" },
  "grpc-js": { kind: "grpc-js" },
  "grpc-js-mtls": { kind: "grpc-js-mtls" },
  // The platform's server with no interceptor, then each one alone, then the built-in ones as the services run them.
  platform: platform([]),
  "platform+metrics": platform(["observability"]),
  "platform+tracing": platform(["observability"], { tracing: true }),
  "platform+errors": platform(["errorMapping"]),
  "platform+validation": platform(["validation"]),
  "platform+faults": platform([], { faults: true }),
  "platform+all": platform(ALL),
  // The same behind grpc-js (startServer's grpcServer option).
  "platform-grpcjs": platform([], { grpcServer: "grpc-js" }),
  "platform-grpcjs+metrics": platform(["observability"], { grpcServer: "grpc-js" }),
  "platform-grpcjs+tracing": platform(["observability"], { tracing: true, grpcServer: "grpc-js" }),
  "platform-grpcjs+errors": platform(["errorMapping"], { grpcServer: "grpc-js" }),
  "platform-grpcjs+validation": platform(["validation"], { grpcServer: "grpc-js" }),
  "platform-grpcjs+faults": platform([], { faults: true, grpcServer: "grpc-js" }),
  "platform-grpcjs+all": platform(ALL, { grpcServer: "grpc-js" }),
  ledger: { kind: "ledger" },
};

const row = (server: string, client: ClientKind): Row => ({ name: `${server}/${client}`, server, spec: servers[server]!, client });

export const ROWS: readonly Row[] = [
  row("connect", "connect"),
  row("connect", "grpc-js"),
  row("connect", "ghz"),
  row("grpc-js", "connect"),
  row("grpc-js", "grpc-js"),
  row("grpc-js", "ghz"),
  row("grpc-js-mtls", "grpc-js-mtls"),
  row("platform", "ghz"),
  row("platform+metrics", "ghz"),
  row("platform+tracing", "ghz"),
  row("platform+errors", "ghz"),
  row("platform+validation", "ghz"),
  row("platform+faults", "ghz"),
  row("platform+all", "ghz"),
  row("platform+all", "connect"),
  row("platform+all", "platform"),
  row("platform-grpcjs", "ghz"),
  row("platform-grpcjs+metrics", "ghz"),
  row("platform-grpcjs+tracing", "ghz"),
  row("platform-grpcjs+errors", "ghz"),
  row("platform-grpcjs+validation", "ghz"),
  row("platform-grpcjs+faults", "ghz"),
  row("platform-grpcjs+all", "ghz"),
  row("platform-grpcjs+all", "grpc-js"),
  row("platform-grpcjs+all", "platform"),
  row("ledger", "ghz"),
];

export const ROW_NAMES = ROWS.map((r) => r.name);
