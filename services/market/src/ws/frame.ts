// A WebSocket text frame built once and written as is to many sockets: `ws`
// would build a header per `send` and write header and payload per client.
import * as ws from "ws";

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}

// `ws` exports its Sender (lib/sender.js) but @types/ws does not declare it.
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

const OPCODE_TEXT = 0x1;

/** One unmasked, final text frame (server to client), header and payload in one buffer. */
export function textFrame(payload: Buffer): Buffer {
  const parts = Sender.frame(payload, { fin: true, opcode: OPCODE_TEXT, mask: false, readOnly: false, rsv1: false });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
