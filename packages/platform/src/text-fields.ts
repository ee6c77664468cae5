// Every text field is checked once, at the edge, before any handler runs: a
// NUL byte would reach PostgreSQL (which refuses it in text: INTERNAL), and a
// lone surrogate (JSON "\ud800") cannot be encoded as UTF-8 downstream. The
// binary codecs already refuse invalid UTF-8 (proto3 strings are verified);
// lengths are protovalidate rules in the protos.
import { type DescField, type DescMessage, getOption, type MessageShape } from "@bufbuild/protobuf";
import { field as fieldRules, Ignore } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { oncePer } from "./once-per.js";

type Fields = Record<string, unknown>;
// ES2024's String.prototype.isWellFormed (Node 20+); the project's lib is older.
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

function problem(text: string): string | undefined {
  if (text.includes("\0")) return "contains a NUL byte";
  if (!isWellFormed(text)) return "is not valid UTF-8 (lone surrogate)";
  return undefined;
}

class TextProblem extends Error {}

function refuse(path: string, reason: string): never {
  throw new TextProblem(`${path}: ${reason}`);
}

// A field the protos leave to the handler (SubmitBatch's operations, each one
// answered on its own) is checked there, with textProblemOf.
const handlerChecks = oncePer((field: DescField): boolean => getOption(field, fieldRules).ignore === Ignore.ALWAYS);

function checkText(path: string, value: unknown): void {
  if (typeof value !== "string") return;
  const reason = problem(value);
  if (reason !== undefined) refuse(path, reason);
}

/** What is wrong with a message's text (e.g. `display_name: contains a NUL byte`), or undefined. */
export function textProblemOf(schema: DescMessage, message: MessageShape<DescMessage>): string | undefined {
  try {
    walk(schema, message, "");
    return undefined;
  } catch (error) {
    if (error instanceof TextProblem) return error.message;
    throw error;
  }
}

/** Walks a message's string fields, recursively: nested messages, oneofs, repeated and map values and map keys. */
export function checkTextFields(schema: DescMessage, message: MessageShape<DescMessage>): void {
  const problem = textProblemOf(schema, message);
  if (problem !== undefined) throw new ConnectError(problem, Code.InvalidArgument);
}

function walk(schema: DescMessage, message: MessageShape<DescMessage>, prefix: string): void {
  const fields = message as unknown as Fields;
  for (const field of schema.fields) {
    if (handlerChecks(field)) continue;
    const path = `${prefix}${field.name}`;
    const value = field.oneof === undefined ? fields[field.localName] : oneofValue(fields, field.oneof.localName, field.localName);
    if (value === undefined) continue;
    switch (field.fieldKind) {
      case "scalar":
        checkText(path, value);
        break;
      case "message":
        // Wrapper types (google.protobuf.StringValue) arrive unboxed.
        if (typeof value === "string") checkText(path, value);
        else walk(field.message, value as MessageShape<DescMessage>, `${path}.`);
        break;
      case "list":
        (value as unknown[]).forEach((item, i) => {
          if (field.listKind === "message") walk(field.message, item as MessageShape<DescMessage>, `${path}[${i}].`);
          else checkText(`${path}[${i}]`, item);
        });
        break;
      case "map":
        for (const [key, item] of Object.entries(value as Fields)) {
          checkText(`${path} key`, key);
          if (field.mapKind === "message") walk(field.message, item as MessageShape<DescMessage>, `${path}[${JSON.stringify(key)}].`);
          else checkText(`${path}[${JSON.stringify(key)}]`, item);
        }
        break;
      default:
        break;
    }
  }
}

function oneofValue(fields: Fields, oneof: string, localName: string): unknown {
  const chosen = fields[oneof] as { case?: string; value?: unknown } | undefined;
  return chosen?.case === localName ? chosen.value : undefined;
}

async function* checkEach(schema: DescMessage, messages: AsyncIterable<MessageShape<DescMessage>>) {
  for await (const message of messages) {
    checkTextFields(schema, message);
    yield message;
  }
}

/** Refuses a request whose text holds a NUL byte or a lone surrogate: INVALID_ARGUMENT naming the field path. */
export function textFieldsInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (req.stream) return next({ ...req, message: checkEach(req.method.input, req.message) });
    checkTextFields(req.method.input, req.message);
    return next(req);
  };
}
