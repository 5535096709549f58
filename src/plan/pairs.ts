// The columnar pairs stage: (key field, value field) of each record straight into pair columns.
//
// On a column table (the generator's batches, decoded files) this takes the key column's UTF-8
// bytes and offsets and the value column's Float64Array as they are: no copy, no JS object or
// string per record. On rows it reads the two fields of each record into the same columns.

import { SluiceError } from '../errors.js';
import { Batch } from './batch.js';
import { PairColumnsBuilder, type PairColumns } from './columns.js';
import type { PairsNode } from './logical.js';

function verbText(node: PairsNode): string {
  return node.valueField === undefined ? `pairs('${node.keyField}')` : `pairs('${node.keyField}', '${node.valueField}')`;
}

function usage(node: PairsNode, what: string): SluiceError {
  return new SluiceError('ERR_USAGE', `${verbText(node)}: ${what}`);
}

export function runPairs(node: PairsNode, input: Batch<unknown>): Batch<[string, number]> {
  const n = input.length;
  if (input.table) {
    const cols = input.table.columns;
    const key = cols[node.keyField];
    if (!key) throw usage(node, `the stream has no field '${node.keyField}' (it has ${Object.keys(cols).join(', ')})`);
    let values: Float64Array;
    if (node.valueField === undefined) {
      values = new Float64Array(n).fill(1);
    } else {
      const v = cols[node.valueField];
      if (!v) throw usage(node, `the stream has no field '${node.valueField}' (it has ${Object.keys(cols).join(', ')})`);
      if (v.kind !== 'f64') throw usage(node, `field '${node.valueField}' holds strings, not numbers`);
      values = v.values;
    }
    if (key.kind === 'utf8') {
      const pairs: PairColumns = { length: n, keyOffsets: key.offsets, keyBytes: key.bytes, values };
      return Batch.ofPairs(pairs);
    }
    const b = new PairColumnsBuilder(n);
    for (let i = 0; i < n; i++) b.addText(String(key.values[i]), values[i]!);
    return Batch.ofPairs(b.finish());
  }
  const rows = input.rows() as Array<Record<string, unknown>>;
  const b = new PairColumnsBuilder(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const k = r[node.keyField];
    const keyText = typeof k === 'string' ? k : typeof k === 'number' ? String(k) : undefined;
    if (keyText === undefined) throw usage(node, `field '${node.keyField}' must be a string or a number, got ${typeof k}`);
    let value = 1;
    if (node.valueField !== undefined) {
      const v = r[node.valueField];
      if (typeof v !== 'number') throw usage(node, `field '${node.valueField}' must be a number, got ${typeof v}`);
      value = v;
    }
    b.addText(keyText, value);
  }
  return Batch.ofPairs(b.finish());
}
