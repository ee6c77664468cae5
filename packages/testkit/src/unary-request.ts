// A unary request as a Connect interceptor sees it, without a server: for
// calling an interceptor on its own (its unit tests, per-call benchmarks).
import { create, type DescMethod } from "@bufbuild/protobuf";
import { createContextValues, type UnaryRequest } from "@connectrpc/connect";

export function unaryRequestOf(method: DescMethod, headers: Record<string, string> = {}): UnaryRequest {
  return {
    stream: false,
    service: method.parent,
    method,
    requestMethod: "POST",
    url: `http://interceptor.test/${method.parent.typeName}/${method.name}`,
    signal: new AbortController().signal,
    header: new Headers(headers),
    contextValues: createContextValues(),
    message: create(method.input),
  } as UnaryRequest;
}
