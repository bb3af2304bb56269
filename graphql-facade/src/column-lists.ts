/**
 * `Series` columns executed as ONE leaf value each instead of a list walked item by item.
 *
 * graphql-jit completes a list of `Float` one item at a time: two closures, a promise check and a
 * serialize call per number. For a week of minute bars as `series` (6 columns x 10,080 numbers)
 * that measured 2.7 ms and 12.5 MB of garbage per request, enough to set off one young-generation
 * collection (~4.6 ms on the bench VM) per request. Executed as one scalar per column, the same
 * answer costs one pass over each typed array.
 *
 * So the facade compiles operations against an execution copy of its schema in which the listed
 * fields' types `[Float]` / `[Float!]` (either possibly non-null) become the scalars
 * `FloatColumn` / `NonNullFloatColumn`. The public schema (validation, introspection, `_service`,
 * subscriptions) keeps the list types; the JSON is byte for byte what the list types give, errors
 * included: a column holding an item that is not a Float runs on the public schema instead.
 */
import { GraphQLError, GraphQLScalarType, Kind, parse, type DocumentNode, type TypeNode } from 'graphql';
import { RUN_ON_PUBLIC_SCHEMA } from './jit-executor.js';

/** The list-of-Float fields the facade executes as columns. */
export const SERIES_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  Series: ['ts', 'open', 'high', 'low', 'close', 'volume'],
};

const NULLABLE_ITEMS = 'FloatColumn';
const NON_NULL_ITEMS = 'NonNullFloatColumn';

/**
 * One column as a plain array. An item a list of Float would not pass through unchanged (not a
 * finite number, or null where items are non-null) sends the operation back to the public schema,
 * whose list walk gives graphql-js's own per-item nulls and errors (jit-executor.ts).
 */
function serializeColumn(value: unknown, itemsNullable: boolean): (number | null)[] {
  if (typeof value !== 'object' || value === null || typeof (value as ArrayLike<unknown>).length !== 'number') {
    throw new GraphQLError(RUN_ON_PUBLIC_SCHEMA);
  }
  const items = value as ArrayLike<unknown>;
  // Grown by push, not `new Array(n)`: a packed array, which JSON.stringify walks faster than a holey one.
  const out: (number | null)[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'number' && Number.isFinite(item)) out.push(item);
    else if ((item === null || item === undefined) && itemsNullable) out.push(null);
    else throw new GraphQLError(RUN_ON_PUBLIC_SCHEMA);
  }
  return out;
}

export const columnScalars = {
  [NULLABLE_ITEMS]: new GraphQLScalarType({
    name: NULLABLE_ITEMS,
    description: 'Execution only: a [Float] answered as one value (column-lists.ts).',
    serialize: (value) => serializeColumn(value, true),
  }),
  [NON_NULL_ITEMS]: new GraphQLScalarType({
    name: NON_NULL_ITEMS,
    description: 'Execution only: a [Float!] answered as one value (column-lists.ts).',
    serialize: (value) => serializeColumn(value, false),
  }),
};

/** `[Float]` → FloatColumn, `[Float!]` → NonNullFloatColumn, keeping the outer `!`; anything else is a mistake in `fields`. */
function columnType(type: TypeNode, where: string): TypeNode {
  if (type.kind === Kind.NON_NULL_TYPE) return { ...type, type: columnType(type.type, where) as typeof type.type };
  const item = type.kind === Kind.LIST_TYPE ? type.type : undefined;
  const named = item?.kind === Kind.NON_NULL_TYPE ? item.type : item;
  if (named?.kind !== Kind.NAMED_TYPE || named.name.value !== 'Float') {
    throw new Error(`column-lists: ${where} is not a list of Float`);
  }
  const name = item!.kind === Kind.NON_NULL_TYPE ? NON_NULL_ITEMS : NULLABLE_ITEMS;
  return { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: name } };
}

/** The type definitions with `fields` (type name → field names) retyped as columns, and the two scalars declared. */
export function columnTypeDefs(typeDefs: DocumentNode, fields: Readonly<Record<string, readonly string[]>>): DocumentNode {
  const pending = new Set(Object.entries(fields).flatMap(([type, names]) => names.map((name) => `${type}.${name}`)));
  const definitions = typeDefs.definitions.map((definition) => {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) return definition;
    const owner = definition.name.value;
    const retyped = definition.fields?.map((field) => {
      const where = `${owner}.${field.name.value}`;
      return pending.delete(where) ? { ...field, type: columnType(field.type, where) } : field;
    });
    return { ...definition, fields: retyped };
  });
  if (pending.size > 0) throw new Error(`column-lists: no such field ${[...pending].join(', ')}`);
  const scalars = parse(`scalar ${NULLABLE_ITEMS}\nscalar ${NON_NULL_ITEMS}`);
  return { ...typeDefs, definitions: [...definitions, ...scalars.definitions] };
}
