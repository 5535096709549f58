// The fingerprint of a streaming job's plan: its sources and their options, and every stage's verb and input.
//
// A checkpoint restores state into the operators of the plan that wrote it, matched by stage index, so
// the plan must have the same shape: the same sources (kind, file, format, seed ...), the same verbs in
// the same places, the same built-in aggregations, TTLs and emit modes. User functions are opaque: a
// map whose code changed is not noticed. Sinks are not part of it: changing where results go keeps the state.

import type { Fingerprint, FingerprintValue } from '../state/fingerprint.js';
import type { PhysicalPlan, Stage } from './physical.js';

function describeStage(plan: PhysicalPlan, stage: Stage): string {
  const input = (s: Stage): string => `of stage ${plan.stages.indexOf(s)}`;
  switch (stage.kind) {
    case 'source':
      return `source ${stage.index}`;
    case 'narrow':
      return `${stage.ops.map((o) => o.op).join(' > ')} ${input(stage.input)}`;
    case 'pairs':
      return `pairs(${JSON.stringify(stage.node.keyField)}${stage.node.valueField === undefined ? '' : `, ${JSON.stringify(stage.node.valueField)}`}) ${input(stage.input)}`;
    case 'keyed': {
      const node = stage.node;
      const options = node.kind === 'updateStateByKey' ? [`emit ${node.emit}`, ...(node.ttl !== undefined ? [`ttl ${node.ttl}`] : [])] : [];
      return `${node.verb}${options.length ? ` [${options.join(', ')}]` : ''} ${input(stage.input)}`;
    }
  }
}

/** `{ job, 'source 0': 'fileStream(/abs/visits.csv, csv, header)', 'stage 1': "pairs(\"page\") of stage 0", ... }` */
export function planFingerprint(plan: PhysicalPlan): Fingerprint {
  const fp: Record<string, FingerprintValue> = { job: 'StreamingContext' };
  plan.sources.forEach((s, i) => (fp[`source ${i}`] = s.describe?.() ?? s.name));
  plan.stages.forEach((stage, i) => (fp[`stage ${i}`] = describeStage(plan, stage)));
  return fp;
}
