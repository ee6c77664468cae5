import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";

/** A service and its implementation, type-checked together. */
export interface ServiceRegistration {
  readonly desc: DescService;
  register(router: ConnectRouter): void;
}

export function serviceOf<T extends DescService>(desc: T, impl: Partial<ServiceImpl<T>>): ServiceRegistration {
  return { desc, register: (router) => void router.service(desc, impl) };
}
