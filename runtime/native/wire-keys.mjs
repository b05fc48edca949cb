// Writes the C view of the launcher's wire table (runtime/launcher-wire.json) to stdout: for each
// message an enum of its keys and a table of their names and rules, which spec.c parses with; or,
// with `output`, the output connection's frame constants, which supervise.c writes with.
// The native Makefile runs it: `node wire-keys.mjs ../launcher-wire.json [output] > build/wire-….h`.
import { readFileSync } from 'node:fs';

const [, , tablePath, part] = process.argv;
if (!tablePath) {
  process.stderr.write('usage: node wire-keys.mjs runtime/launcher-wire.json\n');
  process.exit(2);
}
const table = JSON.parse(readFileSync(tablePath, 'utf8'));
const TYPES = { path: 'WIRE_STRING', string: 'WIRE_STRING', u64: 'WIRE_U64', file: 'WIRE_FILE' };

function message(name) {
  const fields = table[name];
  if (!Array.isArray(fields) || fields.length === 0) throw new Error(`${tablePath}: no "${name}" message`);
  const prefix = name.toUpperCase();
  const lines = [`/* The ${name} message's keys, in the order the worker sends them (a switch over them needs no default). */`, `enum ${name}_key {`];
  for (const f of fields) {
    if (!/^[a-z][a-z0-9_]*$/.test(f.key)) throw new Error(`${tablePath}: ${name} key ${JSON.stringify(f.key)} is not a C identifier`);
    if (!(f.type in TYPES)) throw new Error(`${tablePath}: ${name}.${f.key} has an unknown type ${JSON.stringify(f.type)}`);
    lines.push(`\t${prefix}_${f.key},`);
  }
  lines.push('};', `#define ${prefix}_KEY_COUNT ${fields.length}`, '', `static const struct wire_key ${name}_keys[${prefix}_KEY_COUNT] = {`);
  for (const f of fields) {
    const unit = f.unit ? ` (${f.unit})` : '';
    lines.push(`\t/* ${f.doc}${unit} */`);
    lines.push(`\t[${prefix}_${f.key}] = { .name = "${f.key}", .type = ${TYPES[f.type]}, .repeated = ${f.repeated === true}, .optional = ${f.optional === true} },`);
  }
  lines.push('};', '');
  return lines.join('\n');
}

/** The output frames' constants (launcher-wire.json "output"). */
function output() {
  const o = table.output;
  for (const k of ['header_bytes', 'max_payload_bytes', 'stdout', 'stderr']) {
    if (!Number.isInteger(o?.[k])) throw new Error(`${tablePath}: output.${k} is not an integer`);
  }
  if (o.header_bytes !== 5) throw new Error(`${tablePath}: output.header_bytes must be 5 (a channel byte and a u32 length)`);
  return [
    '/* Generated from runtime/launcher-wire.json by runtime/native/wire-keys.mjs: edit the table, not this. */',
    '#pragma once',
    '',
    '/* The output connection\'s frames: a channel byte, the payload length (u32 big-endian), the payload. */',
    `#define OUTPUT_FRAME_HEADER_BYTES ${o.header_bytes}`,
    `#define OUTPUT_FRAME_MAX_PAYLOAD ${o.max_payload_bytes}`,
    `#define OUTPUT_CHANNEL_STDOUT ${o.stdout}`,
    `#define OUTPUT_CHANNEL_STDERR ${o.stderr}`,
    '',
  ].join('\n');
}

if (part === 'output') {
  process.stdout.write(output());
  process.exit(0);
}

process.stdout.write(
  [
    '/* Generated from runtime/launcher-wire.json by runtime/native/wire-keys.mjs: edit the table, not this. */',
    '#pragma once',
    '#include <stdbool.h>',
    '',
    'enum wire_type { WIRE_STRING, WIRE_U64, WIRE_FILE };',
    '',
    'struct wire_key {',
    '\tconst char *name;',
    '\tenum wire_type type;',
    '\tbool repeated; /* may come more than once */',
    '\tbool optional; /* may be absent; otherwise it must come (at least once) */',
    '};',
    '',
    message('setup'),
    message('run'),
  ].join('\n'),
);
