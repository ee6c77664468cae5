// Prints the service list for shell scripts, in start order, one service a line:
//   <name> <port> <port variable>
// (scripts/services.sh reads it: `make up` starts what the list says).
import { envName, SERVICES } from "./services.js";

for (const s of SERVICES) console.log(`${s.name} ${s.port} ${envName(s.name, "PORT")}`);
