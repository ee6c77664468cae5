// ghz, the Go gRPC load generator (installed by deploy/local/infra-up.sh), as
// the external client of `kuku-bench rpc`: it reads the method from a
// protoset written from the protobuf-es descriptors, so every server, bare
// or not, is called the same way.
import { writeFileSync } from "node:fs";
import { create, type DescFile, type DescMethod, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { run, TOOLS_BIN } from "@kuku/testkit";

/** Writes the method's file and everything it imports, imports first, as a FileDescriptorSet. */
export function writeProtoset(path: string, method: DescMethod): void {
  const files: DescFile[] = [];
  const visit = (file: DescFile) => {
    if (files.includes(file)) return;
    file.dependencies.forEach(visit);
    files.push(file);
  };
  visit(method.parent.file);
  writeFileSync(path, toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files.map((f) => f.proto) })));
}

export interface GhzRun {
  readonly port: number;
  readonly protoset: string;
  readonly method: DescMethod;
  /** The request in the protobuf JSON mapping. */
  readonly data: object;
  /** Request metadata, e.g. the operator's authorization for an internal service. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly concurrency: number;
  readonly durationMs: number;
}

export interface GhzResult {
  readonly ok: number;
  readonly errors: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** ghz's message for each kind of error counted in `errors`, with its count. */
  readonly errorsByMessage: Readonly<Record<string, number>>;
}

interface GhzReport {
  count: number;
  total: number;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
  latencyDistribution: { percentage: number; latency: number }[] | null;
}

const CUT_OFF = [/code = Canceled/, /use of closed network connection/];

/** `concurrency` calls in flight on one connection for the duration; ghz's own figures. */
export async function ghz(options: GhzRun): Promise<GhzResult> {
  const args = [
    "--insecure",
    `--protoset=${options.protoset}`,
    `--call=${options.method.parent.typeName}/${options.method.name}`,
    `--data=${JSON.stringify(options.data)}`,
    ...(options.metadata === undefined ? [] : [`--metadata=${JSON.stringify(options.metadata)}`]),
    `--concurrency=${options.concurrency}`,
    "--connections=1",
    `--duration=${options.durationMs}ms`,
    "--format=json",
    `127.0.0.1:${options.port}`,
  ];
  let out = await run(`${TOOLS_BIN}/ghz`, args);
  // ghz races when its time is up before its workers started (a short run on a busy machine): it panics
  // "send on closed channel" in its worker ticker, having measured nothing. Such a run is simply run again.
  for (let attempt = 1; out.code !== 0 && out.stderr.includes("send on closed channel") && attempt < 3; attempt++) {
    out = await run(`${TOOLS_BIN}/ghz`, args);
  }
  if (out.code !== 0) throw new Error(`ghz exited with ${out.code}: ${out.stderr}${out.stdout}`);
  const report = JSON.parse(out.stdout) as GhzReport;
  const ok = report.statusCodeDistribution?.["OK"] ?? 0;
  // When the time is up ghz closes its connection under the calls still in flight: not the server's errors.
  const errorsByMessage = Object.fromEntries(
    Object.entries(report.errorDistribution ?? {}).filter(([error]) => !CUT_OFF.some((re) => re.test(error))),
  );
  const cutOff =
    Object.values(report.errorDistribution ?? {}).reduce((sum, count) => sum + count, 0) -
    Object.values(errorsByMessage).reduce((sum, count) => sum + count, 0);
  const latency = (p: number) => (report.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? Number.NaN) / 1e6;
  return { ok, errors: report.count - ok - cutOff, errorsByMessage, seconds: report.total / 1e9, p50Ms: latency(50), p99Ms: latency(99) };
}
