// The text check walks every string a request carries: nested and repeated
// messages, oneofs, map keys and values; the error names the field path.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  DepositRequestSchema,
  SubmitBatchRequestSchema,
  TransferRequestSchema,
  WithdrawRequestSchema,
} from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import t from "tap";
import { checkTextFields, textProblemOf } from "../src/text-fields.js";

const refusal = (f: () => void) => {
  try {
    f();
  } catch (error) {
    return ConnectError.from(error);
  }
  return undefined;
};

t.test("clean text passes", async (t) => {
  const req = create(DepositRequestSchema, { requestId: "r-1", accountId: "a", metadata: { source: "한국어 ✓" } });
  t.equal(
    refusal(() => checkTextFields(DepositRequestSchema, req)),
    undefined,
  );
});

t.test("a NUL byte or a lone surrogate anywhere is INVALID_ARGUMENT naming its path", async (t) => {
  const cases: [() => void, string][] = [
    [
      () => checkTextFields(DepositRequestSchema, create(DepositRequestSchema, { requestId: "r\u0000" })),
      "request_id: contains a NUL byte",
    ],
    [
      () => checkTextFields(DepositRequestSchema, create(DepositRequestSchema, { metadata: { "k\u0000": "v" } })),
      "metadata key: contains a NUL byte",
    ],
    [
      () => checkTextFields(DepositRequestSchema, create(DepositRequestSchema, { metadata: { k: "\ud800" } })),
      'metadata["k"]: is not valid UTF-8 (lone surrogate)',
    ],
    [
      () => checkTextFields(TransferRequestSchema, create(TransferRequestSchema, { legs: [{ accountId: "a" }, { accountId: "b\u0000" }] })),
      "legs[1].account_id: contains a NUL byte",
    ],
  ];
  for (const [check, message] of cases) t.match(refusal(check), { code: Code.InvalidArgument, rawMessage: message }, message);
});

t.test("fields the protos leave to the handler (ignore = IGNORE_ALWAYS) are the handler's to check", async (t) => {
  const withdraw = create(WithdrawRequestSchema, { requestId: "\u0000" });
  const batch = create(SubmitBatchRequestSchema, {
    batchId: "b",
    operations: [{ operation: { case: "deposit", value: { requestId: "ok" } } }, { operation: { case: "withdraw", value: withdraw } }],
  });
  t.equal(
    refusal(() => checkTextFields(SubmitBatchRequestSchema, batch)),
    undefined,
    "SubmitBatch answers each operation on its own",
  );
  t.equal(textProblemOf(WithdrawRequestSchema, withdraw), "request_id: contains a NUL byte");
  t.equal(
    textProblemOf(SubmitBatchRequestSchema, create(SubmitBatchRequestSchema, { batchId: "b\u0000" })),
    "batch_id: contains a NUL byte",
  );
});
