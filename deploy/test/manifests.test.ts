// Every manifest under deploy/k8s and mesh/istio, checked offline: parsed as
// YAML, validated against the Kubernetes and Istio schemas
// (@kubernetes-models), every kustomization pointing at files that exist,
// every service with its full set of manifests and consistent ports,
// labels, probes and identities, every drill readable by the local fault
// interceptor; ports, variables, dependencies and who may call whom in k8s,
// the mesh and compose checked against the one list of services (@kuku/testkit).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { DestinationRule, Gateway, VirtualService } from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import { AuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1";
import { PeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1beta1";
import * as exchangeApi from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as ledgerApi from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as marketApi from "@kuku/contracts/kuku/market/v1/market_pb";
import * as orderApi from "@kuku/contracts/kuku/order/v1/order_pb";
import { callersOf, faultsFromIstio, OPERATOR } from "@kuku/platform";
import { infraVariables, run, SERVICES, type ServiceName, type ServiceSpec, TOOLS_BIN, urlVariable } from "@kuku/testkit";
import { Deployment } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import t from "tap";
import { parseAllDocuments } from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The services `spec` calls, whether it must or only when they are deployed (all of them are, here). */
const callees = (spec: ServiceSpec): readonly ServiceName[] => [...spec.calls, ...spec.callsIfPresent];
/** How a service reaches another inside k8s and compose: by its name, on its fixed port. */
const serviceUrl = (name: ServiceName) => `http://${name}:${SERVICES.find((s) => s.name === name)!.port}`;
type Resource = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: any;
};

// apiVersion/kind → the model whose validate() checks the schema.
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Secret": Secret,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "networking.istio.io/v1beta1/DestinationRule": DestinationRule,
  "networking.istio.io/v1beta1/VirtualService": VirtualService,
  "networking.istio.io/v1beta1/Gateway": Gateway,
  "security.istio.io/v1beta1/PeerAuthentication": PeerAuthentication,
  "security.istio.io/v1/AuthorizationPolicy": AuthorizationPolicy,
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function documents(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, "utf8")).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${relative(ROOT, path)}: ${doc.errors[0]!.message}`);
    return doc.toJS();
  });
}

const files = [...yamlFiles(join(ROOT, "deploy/k8s")), ...yamlFiles(join(ROOT, "mesh/istio")), ...yamlFiles(join(ROOT, "mesh/drills"))];
const resources: { file: string; resource: Resource }[] = [];
const kustomizations: { file: string; k: any }[] = [];
const jsonPatches = new Set<string>();

t.test("every manifest parses and validates against its schema", async (t) => {
  t.ok(files.length > 40, `${files.length} YAML files`);
  for (const file of files) {
    for (const doc of documents(file)) {
      const name = relative(ROOT, file);
      if (Array.isArray(doc)) {
        // A JSON 6902 patch: a list of operations.
        t.ok(
          doc.every((op) => ["add", "remove", "replace", "test", "move", "copy"].includes(op.op) && typeof op.path === "string"),
          `${name}: JSON patch`,
        );
        jsonPatches.add(file);
        continue;
      }
      const r = doc as Resource;
      if (r.kind === "Kustomization") {
        kustomizations.push({ file, k: r });
        continue;
      }
      const Model = MODELS[`${r.apiVersion}/${r.kind}`];
      if (Model === undefined) {
        t.fail(`${name}: no schema for ${r.apiVersion} ${r.kind}`);
        continue;
      }
      t.doesNotThrow(() => new Model(r).validate(), `${name}: ${r.kind} ${r.metadata?.name} is valid`);
      resources.push({ file, resource: r });
    }
  }
});

t.test("kustomizations reference files and directories that exist", async (t) => {
  t.ok(kustomizations.length >= 12);
  for (const { file, k } of kustomizations) {
    const dir = dirname(file);
    const name = relative(ROOT, file);
    for (const entry of k.resources ?? []) {
      const target = resolve(dir, entry);
      const ok = existsSync(target) && (statSync(target).isFile() || existsSync(join(target, "kustomization.yaml")));
      t.ok(ok, `${name}: resource ${entry}`);
      // kustomize loads single files only from inside the kustomization's root; directories may be anywhere.
      if (existsSync(target) && statSync(target).isFile()) t.ok(target.startsWith(dir), `${name}: ${entry} inside its root`);
    }
    for (const patch of k.patches ?? []) t.ok(existsSync(resolve(dir, patch.path)), `${name}: patch ${patch.path}`);
    for (const gen of k.secretGenerator ?? [])
      t.ok(gen.literals?.length > 0 || gen.files?.length > 0, `${name}: secret ${gen.name} has content`);
  }
});

const inBase = (svc: string) => resources.filter((r) => r.file.startsWith(`${join(ROOT, "deploy/k8s/base", svc)}/`)).map((r) => r.resource);

// The services browsers reach directly, and where: the market's WebSocket (ADR 0023).
const BROWSER_WEBSOCKET: Record<string, string | undefined> = { market: "/ws" };
const INGRESS_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
const INGRESS_PODS = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } },
  podSelector: { matchLabels: { istio: "ingressgateway" } },
};
const mesh = (kind: string) =>
  resources.filter((r) => r.file.startsWith(`${join(ROOT, "mesh/istio")}/`) && r.resource.kind === kind).map((r) => r.resource);

t.test("every service has its manifests, consistent with each other", async (t) => {
  const baseK = kustomizations.find((k) => k.file === join(ROOT, "deploy/k8s/base/kustomization.yaml"))!;
  for (const { name: svc, port, adminPort } of SERVICES) {
    t.ok(baseK.k.resources.includes(svc), `${svc}: in the base kustomization`);
    const own = inBase(svc);
    const one = (kind: string) => own.find((r) => r.kind === kind);
    for (const kind of ["Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "ServiceAccount"]) t.ok(one(kind), `${svc}: ${kind}`);
    const deployment = one("Deployment")!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const labels = deployment.spec.template.metadata.labels;
    t.equal(container.ports[0].containerPort, port, `${svc}: listens on ${port}`);
    const admin = container.ports.find((p: any) => p.name === "admin");
    t.equal(admin?.containerPort, adminPort, `${svc}: its admin listener on ${adminPort}`);
    t.equal(one("ConfigMap")!.data[`${svc.toUpperCase()}_ADMIN_PORT`], String(adminPort), `${svc}: ${svc.toUpperCase()}_ADMIN_PORT`);
    for (const [probe, path] of [
      ["startupProbe", "/readyz"],
      ["readinessProbe", "/readyz"],
      ["livenessProbe", "/healthz"],
    ] as const)
      t.same(container[probe]?.httpGet, { path, port: "admin" }, `${svc}: ${probe} is GET ${path} on the admin port`);
    t.same(
      deployment.spec.template.metadata.annotations,
      { "prometheus.io/scrape": "true", "prometheus.io/port": String(adminPort), "prometheus.io/path": "/metrics" },
      `${svc}: scraped on its admin port`,
    );
    t.ok(container.resources?.requests?.cpu && container.resources?.limits?.memory, `${svc}: resources`);
    t.equal(pod.serviceAccountName, one("ServiceAccount")!.metadata.name, `${svc}: runs as its own service account`);
    t.ok(
      container.envFrom.some((e: any) => e.configMapRef?.name === one("ConfigMap")!.metadata.name),
      `${svc}: env from its ConfigMap`,
    );
    t.equal(one("ConfigMap")!.data[`${svc.toUpperCase()}_PORT`], String(port), `${svc}: ${svc.toUpperCase()}_PORT`);
    const service = one("Service")!;
    t.same(
      service.spec.ports.map((p: any) => p.port),
      [port],
      `${svc}: the Service publishes ${port} only, never the admin port`,
    );
    t.equal(service.spec.ports[0].targetPort, container.ports[0].name, `${svc}: Service targets the container's named port`);
    for (const selector of [
      service.spec.selector,
      one("PodDisruptionBudget")!.spec.selector.matchLabels,
      deployment.spec.selector.matchLabels,
    ]) {
      t.ok(
        Object.entries(selector).every(([k, v]) => labels[k] === v),
        `${svc}: selector matches the pod labels`,
      );
    }
    const host = `${svc}.kuku.svc.cluster.local`;
    t.ok(
      mesh("DestinationRule").some(
        (d) => d.spec.host === host && d.spec.trafficPolicy.tls.mode === "ISTIO_MUTUAL" && d.spec.trafficPolicy.outlierDetection,
      ),
      `${svc}: DestinationRule`,
    );
    const vs = mesh("VirtualService").find((v) => v.spec.hosts.includes(host));
    t.ok(
      vs?.spec.http.every((r: any) => r.timeout !== undefined),
      `${svc}: VirtualService with a timeout on every route`,
    );
    t.ok(
      mesh("AuthorizationPolicy").some((p) => p.spec.selector?.matchLabels?.["app.kubernetes.io/name"] === svc),
      `${svc}: AuthorizationPolicy`,
    );
  }
});

t.test(
  "NetworkPolicies: deny by default; each port admits exactly its callers in the list; admin ports only Prometheus's namespace",
  async (t) => {
    const policies = resources
      .filter((r) => r.file === join(ROOT, "deploy/k8s/base/network-policies.yaml"))
      .map((r) => r.resource)
      .filter((r) => r.kind === "NetworkPolicy");
    t.ok(
      policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.policyTypes.includes("Ingress") && !p.spec.ingress),
      "a policy selecting every pod and admitting nothing",
    );
    const monitoring = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } };
    for (const spec of SERVICES) {
      const own = policies.find((p) => p.spec.podSelector.matchLabels?.["app.kubernetes.io/name"] === spec.name);
      const rulesOn = (port: number) => (own?.spec.ingress ?? []).filter((r: any) => r.ports.some((p: any) => p.port === port));
      const fromIngress = (r: any) =>
        r.from?.some((f: any) => f.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "istio-system");
      const browsers = rulesOn(spec.port).filter(fromIngress);
      t.same(
        browsers.map((r: any) => r.from),
        BROWSER_WEBSOCKET[spec.name] === undefined ? [] : [[INGRESS_PODS]],
        `${spec.name}: ${BROWSER_WEBSOCKET[spec.name] === undefined ? "nothing" : "its browser WebSocket"} from the ingress gateway's pods`,
      );
      const [main, ...moreMain] = rulesOn(spec.port).filter((r: any) => !fromIngress(r));
      const callers = SERVICES.filter((caller) => callees(caller).includes(spec.name)).map((caller) => caller.name);
      if (spec.public) t.equal(main?.from, undefined, `${spec.name}: ${spec.port} from anywhere (it is the public edge)`);
      else {
        t.same(
          (main?.from ?? []).map((f: any) => f.podSelector?.matchLabels?.["app.kubernetes.io/name"]).sort(),
          [...callers].sort(),
          `${spec.name}: ${spec.port} from ${callers.join(", ")} only`,
        );
      }
      t.same(moreMain, [], `${spec.name}: one rule on ${spec.port}`);
      t.same(
        rulesOn(spec.adminPort).map((r: any) => r.from),
        [[monitoring]],
        `${spec.name}: admin ${spec.adminPort} from the monitoring namespace only`,
      );
    }
  },
);

t.test(
  "the contracts' callers of each rpc agree with the list of services (which the mesh and NetworkPolicies are checked against)",
  async (t) => {
    const served: Record<string, DescService> = {
      ledger: ledgerApi.LedgerService,
      order: orderApi.OrderService,
      exchange: exchangeApi.ExchangeService,
      market: marketApi.MarketDataService,
    };
    for (const spec of SERVICES.filter((s) => !s.public)) {
      const service = served[spec.name]!;
      const named = new Set(service.methods.flatMap((m) => callersOf(m) ?? []).filter((c) => c !== OPERATOR));
      const listed = SERVICES.filter((caller) => callees(caller).includes(spec.name)).map((caller) => caller.name);
      t.same([...named].sort(), [...listed].sort(), `${spec.name}: its rpcs name exactly the services that call it`);
      // The mesh admits each caller to exactly the methods that name it.
      const policy = mesh("AuthorizationPolicy").find((p) => p.spec.selector?.matchLabels?.["app.kubernetes.io/name"] === spec.name);
      const meshPaths = new Map<string, string[]>();
      for (const rule of policy?.spec.rules ?? []) {
        const paths: string[] = rule.to?.flatMap((to: any) => to.operation.paths) ?? ["(every method)"];
        for (const principal of rule.from.flatMap((f: any) => f.source.principals)) {
          meshPaths.set(principal, [...(meshPaths.get(principal) ?? []), ...paths].sort());
        }
      }
      for (const caller of named) {
        const contract = service.methods.filter((m) => callersOf(m)!.includes(caller)).map((m) => `/${service.typeName}/${m.name}`);
        t.same(
          meshPaths.get(`cluster.local/ns/kuku/sa/kuku-${caller}`),
          contract.sort(),
          `${spec.name}: the mesh admits ${caller} to exactly the ${contract.length} rpcs that name it`,
        );
      }
      t.same(
        service.methods.filter((m) => callersOf(m) === undefined).map((m) => m.name),
        [],
        `${spec.name}: every rpc names its callers`,
      );
    }
  },
);

t.test("every variable a ConfigMap or Secret sets is one the service reads", async (t) => {
  for (const { name: svc } of SERVICES) {
    // The variables the service's own configuration shape parses, by name (shapes built by
    // platform helpers, such as the resilience settings, included).
    const module = (await import(join(ROOT, "services", svc, "src/config.ts"))) as Record<string, unknown>;
    const [shape] = Object.entries(module)
      .filter(([name]) => name.endsWith("ConfigShape"))
      .map(([, value]) => value as Record<string, { name: string }>);
    t.ok(shape, `${svc}: src/config.ts exports its configuration shape`);
    const known = new Set(Object.values(shape ?? {}).map((variable) => variable.name));
    const container = inBase(svc).find((r) => r.kind === "Deployment")!.spec.template.spec.containers[0];
    const names = [...Object.keys(inBase(svc).find((r) => r.kind === "ConfigMap")!.data), ...(container.env ?? []).map((e: any) => e.name)];
    const unknown = names.filter((n) => !known.has(n) && n !== "LOG_LEVEL");
    t.same(unknown, [], `${svc}: ${names.length} variables, all read by src/config.ts`);
  }
});

t.test("the mesh: mTLS STRICT, deny by default, who may call whom", async (t) => {
  t.equal(mesh("PeerAuthentication")[0]?.spec.mtls.mode, "STRICT");
  const policies = mesh("AuthorizationPolicy");
  t.ok(
    policies.some((p) => Object.keys(p.spec).length === 0),
    "an empty ALLOW policy denies whatever is not allowed",
  );
  const callers = (svc: string) =>
    policies
      .filter((p) => p.spec.selector?.matchLabels?.["app.kubernetes.io/name"] === svc)
      .flatMap((p) => p.spec.rules.flatMap((r: any) => r.from.flatMap((f: any) => f.source.principals)));
  const sa = (svc: string) => `cluster.local/ns/kuku/sa/kuku-${svc}`;
  for (const { name } of SERVICES.filter((s) => s.name !== "gateway")) {
    const expected = SERVICES.filter((caller) => callees(caller).includes(name)).map((caller) => sa(caller.name));
    const inside = callers(name).filter((p) => p !== INGRESS_PRINCIPAL);
    t.same(inside.sort(), expected.sort(), `${name}: called by ${expected.join(", ")} only (the list)`);
    // From outside, only a browser WebSocket's upgrade on its one path.
    const outside = policies
      .filter((p) => p.spec.selector?.matchLabels?.["app.kubernetes.io/name"] === name)
      .flatMap((p) => p.spec.rules)
      .filter((r: any) => r.from.some((f: any) => f.source.principals.includes(INGRESS_PRINCIPAL)));
    const path = BROWSER_WEBSOCKET[name];
    t.same(
      outside.map((r: any) => r.to),
      path === undefined ? [] : [[{ operation: { methods: ["GET"], paths: [path] } }]],
      `${name}: ${path === undefined ? "nothing" : `GET ${path} only`} from the ingress gateway`,
    );
  }
  const route = mesh("VirtualService")
    .flatMap((v) => v.spec.http)
    .find((r: any) => r.route.some((d: any) => d.destination.host === "market.kuku.svc.cluster.local") && r.rewrite);
  t.same(
    [route?.match?.[0]?.gateways, route?.rewrite?.uri, route?.timeout],
    [["kuku/kuku-ingress"], BROWSER_WEBSOCKET["market"], "0s"],
    "the ingress routes the console's /market/ws to the market's WebSocket, untimed",
  );
  // The gateway's only untimed route: the order-update stream, which lives as long as the session.
  const untimed = mesh("VirtualService")
    .flatMap((v) => v.spec.http)
    .filter((r: any) => r.timeout === "0s" && r.route.some((d: any) => d.destination.host === "gateway.kuku.svc.cluster.local"));
  t.same(
    untimed.map((r: any) => [r.match?.[0]?.uri?.exact, r.route[0].destination.host, r.retries]),
    [["/kuku.gateway.v1.TradingService/StreamOrderUpdates", "gateway.kuku.svc.cluster.local", undefined]],
    "StreamOrderUpdates is not cut by the gateway's 15 s, and not retried",
  );
  const gatewayEnv = inBase("gateway").find((r) => r.kind === "ConfigMap")!.data;
  t.equal(gatewayEnv.GATEWAY_MARKET_WS_URL, route?.match?.[0]?.uri?.prefix, "the gateway tells browsers that path");
  t.ok(callers("gateway")[0]?.includes("istio-ingressgateway"), "gateway: from the ingress gateway");
  const accounts = resources
    .filter((r) => r.resource.kind === "ServiceAccount")
    .map((r) => sa(r.resource.metadata.name.replace(/^kuku-/, "")));
  for (const p of SERVICES.map((s) => s.name)
    .flatMap(callers)
    .filter((x) => x.includes("/ns/kuku/")))
    t.ok(accounts.includes(p), `${p} exists`);
  const retried = mesh("VirtualService")
    .flatMap((v) => v.spec.http)
    .filter((r: any) => r.retries?.retryOn);
  t.ok(
    retried.some((r: any) => /unavailable/.test(r.retries.retryOn)),
    "retries include gRPC codes",
  );
  t.ok(
    mesh("Gateway").length === 1 && mesh("VirtualService").some((v) => v.spec.gateways?.includes("kuku/kuku-ingress")),
    "an ingress Gateway bound to the gateway service",
  );
});

t.test("every drill patches an existing VirtualService with faults the local interceptor reads", async (t) => {
  const drills = readdirSync(join(ROOT, "mesh/drills"));
  t.ok(drills.length >= 3);
  const names = new Set(mesh("VirtualService").map((v) => v.metadata.name));
  for (const drill of drills) {
    const path = join(ROOT, "mesh/drills", drill, "faults.yaml");
    const [vs] = documents(path) as Resource[];
    t.ok(names.has(vs!.metadata.name), `${drill}: patches VirtualService ${vs!.metadata.name}`);
    const target = vs!.spec.hosts[0].split(".")[0];
    const rules = faultsFromIstio(readFileSync(path, "utf8"), target);
    t.ok(
      rules.some((r) => (r.delay?.percent ?? 0) > 0 || (r.abort?.percent ?? 0) > 0),
      `${drill}: a fault with a percentage for ${target}`,
    );
  }
});

// kustomize itself (make infra installs it): every overlay and drill renders, and what it renders validates.
t.test("kustomize renders every overlay and drill into valid objects", async (t) => {
  const render = async (dir: string) => {
    const r = await run(`${TOOLS_BIN}/kustomize`, ["build", join(ROOT, dir)]);
    t.equal(r.code, 0, `kustomize build ${dir} ${r.stderr}`);
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Resource);
    for (const o of objects)
      t.doesNotThrow(() => new MODELS[`${o.apiVersion}/${o.kind}`]!(o).validate(), `${dir}: ${o.kind} ${o.metadata.name}`);
    return objects;
  };
  const count = (objects: Resource[], kind: string) => objects.filter((o) => o.kind === kind).length;
  const services = SERVICES.length;

  const dev = await render("deploy/k8s/overlays/dev");
  t.equal(count(dev, "Deployment"), services);
  t.ok(
    dev.filter((o) => o.kind === "Deployment").every((d) => d.spec.replicas === 1),
    "dev: one replica each",
  );
  const secret = dev.find((o) => o.kind === "Secret")!;
  const refs = dev
    .filter((o) => o.kind === "Deployment")
    .flatMap((d) => (d.spec.template.spec.containers[0].env ?? []).map((e: any) => e.valueFrom.secretKeyRef.name));
  t.ok(
    refs.length > 0 && refs.every((n: string) => [secret.metadata.name, "kuku-signing-keys", "kuku-identity"].includes(n)),
    `dev: deployments point at the generated secret ${secret.metadata.name} or the signing and identity keys made per cluster`,
  );
  t.notOk(JSON.stringify(secret).includes("SECRET"), "dev: no signing key in git, not even a development one");
  t.ok(
    dev.every((o) => o.kind === "Namespace" || o.metadata.namespace === "kuku"),
    "dev: everything in namespace kuku",
  );

  const prod = await render("deploy/k8s/overlays/prod");
  t.equal(count(prod, "Deployment"), services);
  t.equal(prod.find((o) => o.kind === "Deployment" && o.metadata.name === "ledger")!.spec.replicas, 3, "prod: three ledgers");
  t.equal(
    prod.find((o) => o.kind === "ConfigMap" && o.metadata.name === "order-env")!.data.ORDER_RETRY_ATTEMPTS_MAX,
    "2",
    "prod: fewer in-process attempts behind the mesh",
  );
  for (const kind of ["PeerAuthentication", "DestinationRule", "VirtualService", "AuthorizationPolicy", "Gateway"])
    t.ok(count(prod, kind) > 0, `prod: ${kind}`);

  for (const drill of readdirSync(join(ROOT, "mesh/drills"))) {
    const objects = await render(`mesh/drills/${drill}`);
    const faulted = objects.filter((o) => o.kind === "VirtualService" && o.spec.http.some((r: any) => r.fault !== undefined));
    t.equal(faulted.length, 1, `${drill}: exactly one VirtualService carries the faults`);
    t.equal(count(objects, "VirtualService"), count(prod, "VirtualService"), `${drill}: the others are the mesh's own`);
  }
});

t.test("k8s sets the variables the list of services says: ports, whom each calls, its infrastructure", async (t) => {
  for (const spec of SERVICES) {
    const svc = spec.name;
    const data: Record<string, string> = inBase(svc).find((r) => r.kind === "ConfigMap")!.data;
    const secretEnv = (inBase(svc).find((r) => r.kind === "Deployment")!.spec.template.spec.containers[0].env ?? []).map(
      (e: any) => e.name,
    );
    for (const to of callees(spec)) t.equal(data[urlVariable(svc, to)], serviceUrl(to), `${svc}: ${urlVariable(svc, to)}`);
    const infra = infraVariables(svc);
    t.equal(
      secretEnv.includes(infra.postgres),
      infra.postgres !== undefined,
      `${svc}: its database URL, from the secret, iff it needs postgres`,
    );
    t.equal("KAFKA_BROKERS" in data, infra.kafka !== undefined, `${svc}: KAFKA_BROKERS iff it needs kafka`);
    t.ok(
      [`${spec.envPrefix}_IDENTITY_KEY`, "KUKU_IDENTITY_TRUST"].every((n) => secretEnv.includes(n)),
      `${svc}: its identity key and the trust list, from the kuku-identity secret`,
    );
    t.same(
      Object.keys(data).filter((n) => n.endsWith("_REDIS_URL")),
      infra.redis === undefined ? [] : [infra.redis],
      `${svc}: a Redis URL iff it needs redis`,
    );
    const foreign = [...Object.keys(data), ...secretEnv].filter(
      (n) => !n.startsWith(`${spec.envPrefix}_`) && !["KAFKA_BROKERS", "LOG_LEVEL", "KUKU_IDENTITY_TRUST"].includes(n),
    );
    t.same(foreign, [], `${svc}: every variable is ${spec.envPrefix}_* or shared`);
  }
});

t.test("the compose file runs every service on its port, with the variables and dependencies the list says", async (t) => {
  const [compose] = documents(join(ROOT, "deploy/compose/docker-compose.yml")) as any[];
  for (const spec of SERVICES) {
    const svc = spec.name;
    const own = compose.services[svc];
    const published = spec.public ? `${spec.port}:${spec.port}` : `127.0.0.1:${spec.port}:${spec.port}`;
    t.same(own?.ports, [published, `127.0.0.1:${spec.adminPort}:${spec.adminPort}`], `${svc}: ${published}, admin on loopback`);
    // Services still being built on other branches have no folder yet; once they do, their Dockerfile must be there.
    if (existsSync(join(ROOT, "services", svc))) t.ok(existsSync(join(ROOT, own.build.dockerfile)), `${svc}: its Dockerfile`);
    const environment: Record<string, string> = own.environment ?? {};
    t.ok(
      [`${spec.envPrefix}_IDENTITY_KEY`, "KUKU_IDENTITY_TRUST"].every((n) => /^\$\{\w+:\?/.test(environment[n] ?? "")),
      `${svc}: its identity key and the trust list, required`,
    );
    for (const to of callees(spec)) t.equal(environment[urlVariable(svc, to)], serviceUrl(to), `${svc}: ${urlVariable(svc, to)}`);
    const infra = Object.entries(infraVariables(svc)).filter(([, variable]) => variable !== undefined);
    t.same(
      Object.keys(environment)
        .filter((n) => n.endsWith("_DATABASE_URL") || n.endsWith("_REDIS_URL") || n === "KAFKA_BROKERS")
        .sort(),
      infra.map(([, variable]) => variable).sort(),
      `${svc}: the infrastructure variables of what it needs`,
    );
    t.same(
      Object.keys(own.depends_on ?? {}).sort(),
      [...infra.map(([name]) => name), ...callees(spec)].sort(),
      `${svc}: depends on its infrastructure and the services it calls`,
    );
  }
});

t.test("the list of services matches what each service's configuration reads, and its defaults", async (t) => {
  for (const spec of SERVICES) {
    const module = (await import(join(ROOT, "services", spec.name, "src/config.ts"))) as Record<string, unknown>;
    const shape = Object.entries(module).find(([name]) => name.endsWith("ConfigShape"))![1] as Record<
      string,
      { name: string; parse(env: object): unknown }
    >;
    const variable = (name: string) => Object.values(shape).find((v) => v.name === name);
    t.equal(variable(`${spec.envPrefix}_PORT`)?.parse({}), spec.port, `${spec.name}: listens on ${spec.port} by default`);
    for (const to of callees(spec)) {
      const url = variable(urlVariable(spec.name, to))?.parse({});
      t.match(String(url), `:${SERVICES.find((s) => s.name === to)!.port}`, `${spec.name}: reaches ${to} on its port by default`);
    }
    for (const name of Object.values(infraVariables(spec.name)))
      if (name !== undefined) t.ok(variable(name), `${spec.name}: reads ${name}`);
  }
});
