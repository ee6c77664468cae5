// Prints a proto2 FileDescriptorProto back as .proto source: enough for buf to
// compile files that import it (types, fields, oneofs, extensions). Options are
// dropped on purpose: the runtime never reads this copy, it imports the
// published generated code instead (see buf.gen.yaml, rewrite_imports).
const SCALAR = {
  1: "double",
  2: "float",
  3: "int64",
  4: "uint64",
  5: "int32",
  6: "fixed64",
  7: "fixed32",
  8: "bool",
  9: "string",
  12: "bytes",
  13: "uint32",
  15: "sfixed32",
  16: "sfixed64",
  17: "sint32",
  18: "sint64",
};
const LABEL = { 1: "optional", 2: "required", 3: "repeated" };
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const TYPE_STRING = 9;
const FIELD_NUMBER_MAX = 536870911;

function typeOf(field) {
  if (field.type === TYPE_MESSAGE || field.type === TYPE_ENUM) return field.typeName;
  const scalar = SCALAR[field.type];
  if (scalar === undefined) throw new Error(`unsupported field type ${field.type} on ${field.name}`);
  return scalar;
}

function fieldLine(field, withLabel) {
  const label = withLabel ? `${LABEL[field.label]} ` : "";
  let options = "";
  if (Object.hasOwn(field, "defaultValue")) {
    const value = field.type === TYPE_STRING ? JSON.stringify(field.defaultValue) : field.defaultValue;
    options = ` [default = ${value}]`;
  }
  return `${label}${typeOf(field)} ${field.name} = ${field.number}${options};`;
}

function rangeText(range) {
  const endInclusive = range.end - 1;
  if (endInclusive === range.start) return `${range.start}`;
  return `${range.start} to ${endInclusive >= FIELD_NUMBER_MAX ? "max" : endInclusive}`;
}

function printEnum(e, indent, out) {
  out.push(`${indent}enum ${e.name} {`);
  for (const v of e.value) out.push(`${indent}  ${v.name} = ${v.number};`);
  out.push(`${indent}}`);
}

function printExtensions(extensions, indent, out) {
  const byExtendee = new Map();
  for (const x of extensions) byExtendee.set(x.extendee, [...(byExtendee.get(x.extendee) ?? []), x]);
  for (const [extendee, fields] of byExtendee) {
    out.push(`${indent}extend ${extendee} {`);
    for (const f of fields) out.push(`${indent}  ${fieldLine(f, true)}`);
    out.push(`${indent}}`);
  }
}

function printMessage(m, indent, out) {
  out.push(`${indent}message ${m.name} {`);
  const inner = `${indent}  `;
  for (const nested of m.nestedType) printMessage(nested, inner, out);
  for (const e of m.enumType) printEnum(e, inner, out);
  for (const f of m.field) {
    if (!Object.hasOwn(f, "oneofIndex")) out.push(`${inner}${fieldLine(f, true)}`);
  }
  m.oneofDecl.forEach((oneof, index) => {
    out.push(`${inner}oneof ${oneof.name} {`);
    for (const f of m.field.filter((x) => Object.hasOwn(x, "oneofIndex") && x.oneofIndex === index)) {
      out.push(`${inner}  ${fieldLine(f, false)}`);
    }
    out.push(`${inner}}`);
  });
  for (const r of m.extensionRange) out.push(`${inner}extensions ${rangeText(r)};`);
  for (const r of m.reservedRange) out.push(`${inner}reserved ${rangeText(r)};`);
  if (m.reservedName.length > 0) {
    out.push(`${inner}reserved ${m.reservedName.map((n) => JSON.stringify(n)).join(", ")};`);
  }
  printExtensions(m.extension, inner, out);
  out.push(`${indent}}`);
}

export function descriptorToProto(file) {
  if (file.syntax !== "" && file.syntax !== "proto2") {
    throw new Error(`${file.name}: only proto2 files are supported, got ${file.syntax}`);
  }
  const out = [
    `// Derived at build time from the descriptor of ${file.name}; do not edit.`,
    `syntax = "proto2";`,
    `package ${file.package};`,
  ];
  for (const dep of file.dependency) out.push(`import "${dep}";`);
  for (const m of file.messageType) printMessage(m, "", out);
  for (const e of file.enumType) printEnum(e, "", out);
  printExtensions(file.extension, "", out);
  return `${out.join("\n")}\n`;
}
