// The bootstrap with @grpc/grpc-js answering gRPC on HTTP/2 (the service-to-service ports).
import t from "tap";
import { peerAddress } from "../src/grpc-js-server.js";
import { serverSuite } from "./support/server-suite.js";

serverSuite("grpc-js");

t.test("the peer's address is grpc-js's peer without its port, IPv6 included", async (t) => {
  t.equal(peerAddress("127.0.0.1:51234"), "127.0.0.1");
  t.equal(peerAddress("::ffff:10.0.0.7:443"), "::ffff:10.0.0.7");
  t.equal(peerAddress("::1:9"), "::1");
  t.equal(peerAddress("unknown"), undefined);
});
