/**
 * DoAction / ListActions: JSON bodies in, JSON results out. Each body is parsed strictly, so an
 * unknown field is INVALID_ARGUMENT naming it.
 */
import { ACTION_BODIES, invalidArgument, parseJsonText, parseTimeValue, parseWith, type ActionBody, type ActionName } from '@flightdeck/contract';
import type { DatasetStore } from '../../storage/dataset-store.js';
import { checkPartitionScheme } from '../../storage/dataset-spec.js';

export interface ActionContext {
  store: DatasetStore;
  startedAt: number;
  serverVersion: string;
}

interface ActionHandler<A extends ActionName> {
  description: string;
  run(ctx: ActionContext, body: ActionBody<A>): Promise<unknown>;
}

/** What each action of the contract does; its body's schema lives in the contract. */
export const ACTIONS: { [A in ActionName]: ActionHandler<A> } = {
  create_dataset: {
    description: 'Create a dataset: {"name","time_column","key_columns":[...],"partition":"day","fields"?:[{"name","type","nullable"}],"retention"?:"400d"}',
    run: (ctx, b) =>
      ctx.store.createDataset({
        name: b.name,
        timeColumn: b.time_column,
        keyColumns: b.key_columns,
        partition: checkPartitionScheme(b.partition),
        fields: b.fields ?? null,
        retention: b.retention ?? null,
      }),
  },
  describe_dataset: {
    description: 'Describe a dataset: {"name"} -> schema, version, rows, bytes, partitions',
    run: (ctx, b) => ctx.store.describe(b.name),
  },
  delete_range: {
    description: 'Delete rows: {"dataset","symbols"?,"start"?,"end"?} -> {"rows_deleted","version"}',
    run: (ctx, b) =>
      ctx.store.deleteRange(
        b.dataset,
        b.symbols ?? null,
        b.start === undefined ? null : parseTimeValue('start', b.start),
        b.end === undefined ? null : parseTimeValue('end', b.end),
      ),
  },
  compact: {
    description: 'Merge small files: {"dataset","partition"?} -> {"files_before","files_after","version"}',
    run: (ctx, b) => ctx.store.compact(b.dataset, b.partition ?? null),
  },
  evolve_schema: {
    description: 'Add nullable columns: {"dataset","add":[{"name","type","nullable":true}]} -> the dataset description',
    run: (ctx, b) => ctx.store.evolveSchema(b.dataset, b.add),
  },
  vacuum: {
    description: 'Remove files no retained version names: {"dataset","retain_versions"} -> {"files_removed","bytes_freed","oldest_version"} (admin)',
    run: (ctx, b) => ctx.store.vacuum(b.dataset, b.retain_versions),
  },
  drop_dataset: {
    description: 'Drop a dataset and its files: {"name"} -> {"dropped":true} (admin)',
    run: (ctx, b) => ctx.store.drop(b.name),
  },
  health: {
    description: 'Liveness: {} -> {"status":"ok",...}',
    run: async (ctx) => ({
      status: 'ok',
      version: ctx.serverVersion,
      uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
      datasets: ctx.store.listDatasets().length,
      cache: ctx.store.cacheStats(),
      io: ctx.store.ioStats(),
      ...(ctx.store.diskCacheStats() ? { disk_cache: ctx.store.diskCacheStats() } : {}),
      followers: ctx.store.commits.listenerCount(),
    }),
  },
  list_files: {
    description: 'The data files of one version: {"dataset","as_of"?} -> {"version","files":[{"url","partition","rows","bytes"}]} (absolute file:// URLs; s3:// with DATA_URL)',
    run: (ctx, b) => ctx.store.listFiles(b.dataset, b.as_of ?? null),
  },
  list_keys: {
    description: 'Distinct values of the first key column, sorted: {"dataset","prefix"?,"limit"?} -> {"keys":[...],"truncated"}',
    run: (ctx, b) => ctx.store.listKeys(b.dataset, b.prefix ?? null, b.limit),
  },
  set_retention: {
    description: 'Set or clear a retention: {"dataset","retention":"400d"|null} -> the dataset description (admin)',
    run: (ctx, b) => ctx.store.setRetention(b.dataset, b.retention),
  },
};

export function listActionTypes(): { type: string; description: string }[] {
  return Object.entries(ACTIONS).map(([type, a]) => ({ type, description: a.description }));
}

/** Runs one action; its result is the UTF-8 JSON of the handler's value. */
export async function runAction(ctx: ActionContext, type: string, body: Uint8Array): Promise<{ result: Buffer; dataset?: string }> {
  if (!Object.hasOwn(ACTIONS, type)) {
    throw invalidArgument(`unknown action type "${type}"; ListActions names the supported ones`);
  }
  const name = type as ActionName;
  const raw = body.byteLength === 0 ? {} : parseJsonText(body, `${type} body`);
  const parsed = parseWith(ACTION_BODIES[name], raw, `${type} body`);
  const value = await (ACTIONS[name] as ActionHandler<ActionName>).run(ctx, parsed as ActionBody<ActionName>);
  const dataset = (parsed as { name?: unknown; dataset?: unknown }).name ?? (parsed as { dataset?: unknown }).dataset;
  return { result: Buffer.from(JSON.stringify(value), 'utf8'), ...(typeof dataset === 'string' ? { dataset } : {}) };
}
