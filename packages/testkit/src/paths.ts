// Where the repository and its installed tools are, for tests and benchmarks.
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const TOOLS_BIN = `${REPO_ROOT}.tools/bin`;
