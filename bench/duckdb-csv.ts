// DuckDB's side of suite 2, as its own process: read_csv ... GROUP BY, result written as CSV.
// Usage: node duckdb-csv.js <input.csv> <output.csv>

import { DuckDBInstance } from '@duckdb/node-api';

const [input, output] = process.argv.slice(2) as [string, string];
const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
await conn.run(
  `COPY (SELECT k, sum(v) AS s FROM read_csv(${quote(input)}, header = false, columns = {'k': 'VARCHAR', 'v': 'DOUBLE'}) GROUP BY k) ` +
    `TO ${quote(output)} (FORMAT csv, HEADER false)`,
);
conn.closeSync();
db.closeSync();
