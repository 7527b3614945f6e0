// Unknown-field check for custom resources. The CRD schemas in the model packages allow any extra field
// (the API server would drop it, or refuse it under strict field validation), so a misspelt field would
// pass .validate(). The packages' type declarations (.d.ts) list every field of every type: walk the
// object along them and report each field its type does not declare.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const MODULES = join(dirname(fileURLToPath(import.meta.url)), "node_modules");
const files = new Map(); // path -> {imports: name->path, interfaces: name->{props, bases}}

function specToPath(spec, fromDir) {
  const base = spec.startsWith(".") ? resolve(fromDir, spec) : join(MODULES, spec);
  return base.replace(/\.js$/, "") + ".d.ts";
}

function parseFile(path) {
  if (files.has(path)) return files.get(path);
  const text = readFileSync(path, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    for (const name of m[1].split(",").map((s) => s.trim())) imports.set(name, specToPath(m[2], dirname(path)));
  }
  const interfaces = new Map();
  for (const m of text.matchAll(/^export interface (\w+)(?: extends ([^{]+))? \{\n([\s\S]*?)\n\}$/gm)) {
    const props = new Map();
    for (const p of m[3].matchAll(/^ {4}"([^"]+)"\??: (.*?);?$/gm)) props.set(p[1], p[2]);
    const bases = (m[2] ?? "").split(",").map((s) => s.trim()).filter((s) => s && s !== "TypeMeta");
    interfaces.set(m[1], { props, bases });
  }
  for (const m of text.matchAll(/^export type \{ (\w+) as (\w+)/gm)) {
    if (interfaces.has(m[1])) interfaces.set(m[2], interfaces.get(m[1]));
  }
  const parsed = { imports, interfaces };
  files.set(path, parsed);
  return parsed;
}

// The declared fields of interface `name` seen from file `path`: [Map field -> [type, file]] or null.
function fields(name, path) {
  const file = parseFile(path);
  let where = path;
  let iface = file.interfaces.get(name);
  if (!iface && file.imports.has(name) && existsSync(file.imports.get(name))) {
    where = file.imports.get(name);
    iface = parseFile(where).interfaces.get(name);
  }
  if (!iface) return null;
  const out = new Map();
  for (const base of iface.bases) {
    const inherited = fields(base, where);
    if (!inherited) return null; // an unknown base: do not guess
    for (const [k, v] of inherited) out.set(k, v);
  }
  for (const [k, t] of iface.props) out.set(k, [t, where]);
  return out;
}

function walk(value, type, path, at, problems) {
  if (value === null || typeof value !== "object") return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, array[1], path, `${at}[${i}]`, problems));
    return;
  }
  if (!/^I\w+$/.test(type) || Array.isArray(value)) return; // maps, unions, inline types: not checked
  const known = fields(type, path);
  if (!known || known.size === 0) return;
  for (const [key, child] of Object.entries(value)) {
    if (!known.has(key)) problems.push(`${at}.${key} is not a field of ${type.replace(/^I(?:\w*V\d+(?:alpha\d+|beta\d+)?)?(?=[A-Z])/, "")}`);
    else walk(child, known.get(key)[0], known.get(key)[1], `${at}.${key}`, problems);
  }
}

// Unknown fields of `doc`, an object of the model whose declaration file is `declaration`.
export function unknownFields(doc, declaration, interfaceName) {
  const problems = [];
  walk(doc, interfaceName, join(MODULES, declaration), "", problems);
  return problems;
}
