// A yes/no check of a value against a zod schema for hot paths: zod's parse
// builds a copy of every object it accepts, which costs more than the work
// around it when it runs on every forwarded answer (measured: ~55 µs per
// /parse/sql answer in the control plane, against ~5 µs for this check).
// It understands the part of zod that JSON answers are described with: objects
// (strict or stripping), arrays, strings, finite numbers with int and bounds,
// booleans, null, literals, enums, unions and discriminated unions, optional
// and lazy (recursive) schemas. Anything else (refinements, transforms, string
// or array length checks…) makes the whole check fall back to zod's own
// safeParse, so it never accepts what zod would refuse; a unit test compares
// the two on valid and mutated values.
import type { ZodType } from 'zod';

/** undefined when the value fits; else where and why it does not. */
export type SchemaCheck = (value: unknown) => string | undefined;

/** Why a value does not fit: the path is built only on the way out of a failure, never for values that fit. */
class Miss {
  readonly path: Array<string | number> = [];
  constructor(readonly message: string) {}
  under(key: string | number): Miss {
    this.path.unshift(key);
    return this;
  }
}

type Node = (v: unknown) => Miss | undefined;

class Unsupported extends Error {}

interface Def {
  type: string;
  checks?: Array<{ _zod: { def: { check: string; format?: string; value?: number; inclusive?: boolean } } }>;
  shape?: Record<string, ZodType>;
  catchall?: ZodType;
  element?: ZodType;
  options?: ZodType[];
  discriminator?: string;
  innerType?: ZodType;
  getter?: () => ZodType;
  values?: unknown[];
  entries?: Record<string, unknown>;
}

const defOf = (s: ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function compile(schema: ZodType): Node {
  const def = defOf(schema);
  const checks = def.checks ?? [];
  if (checks.length > 0 && def.type !== 'number') throw new Unsupported(`${def.type} with checks`);
  switch (def.type) {
    case 'string':
      return (v) => (typeof v === 'string' ? undefined : new Miss('expected a string'));
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? undefined : new Miss('expected a boolean'));
    case 'null':
      return (v) => (v === null ? undefined : new Miss('expected null'));
    case 'number': {
      const tests: Array<(n: number) => boolean> = [];
      for (const c of checks) {
        const d = c._zod.def;
        if (d.check === 'number_format' && d.format === 'safeint') tests.push((n) => Number.isSafeInteger(n));
        else if (d.check === 'greater_than' && typeof d.value === 'number') {
          const min = d.value;
          tests.push(d.inclusive ? (n) => n >= min : (n) => n > min);
        } else if (d.check === 'less_than' && typeof d.value === 'number') {
          const max = d.value;
          tests.push(d.inclusive ? (n) => n <= max : (n) => n < max);
        } else throw new Unsupported(`number check ${d.check}`);
      }
      return (v) => (typeof v === 'number' && Number.isFinite(v) && tests.every((t) => t(v)) ? undefined : new Miss('not a number in its range'));
    }
    case 'literal': {
      const values = def.values ?? [];
      return (v) => (values.includes(v) ? undefined : new Miss(`expected ${values.map((x) => JSON.stringify(x)).join(' or ')}`));
    }
    case 'enum': {
      const values = Object.values(def.entries ?? {});
      return (v) => (values.includes(v) ? undefined : new Miss('not one of the allowed values'));
    }
    case 'optional': {
      const inner = compile(def.innerType!);
      return (v) => (v === undefined ? undefined : inner(v));
    }
    case 'lazy': {
      // Compiled on first use: recursive schemas refer to themselves through lazy.
      let inner: Node | undefined;
      const getter = def.getter!;
      return (v) => (inner ??= compile(getter()))(v);
    }
    case 'array': {
      const element = compile(def.element!);
      return (v) => {
        if (!Array.isArray(v)) return new Miss('expected an array');
        for (let i = 0; i < v.length; i++) {
          const bad = element(v[i]);
          if (bad) return bad.under(i);
        }
        return undefined;
      };
    }
    case 'object': {
      const catchall = def.catchall ? defOf(def.catchall).type : undefined;
      if (catchall !== undefined && catchall !== 'never') throw new Unsupported(`object with a ${catchall} catchall`);
      const strict = catchall === 'never';
      const fields = Object.entries(def.shape ?? {}).map(([key, s]) => [key, compile(s)] as const);
      const known = new Set(fields.map(([key]) => key));
      return (v) => {
        if (!isObject(v)) return new Miss('expected an object');
        for (const [key, check] of fields) {
          const bad = check(v[key]);
          if (bad) return bad.under(key);
        }
        // for…in rather than Object.keys: no array per object (JSON objects have no inherited enumerable keys).
        if (strict) for (const key in v) if (!known.has(key)) return new Miss('not a field of this object').under(key);
        return undefined;
      };
    }
    case 'union': {
      const options = (def.options ?? []).map(compile);
      if (def.discriminator !== undefined) {
        const key = def.discriminator;
        const byTag = new Map<unknown, Node>();
        (def.options ?? []).forEach((o, i) => {
          const tag = defOf(o).shape?.[key];
          if (!tag || defOf(tag).type !== 'literal') throw new Unsupported('discriminator that is not a literal');
          for (const value of defOf(tag).values ?? []) byTag.set(value, options[i]!);
        });
        return (v) => {
          if (!isObject(v)) return new Miss('expected an object');
          const option = byTag.get(v[key]);
          return option ? option(v) : new Miss(`unknown ${key} ${JSON.stringify(v[key])}`).under(key);
        };
      }
      return (v) => {
        let first: Miss | undefined;
        for (const option of options) {
          const bad = option(v);
          if (!bad) return undefined;
          first ??= bad;
        }
        return first ?? new Miss('no option fits');
      };
    }
    default:
      throw new Unsupported(def.type);
  }
}

function viaZod(schema: ZodType): SchemaCheck {
  return (value) => {
    const r = schema.safeParse(value);
    if (r.success) return undefined;
    const issue = r.error.issues[0];
    return `${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
  };
}

/** A check of `schema`: this module's own where it understands the schema, zod's otherwise. */
export function compileCheck(schema: ZodType): SchemaCheck {
  let node: Node;
  try {
    node = compile(schema);
  } catch (err) {
    if (err instanceof Unsupported) return viaZod(schema);
    throw err;
  }
  let fallback: SchemaCheck | undefined;
  return (value) => {
    if (fallback) return fallback(value);
    try {
      const miss = node(value);
      return miss && `${miss.path.join('.') || '(root)'}: ${miss.message}`;
    } catch (err) {
      // A lazy part compiled only now turned out to use something this module does not know.
      if (!(err instanceof Unsupported)) throw err;
      fallback = viaZod(schema);
      return fallback(value);
    }
  };
}
