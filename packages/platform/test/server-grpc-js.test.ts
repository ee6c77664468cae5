// The bootstrap with @grpc/grpc-js answering gRPC on HTTP/2 (the service-to-service ports).
import { serverSuite } from "./support/server-suite.js";

serverSuite("grpc-js");
