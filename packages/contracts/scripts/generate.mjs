// Generates the TypeScript contracts from proto/ with buf + protoc-gen-es.
//
//   node scripts/generate.mjs          regenerate src/gen (committed)
//   node scripts/generate.mjs --check  fail when src/gen is stale
//
// Third-party protos are not vendored: they are taken from the npm packages
// that publish them (grpc health, grpc reflection) or derived from the
// descriptor that @bufbuild/protovalidate ships, into a git-ignored folder.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { descriptorToProto } from "./descriptor-to-proto.mjs";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = resolve(packageDir, "../..");
const depsDir = join(packageDir, ".deps/proto");
const genDir = join(packageDir, "src/gen");
const require = createRequire(import.meta.url);

function packageFile(pkg, relative) {
  return join(dirname(require.resolve(`${pkg}/package.json`)), relative);
}

function writeDependencyProtos() {
  rmSync(depsDir, { recursive: true, force: true });
  const copies = [
    [packageFile("grpc-health-check", "proto/health/v1/health.proto"), "grpc/health/v1/health.proto"],
    [packageFile("@grpc/reflection", "build/proto/grpc/reflection/v1/reflection.proto"), "grpc/reflection/v1/reflection.proto"],
    [packageFile("@grpc/reflection", "build/proto/grpc/reflection/v1alpha/reflection.proto"), "grpc/reflection/v1alpha/reflection.proto"],
  ];
  for (const [from, to] of copies) {
    mkdirSync(dirname(join(depsDir, to)), { recursive: true });
    cpSync(from, join(depsDir, to));
  }
  const validate = file_buf_validate_validate.proto;
  mkdirSync(join(depsDir, "buf/validate"), { recursive: true });
  writeFileSync(join(depsDir, validate.name), descriptorToProto(validate));
}

function buf(args) {
  const bin = join(dirname(require.resolve("@bufbuild/buf/package.json")), "bin/buf");
  const pluginBin = dirname(join(dirname(require.resolve("@bufbuild/protoc-gen-es/package.json")), "bin/protoc-gen-es"));
  execFileSync(bin, args, {
    cwd: repoRoot,
    stdio: "inherit",
    env: { ...process.env, PATH: `${pluginBin}:${process.env.PATH}` },
  });
}

function listFiles(dir, prefix = "") {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

writeDependencyProtos();
if (process.argv.includes("--check")) {
  const outDir = mkdtempSync(join(tmpdir(), "kuku-gen-"));
  buf(["generate", "--template", "buf.gen.yaml", "-o", outDir]);
  const fresh = join(outDir, "packages/contracts/src/gen");
  const stale = [...new Set([...listFiles(fresh), ...listFiles(genDir)])].filter((f) => {
    try {
      return !readFileSync(join(fresh, f)).equals(readFileSync(join(genDir, f)));
    } catch {
      return true;
    }
  });
  rmSync(outDir, { recursive: true, force: true });
  if (stale.length > 0) {
    console.error(`generated code is stale (run npm run generate): ${stale.join(", ")}`);
    process.exit(1);
  }
  console.log("generated code is up to date");
} else {
  rmSync(genDir, { recursive: true, force: true });
  buf(["generate", "--template", "buf.gen.yaml"]);
}
