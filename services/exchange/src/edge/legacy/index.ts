// The legacy link (ADR 0025): codec, spool, session, the exchange-side gateway, the member side and a faulty link for drills.
export * from "./codec.js";
export * from "./gateway.js";
export * from "./link.js";
export * from "./member.js";
export * from "./session.js";
export * from "./spool.js";
