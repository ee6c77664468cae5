// kuku-bench: the benchmark harness. `kuku-bench --help` lists the commands.
import { COMMANDS } from "./commands/index.js";
import { helpText, parseOptions, UsageError } from "./lib/command.js";

function usage(): string {
  const lines = ["usage: kuku-bench <command> [options]   (kuku-bench <command> --help for its options)", "", "commands:"];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(22)} ${c.summary}`);
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "help") {
    console.log(usage());
    return 0;
  }
  // The longest name that matches wins ("locks drill" before "locks").
  const command = [...COMMANDS]
    .sort((a, b) => b.name.split(" ").length - a.name.split(" ").length)
    .find((c) => c.name === argv.slice(0, c.name.split(" ").length).join(" "));
  if (command === undefined) {
    console.error(`unknown command: ${argv.join(" ")}\n\n${usage()}`);
    return 2;
  }
  try {
    const values = parseOptions(command, argv.slice(command.name.split(" ").length));
    if (values === "help") {
      console.log(helpText(command));
      return 0;
    }
    await command.run(values);
    // A command that found its checks failing has set the process's exit code.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
