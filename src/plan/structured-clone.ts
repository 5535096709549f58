// Whether node:v8's serializer gives a JS value back as it is: checked before a function state is checkpointed.
//
// v8.serialize runs the structured clone algorithm (HTML spec, "StructuredSerializeInternal"): it throws on
// a function or a symbol, but a class instance goes through as a plain object of its own fields, so a
// state restored from a checkpoint would have lost its class and methods, and the job would fail (or
// compute something else) only after a restart. So such values are refused when the state is saved.

/** Prototypes of the objects v8.serialize restores with their type. */
const CLONED_AS_THEY_ARE = new Set<unknown>([
  Object.prototype, null, Array.prototype, Map.prototype, Set.prototype, Date.prototype, RegExp.prototype,
  ArrayBuffer.prototype, Number.prototype, String.prototype, Boolean.prototype, BigInt.prototype,
]);

const propertyPath = (name: string): string => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`);

/**
 * What in `value` node:v8 would not give back as it is — `a function`, `a symbol`, `an instance of
 * class X` — and where (`.a.b[2]`, '' for the value itself); undefined when every part of it would.
 */
export function notClonable(value: unknown): { what: string; at: string } | undefined {
  const seen = new Set<object>();
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'function') return { what: 'a function', at };
    if (typeof v === 'symbol') return { what: 'a symbol', at };
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) continue; // typed arrays, DataView and Buffer come back as their own type
    const proto: unknown = Object.getPrototypeOf(v);
    if (!CLONED_AS_THEY_ARE.has(proto)) {
      const name = (proto as { constructor?: { name?: unknown } } | undefined)?.constructor?.name;
      return { what: `an instance of class ${typeof name === 'string' && name !== '' ? name : '(anonymous)'}`, at };
    }
    if (v instanceof Map) {
      let i = 0;
      for (const [k, x] of v) {
        stack.push([x, `${at}[value of map entry ${i}]`], [k, `${at}[key of map entry ${i}]`]);
        i++;
      }
    } else if (v instanceof Set) {
      let i = 0;
      for (const x of v) stack.push([x, `${at}[set entry ${i++}]`]);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}[${i}]`]);
    } else {
      const names = Object.keys(v);
      for (let i = names.length - 1; i >= 0; i--) stack.push([(v as Record<string, unknown>)[names[i]!], `${at}${propertyPath(names[i]!)}`]);
    }
  }
  return undefined;
}
