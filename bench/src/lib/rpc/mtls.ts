// A throwaway CA and a server and a client certificate (the server's for
// localhost and 127.0.0.1), made with the openssl CLI, for `kuku-bench rpc`'s mutual-TLS
// row: what mTLS between two Node processes costs per call (ADR 0021).
import { readFileSync } from "node:fs";
import { run } from "@kuku/testkit";

export interface MtlsFiles {
  readonly ca: Buffer;
  readonly key: Buffer;
  readonly cert: Buffer;
}

async function openssl(args: readonly string[]): Promise<void> {
  const r = await run("openssl", args);
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** Writes ca.pem, server.{key,pem} and client.{key,pem} into `dir` (EC P-256, one day). */
export async function makeMtlsCertificates(dir: string): Promise<void> {
  const key = (name: string) => openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${dir}/${name}.key`]);
  await key("ca");
  await openssl(["req", "-x509", "-new", "-key", `${dir}/ca.key`, "-subj", "/CN=kuku-bench-ca", "-days", "1", "-out", `${dir}/ca.pem`]);
  for (const [name, san] of [
    ["server", "DNS:localhost,IP:127.0.0.1"],
    ["client", "URI:spiffe://kuku/ns/bench/sa/client"],
  ] as const) {
    await key(name);
    await openssl(["req", "-new", "-key", `${dir}/${name}.key`, "-subj", `/CN=${name}`, "-out", `${dir}/${name}.csr`]);
    const ext = `${dir}/${name}.ext`;
    await run("sh", ["-c", `printf 'subjectAltName=${san}\\n' > ${ext}`]);
    await openssl([
      "x509",
      "-req",
      "-in",
      `${dir}/${name}.csr`,
      "-CA",
      `${dir}/ca.pem`,
      "-CAkey",
      `${dir}/ca.key`,
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      ext,
      "-out",
      `${dir}/${name}.pem`,
    ]);
  }
}

export function mtlsFiles(dir: string, side: "server" | "client"): MtlsFiles {
  return { ca: readFileSync(`${dir}/ca.pem`), key: readFileSync(`${dir}/${side}.key`), cert: readFileSync(`${dir}/${side}.pem`) };
}

/** The name the client checks the server's certificate against (Node refuses an IP address as a TLS server name). */
export const MTLS_SERVER_NAME = "localhost";
