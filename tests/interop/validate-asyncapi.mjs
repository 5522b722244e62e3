// node validate-asyncapi.mjs FILE: parse an AsyncAPI document with @asyncapi/parser (the AsyncAPI
// initiative's own parser: the specification's JSON Schema and its rule set). Every diagnostic is
// printed; the exit code is 1 if any has error severity or the document could not be parsed, 2 for
// bad usage, 0 otherwise.
import { resolve } from "node:path";

import { DiagnosticSeverity, fromFile, Parser } from "@asyncapi/parser";

const SEVERITY = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "information",
  [DiagnosticSeverity.Hint]: "hint",
};

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error("usage: node validate-asyncapi.mjs FILE");
  process.exit(2);
}

let parsed;
try {
  parsed = await fromFile(new Parser(), resolve(file)).parse();
} catch (error) {
  console.error(`${file}: cannot be read or parsed: ${error.message}`);
  process.exit(1);
}
const { document, diagnostics } = parsed;
for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join(".") : "(document)";
  const line = d.range ? `:${d.range.start.line + 1}` : "";
  console.log(`${file}${line}: ${SEVERITY[d.severity] ?? d.severity}: ${d.code}: ${d.message} at ${where}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (errors.length || !document) {
  console.error(`${file}: ${errors.length} error(s)${document ? "" : "; no document could be made of it"}`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()} (${diagnostics.length} diagnostic(s), none an error)`);
