// JSON field paths as `--key` / `--value` take them: `m.v` is field v of object m, and a name that itself
// holds a dot is written in backticks, `` `a.b` `` (as in Spark's column references; `` `` `` inside is one
// backtick). The decoder gets the steps joined by 0xFF, a byte no UTF-8 name can hold.

/** The separator of path steps in the bytes json_decode reads (DJ_KEY_PATH, DJ_VAL_PATH). */
export const PATH_STEP_SEPARATOR = 0xff;

const BACKTICK = '`';

/**
 * The steps of a field path, or a message saying what is wrong with it. A step that starts with a
 * backtick runs to the matching closing backtick; any other step runs to the next dot, backticks
 * included.
 *
 * @example
 * parseFieldPath('m.v');         // { steps: ['m', 'v'] }
 * parseFieldPath('`a.b`.c');     // { steps: ['a.b', 'c'] }
 * parseFieldPath('`a');          // { error: 'the backtick at character 1 is not closed' }
 */
export function parseFieldPath(path: string): { steps: string[] } | { error: string } {
  const steps: string[] = [];
  let i = 0;
  for (;;) {
    if (path[i] === BACKTICK) {
      const open = i;
      let step = '';
      i++;
      for (;;) {
        const close = path.indexOf(BACKTICK, i);
        if (close < 0) return { error: `the backtick at character ${open + 1} is not closed` };
        step += path.slice(i, close);
        if (path[close + 1] === BACKTICK) {
          step += BACKTICK;
          i = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      if (i < path.length && path[i] !== '.') {
        return { error: `a backtick-quoted name must be followed by '.' or the end, not '${path[i]}' (character ${i + 1})` };
      }
      steps.push(step);
    } else {
      const dot = path.indexOf('.', i);
      const end = dot < 0 ? path.length : dot;
      steps.push(path.slice(i, end));
      i = end;
    }
    if (i >= path.length) return { steps };
    i++; // the dot
  }
}

/** The steps of a path known to be valid (checked where the option entered). */
export function fieldPathSteps(path: string): string[] {
  const p = parseFieldPath(path);
  if ('error' in p) throw new RangeError(`field path ${JSON.stringify(path)}: ${p.error}`);
  return p.steps;
}

/** The bytes json_decode matches: each step's UTF-8, separated by PATH_STEP_SEPARATOR. */
export function encodeFieldPath(path: string): Uint8Array {
  const enc = new TextEncoder();
  const parts = fieldPathSteps(path).map((s) => enc.encode(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0) + parts.length - 1);
  let at = 0;
  parts.forEach((p, k) => {
    if (k > 0) out[at++] = PATH_STEP_SEPARATOR;
    out.set(p, at);
    at += p.length;
  });
  return out;
}
