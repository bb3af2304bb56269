/**
 * DoAction / ListActions: JSON bodies in, JSON results out. Each body is parsed strictly, so an
 * unknown field is INVALID_ARGUMENT naming it.
 */
import { z } from 'zod';
import type { DatasetStore } from '../storage/dataset-store.js';
import { checkPartitionScheme } from '../storage/dataset-spec.js';
import { StorageError } from '../storage/errors.js';
import { fieldSpecSchema } from '../storage/manifest.js';
import { describeZodError, parseJsonText } from './query-json.js';
import { parseTimeValue } from './time-value.js';

export interface ActionContext {
  store: DatasetStore;
  startedAt: number;
  serverVersion: string;
}

interface ActionHandler<S extends z.ZodType> {
  description: string;
  body: S;
  run(ctx: ActionContext, body: z.infer<S>): Promise<unknown>;
}

function action<S extends z.ZodType>(handler: ActionHandler<S>): ActionHandler<S> {
  return handler;
}

const datasetName = z.string();

export const ACTIONS = {
  create_dataset: action({
    description: 'Create a dataset: {"name","time_column","key_columns":[...],"partition":"day","fields"?:[{"name","type","nullable"}]}',
    body: z.strictObject({
      name: datasetName,
      time_column: z.string().min(1),
      key_columns: z.array(z.string().min(1)).default([]),
      partition: z.string().default('day'),
      fields: z.array(fieldSpecSchema).min(1).optional(),
    }),
    run: (ctx, b) =>
      ctx.store.createDataset({
        name: b.name,
        timeColumn: b.time_column,
        keyColumns: b.key_columns,
        partition: checkPartitionScheme(b.partition),
        fields: b.fields ?? null,
      }),
  }),
  describe_dataset: action({
    description: 'Describe a dataset: {"name"} -> schema, version, rows, bytes, partitions',
    body: z.strictObject({ name: datasetName }),
    run: (ctx, b) => ctx.store.describe(b.name),
  }),
  delete_range: action({
    description: 'Delete rows: {"dataset","symbols"?,"start"?,"end"?} -> {"rows_deleted","version"}',
    body: z.strictObject({
      dataset: datasetName,
      symbols: z.array(z.string()).optional(),
      start: z.union([z.string(), z.number()]).optional(),
      end: z.union([z.string(), z.number()]).optional(),
    }),
    run: (ctx, b) =>
      ctx.store.deleteRange(
        b.dataset,
        b.symbols ?? null,
        b.start === undefined ? null : parseTimeValue('start', b.start),
        b.end === undefined ? null : parseTimeValue('end', b.end),
      ),
  }),
  compact: action({
    description: 'Merge small files: {"dataset","partition"?} -> {"files_before","files_after","version"}',
    body: z.strictObject({ dataset: datasetName, partition: z.string().optional() }),
    run: (ctx, b) => ctx.store.compact(b.dataset, b.partition ?? null),
  }),
  evolve_schema: action({
    description: 'Add nullable columns: {"dataset","add":[{"name","type","nullable":true}]} -> the dataset description',
    body: z.strictObject({ dataset: datasetName, add: z.array(fieldSpecSchema).min(1) }),
    run: (ctx, b) => ctx.store.evolveSchema(b.dataset, b.add),
  }),
  vacuum: action({
    description: 'Remove files no retained version names: {"dataset","retain_versions"} -> {"files_removed","bytes_freed","oldest_version"} (admin)',
    body: z.strictObject({ dataset: datasetName, retain_versions: z.number().int().min(1) }),
    run: (ctx, b) => ctx.store.vacuum(b.dataset, b.retain_versions),
  }),
  drop_dataset: action({
    description: 'Drop a dataset and its files: {"name"} -> {"dropped":true} (admin)',
    body: z.strictObject({ name: datasetName }),
    run: (ctx, b) => ctx.store.drop(b.name),
  }),
  health: action({
    description: 'Liveness: {} -> {"status":"ok",...}',
    body: z.strictObject({}),
    run: async (ctx) => ({
      status: 'ok',
      version: ctx.serverVersion,
      uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
      datasets: ctx.store.listDatasets().length,
      cache: ctx.store.cacheStats(),
      io: ctx.store.ioStats(),
    }),
  }),
} as const;

export type ActionType = keyof typeof ACTIONS;

export function listActionTypes(): { type: string; description: string }[] {
  return Object.entries(ACTIONS).map(([type, a]) => ({ type, description: a.description }));
}

/** Runs one action; its result is the UTF-8 JSON of the handler's value. */
export async function runAction(ctx: ActionContext, type: string, body: Uint8Array): Promise<{ result: Buffer; dataset?: string }> {
  if (!Object.hasOwn(ACTIONS, type)) {
    throw new StorageError('INVALID_ARGUMENT', `unknown action type "${type}"; ListActions names the supported ones`);
  }
  const handler = ACTIONS[type as ActionType] as ActionHandler<z.ZodType>;
  const raw = body.byteLength === 0 ? {} : parseJsonText(body, `${type} body`);
  const parsed = handler.body.safeParse(raw);
  if (!parsed.success) throw new StorageError('INVALID_ARGUMENT', describeZodError(parsed.error, `${type} body`));
  const value = await handler.run(ctx, parsed.data);
  const dataset = (parsed.data as { name?: unknown; dataset?: unknown }).name ?? (parsed.data as { dataset?: unknown }).dataset;
  return { result: Buffer.from(JSON.stringify(value), 'utf8'), ...(typeof dataset === 'string' ? { dataset } : {}) };
}
