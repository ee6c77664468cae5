// Preloaded into a service process (node --import) by the network
// benchmarks: TCP_NODELAY forced off on every socket of the process, whatever
// its libraries ask (node:http2 and ws turn it on), so that what is measured
// is Nagle's algorithm on the service's own writes.
import net from "node:net";

const setNoDelay = net.Socket.prototype.setNoDelay;
net.Socket.prototype.setNoDelay = function () {
  return setNoDelay.call(this, false);
};
