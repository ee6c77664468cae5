#!/usr/bin/env node
// Where a V8 CPU profile's time went: self time per package (or Node internal
// module) and per function, over the whole profile or its last N seconds
// (e.g. a benchmark's measured window, leaving out start-up).
//   node bench/bin/cpuprofile-top.mjs <file.cpuprofile> [last-seconds]
import { readFileSync } from "node:fs";

const [file, lastSeconds] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: cpuprofile-top.mjs <file.cpuprofile> [last-seconds]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const from = lastSeconds === undefined ? -Infinity : profile.endTime - Number(lastSeconds) * 1e6;
const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
const byPackage = new Map();
const byFunction = new Map();
const add = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
let t = profile.startTime;
let total = 0;
profile.samples.forEach((id, i) => {
  t += profile.timeDeltas[i];
  if (t < from) return;
  const frame = nodes.get(id);
  const url = frame.url.replace(/^file:\/\/\/work\/[^/]+\//, "");
  const pkg =
    /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
    (url.startsWith("node:") ? url.split("/").slice(0, 3).join("/") : url || frame.functionName);
  add(byPackage, pkg);
  add(byFunction, `${frame.functionName || "(anonymous)"} ${url.replace(/.*node_modules\//, "")}:${frame.lineNumber + 1}`);
  total += 1;
});
const top = (map, n) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, count]) => `${((100 * count) / total).toFixed(1).padStart(5)} %  ${key}`)
    .join("\n");
console.log(`${total} samples${lastSeconds === undefined ? "" : ` in the last ${lastSeconds} s`}; self time per package:`);
console.log(top(byPackage, 15));
console.log("\nper function:");
console.log(top(byFunction, 20));
