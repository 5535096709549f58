// `sluice checkpoint inspect <dir>`: what a checkpoint directory holds, each checkpoint verified, for people or (--json) scripts.

import {
  inspectCheckpoints, type CheckpointDirReport, type CheckpointReport, type RestartPlan, type SourceOffset, type SourceRange,
} from '../state/checkpoint-store.js';

/** Exit codes: 0 a restart would restore a checkpoint; 1 it would not (none at all, all damaged, refused, or no such directory). */
const EXIT_RESTORABLE = 0;
const EXIT_NOTHING = 1;

export async function runCheckpointInspect(dir: string, options: { json: boolean }): Promise<number> {
  let report: CheckpointDirReport;
  try {
    report = await inspectCheckpoints(dir);
  } catch (err) {
    process.stderr.write(`sluice: ${(err as Error).message}\n`);
    return EXIT_NOTHING;
  }
  process.stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report.restart.action === 'restore' ? EXIT_RESTORABLE : EXIT_NOTHING;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

function offsetText(o: SourceOffset): string {
  switch (o.kind) {
    case 'file':
      return `file ${o.path} at byte ${o.byte}, line ${o.line}`;
    case 'kafka':
      return `kafka topic ${o.topic}: ${Object.entries(o.partitions).map(([p, off]) => `partition ${p} at offset ${off}`).join(', ') || 'no partitions'}`;
    case 'generator':
      return `generator after ${o.produced} visits`;
    default:
      return JSON.stringify(o);
  }
}

function rangeText(r: SourceRange): string {
  switch (r.kind) {
    case 'file':
      return `bytes ${r.from.byte}..${r.to} from line ${r.from.line}, at most ${r.maxRecords} records${r.final ? ', to the end of the input' : ''}`;
    case 'kafka':
      return Object.entries(r.partitions).map(([p, x]) => `partition ${p} offsets ${x.from}..${x.to}`).join(', ');
    case 'generator':
      return `visits ${r.from}..${r.to}`;
    default:
      return JSON.stringify(r);
  }
}

function checkpointText(c: CheckpointReport): string {
  if (!c.valid) return `batch ${c.batch}  DAMAGED  ${c.path}\n  problem   ${c.problem}\n`;
  let out = `batch ${c.batch}  valid  ${c.path}\n`;
  out += `  written   ${c.writtenAt}; batch time ${new Date(c.time!).toISOString()}\n`;
  for (const [id, o] of Object.entries(c.offsets ?? {})) out += `  offset    ${id}: ${offsetText(o)}\n`;
  for (const s of c.states ?? []) {
    const files = (c.files ?? []).filter((f) => f.state === s.id);
    out += `  state     ${s.id}: ${files.length ? `${files.length} shards, ${s.keys} key${s.keys === 1 ? '' : 's'}` : s.kind}, ${size(s.bytes)}\n`;
    for (const f of files) {
      if (f.keys === 0) continue;
      out += `            shard ${String(f.shard).padStart(3)}: ${`${f.keys} ${f.keys === 1 ? 'key' : 'keys'},`.padEnd(15)} ${size(f.keyBytes)} of keys, file ${size(f.fileBytes)}\n`;
    }
    const empty = files.filter((f) => f.keys === 0).length;
    if (empty > 0) out += `            ${empty === files.length ? 'every shard' : `${empty} other shard${empty === 1 ? '' : 's'}`} empty\n`;
  }
  const extra = Object.entries(c.extra ?? {});
  if (extra.length) out += `  counters  ${extra.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}\n`;
  out += `  job       ${Object.entries(c.fingerprint ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}\n`;
  return out;
}

export function formatReport(r: CheckpointDirReport): string {
  let out = r.checkpoints.length === 0 ? `no checkpoints in ${r.dir}\n` : `checkpoints in ${r.dir}, newest first:\n`;
  for (const c of r.checkpoints) out += checkpointText(c);
  if (r.intents.length > 0) {
    out += 'batch intents (the input each batch takes, recorded before it runs):\n';
    for (const i of r.intents) {
      if (i.problem) out += `  batch ${i.batch}: DAMAGED (${i.problem})\n`;
      else for (const [id, range] of Object.entries(i.ranges ?? {})) out += `  batch ${i.batch}: ${id} ${rangeText(range)}\n`;
    }
  }
  return out + restartText(r.restart);
}

function restartText(plan: RestartPlan): string {
  if (plan.action === 'refuse') return `a restart refuses to run: ${plan.reason}\n`;
  const ids = plan.replay;
  const replay = ids.length === 0 ? '' : `, then replays batch${ids.length === 1 ? ` ${ids[0]}` : `es ${ids[0]}..${ids.at(-1)}`} as cut before the stop`;
  return plan.action === 'restore'
    ? `a restart restores batch ${plan.batch}${replay}\n`
    : `no usable checkpoint: a restart starts from the beginning${replay}\n`;
}
