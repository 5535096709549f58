// The plain Node baseline of suite 2: readline + a Map, what a user writes without an engine.
// Usage: node readline-map.js <input.csv> <output.csv>

import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [input, output] = process.argv.slice(2) as [string, string];
const sums = new Map<string, number>();
for await (const line of createInterface({ input: createReadStream(input), crlfDelay: Infinity })) {
  const comma = line.indexOf(',');
  const key = line.slice(0, comma);
  sums.set(key, (sums.get(key) ?? 0) + Number(line.slice(comma + 1)));
}
let out = '';
for (const [k, s] of sums) out += `${k},${s}\n`;
writeFileSync(output, out);
