// SubmitBatch at the edge: each operation validated on its own by its
// protovalidate rules (a bad one is its own INVALID_ARGUMENT, not the
// call's), and each result in the unary call's terms.
import { create, type DescMessage } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { Code } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { textProblemOf } from "@kuku/platform";
import { codeOf, DomainError } from "@kuku/platform/errors";
import * as ops from "../app/batch/operations.js";
import { type BatchOperation, submitBatch } from "../app/batch/submit.js";
import type { BatchWriter, ItemResult } from "../app/batch/writer.js";

const validator = createValidator();

/** The operation's item, or its first violations as the unary call's validation would word them. */
function itemOf(operation: api.BatchOperation["operation"], index: number): ops.BatchItem | DomainError {
  const check = (schema: DescMessage, message: Parameters<typeof validator.validate>[1]): DomainError | undefined => {
    const result = validator.validate(schema, message);
    if (result.kind === "valid") {
      // The platform's text check leaves operations to us (ignore = IGNORE_ALWAYS), as validation does.
      const text = textProblemOf(schema, message);
      return text === undefined ? undefined : new DomainError("invalid_argument", text);
    }
    if (result.kind === "error") throw result.error;
    return new DomainError("invalid_argument", `invalid ${schema.name}: ${result.violations.map((v) => v.toString()).join("; ")}`);
  };
  switch (operation.case) {
    case "deposit":
      return check(api.DepositRequestSchema, operation.value) ?? ops.depositItem(operation.value);
    case "withdraw":
      return check(api.WithdrawRequestSchema, operation.value) ?? ops.withdrawItem(operation.value);
    case "transfer":
      return check(api.TransferRequestSchema, operation.value) ?? ops.transferItem(operation.value);
    case "placeHold":
      return check(api.PlaceHoldRequestSchema, operation.value) ?? ops.placeHoldItem(operation.value);
    case "releaseHold":
      return check(api.ReleaseHoldRequestSchema, operation.value) ?? ops.releaseHoldItem(operation.value);
    case "settleHold":
      return check(api.SettleHoldRequestSchema, operation.value) ?? ops.settleHoldItem(operation.value);
    case undefined:
      return new DomainError("invalid_argument", `operations[${index}]: one operation must be set`);
  }
}

/** An error as the unary call's status: a DomainError by its kind, anything else INTERNAL without internals. */
function batchError(error: unknown): api.BatchError {
  if (!(error instanceof DomainError)) return create(api.BatchErrorSchema, { code: Code.Internal, message: "internal error" });
  return create(api.BatchErrorSchema, { code: codeOf(error.kind), message: error.message, metadata: { ...error.metadata } });
}

function resultOf(operation: api.BatchOperation["operation"], result: ItemResult): api.BatchResult {
  if (!result.ok || operation.case === undefined) {
    return create(api.BatchResultSchema, { result: { case: "error", value: batchError(result.ok ? undefined : result.error) } });
  }
  // The response schema of each case is the one its item was built with.
  return create(api.BatchResultSchema, { result: { case: operation.case, value: result.response } as api.BatchResult["result"] });
}

export async function submitBatchRpc(writer: BatchWriter, req: api.SubmitBatchRequest): Promise<api.SubmitBatchResponse> {
  const operations: BatchOperation[] = req.operations.map((o, i) => ({ item: itemOf(o.operation, i), linked: o.linked }));
  const results = await submitBatch(writer, operations);
  return create(api.SubmitBatchResponseSchema, { results: results.map((r, i) => resultOf(req.operations[i]!.operation, r)) });
}
