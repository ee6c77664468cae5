import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { type ServiceRegistration, serviceOf } from "@kuku/platform";
import type { Ledger } from "../app/ledger.js";
import { submitBatchRpc } from "./batch.js";

/** The use cases throw DomainErrors; the server's error interceptor gives each its gRPC status. */
export function ledgerHandlers(ledger: Ledger, options: { pageSizeDefault: number }): ServiceRegistration {
  return serviceOf(LedgerService, {
    openAccount: (req) => ledger.openAccount(req),
    getSystemAccount: (req) => ledger.getSystemAccount(req),
    deposit: (req) => ledger.deposit(req),
    withdraw: (req) => ledger.withdraw(req),
    transfer: (req) => ledger.transfer(req),
    placeHold: (req) => ledger.placeHold(req),
    releaseHold: (req) => ledger.releaseHold(req),
    settleHold: (req) => ledger.settleHold(req),
    submitBatch: (req) => submitBatchRpc(ledger.writer, req),
    getBalances: (req) => ledger.getBalances(req),
    getHold: (req) => ledger.getHold(req),
    listEntries: (req) => ledger.listEntries(req, options.pageSizeDefault),
    verifyIntegrity: () => ledger.verifyIntegrity(),
  });
}
