// The bootstrap with connect-node answering gRPC on HTTP/2 (the browser-facing ports).
import { serverSuite } from "./support/server-suite.js";

serverSuite("connect");
