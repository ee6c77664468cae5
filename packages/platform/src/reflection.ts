import { create, type DescFile, type DescMessage, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import * as v1 from "@kuku/contracts/grpc/reflection/v1/reflection_pb";
import * as v1alpha from "@kuku/contracts/grpc/reflection/v1alpha/reflection_pb";
import { type ServiceRegistration, serviceOf } from "./registration.js";

/**
 * What gRPC server reflection answers from: every file that declares a
 * served service, with its transitive imports, indexed by symbol.
 */
class DescriptorIndex {
  readonly files = new Map<string, DescFile>();
  readonly symbols = new Map<string, DescFile>();
  readonly extensions: { extendee: string; number: number; file: DescFile }[] = [];

  constructor(readonly services: readonly DescService[]) {
    for (const service of services) this.#addFile(service.file);
  }

  #addFile(file: DescFile): void {
    if (this.files.has(file.name)) return;
    this.files.set(file.name, file);
    for (const dependency of file.dependencies) this.#addFile(dependency);
    for (const service of file.services) {
      this.symbols.set(service.typeName, file);
      for (const method of service.methods) this.symbols.set(`${service.typeName}.${method.name}`, file);
    }
    for (const e of file.enums) this.symbols.set(e.typeName, file);
    for (const x of file.extensions) {
      this.symbols.set(x.typeName, file);
      this.extensions.push({ extendee: x.extendee.typeName, number: x.number, file });
    }
    for (const message of file.messages) this.#addMessage(message, file);
  }

  #addMessage(message: DescMessage, file: DescFile): void {
    this.symbols.set(message.typeName, file);
    for (const e of message.nestedEnums) this.symbols.set(e.typeName, file);
    for (const x of message.nestedExtensions) {
      this.symbols.set(x.typeName, file);
      this.extensions.push({ extendee: x.extendee.typeName, number: x.number, file });
    }
    for (const nested of message.nestedMessages) this.#addMessage(nested, file);
  }

  /** The file first, then everything it imports, each once. */
  withDependencies(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }
}

function respond(index: DescriptorIndex, req: v1.ServerReflectionRequest): v1.ServerReflectionResponse {
  const base = { validHost: req.host, originalRequest: req };
  const files = (file: DescFile | undefined, what: string) =>
    file === undefined
      ? create(v1.ServerReflectionResponseSchema, {
          ...base,
          messageResponse: {
            case: "errorResponse",
            value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
          },
        })
      : create(v1.ServerReflectionResponseSchema, {
          ...base,
          messageResponse: {
            case: "fileDescriptorResponse",
            value: { fileDescriptorProto: index.withDependencies(file) },
          },
        });
  const request = req.messageRequest;
  switch (request.case) {
    case "listServices":
      return create(v1.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "listServicesResponse",
          value: { service: index.services.map((s) => ({ name: s.typeName })) },
        },
      });
    case "fileByFilename":
      return files(index.files.get(request.value), `file ${request.value}`);
    case "fileContainingSymbol":
      return files(index.symbols.get(request.value), `symbol ${request.value}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = request.value;
      const found = index.extensions.find((x) => x.extendee === containingType && x.number === extensionNumber);
      return files(found?.file, `extension ${extensionNumber} of ${containingType}`);
    }
    case "allExtensionNumbersOfType":
      return create(v1.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "allExtensionNumbersResponse",
          value: {
            baseTypeName: request.value,
            extensionNumber: index.extensions.filter((x) => x.extendee === request.value).map((x) => x.number),
          },
        },
      });
    default:
      return create(v1.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
        },
      });
  }
}

/**
 * grpc.reflection.v1 and v1alpha (older grpcurl and tools speak v1alpha;
 * the two are wire-identical, so v1alpha is answered through v1).
 */
export function reflectionRegistrations(services: readonly DescService[]): ServiceRegistration[] {
  const index = new DescriptorIndex(services);
  return [
    serviceOf(v1.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield respond(index, req);
      },
    }),
    serviceOf(v1alpha.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          const asV1 = fromBinary(v1.ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, req));
          const answer = respond(index, asV1);
          yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(v1.ServerReflectionResponseSchema, answer));
        }
      },
    }),
  ];
}
