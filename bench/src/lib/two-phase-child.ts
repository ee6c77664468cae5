// A coordinator to kill: it runs one transfer up to the point named by its
// mode ("2pc": both branches prepared; "saga": the order PENDING and the hold
// committed), says "ready" on stdout and waits for kuku-bench orders 2pc to
// SIGKILL it before it commits anything more.
import pg from "pg";
import { prepareBoth, sagaHold } from "./two-phase.js";

const [orderUrl, ledgerUrl, mode, orderId, account] = process.argv.slice(2);
const order = new pg.Client({ connectionString: orderUrl });
const ledger = new pg.Client({ connectionString: ledgerUrl });
await Promise.all([order.connect(), ledger.connect()]);
const transfer = { orderId: orderId!, account: account!, amount: 1_000n };
await (mode === "2pc" ? prepareBoth(order, ledger, transfer) : sagaHold(order, ledger, transfer));
process.stdout.write("ready\n");
setInterval(() => undefined, 60_000);
