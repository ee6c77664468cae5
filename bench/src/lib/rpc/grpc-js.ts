// A unary method as @grpc/grpc-js wants it, with the (de)serialisers taken
// from the protobuf-es descriptor: no second code generator, no hand-written
// message types.
import { type DescMessage, type DescMethodUnary, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { type Client, Metadata, type MethodDefinition } from "@grpc/grpc-js";

// A view of the encoded bytes, not a copy.
const buffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function unaryDefinition<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
): MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (message) => buffer(toBinary(method.input, message)),
    requestDeserialize: (bytes) => fromBinary(method.input, bytes),
    responseSerialize: (message) => buffer(toBinary(method.output, message)),
    responseDeserialize: (bytes) => fromBinary(method.output, bytes),
  };
}

/** One unary call on a @grpc/grpc-js client, as a promise. */
export function unaryCall<I, O>(client: Client, method: MethodDefinition<I, O>, request: I, metadata = new Metadata()): Promise<O> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, metadata, (error, response) =>
      error ? reject(error) : resolve(response!),
    ),
  );
}
