/**
 * The bodies of the contract's actions (CONTRACT "Actions"), parsed strictly: an unknown field or a
 * wrong type is INVALID_ARGUMENT naming it. The server attaches what each action does.
 */
import { z } from 'zod';
import { fieldSpecSchema } from './dataset-description.js';

const datasetName = z.string();
const timeValue = z.union([z.string(), z.number()]);

export const ACTION_BODIES = {
  create_dataset: z.strictObject({
    name: datasetName,
    time_column: z.string().min(1),
    key_columns: z.array(z.string().min(1)).default([]),
    partition: z.string().default('day'),
    fields: z.array(fieldSpecSchema).min(1).optional(),
    /** `"400d"`, `"26w"`, `"10y"` or null (keep everything); see retention.ts. */
    retention: z.string().nullable().optional(),
  }),
  describe_dataset: z.strictObject({ name: datasetName }),
  delete_range: z.strictObject({
    dataset: datasetName,
    symbols: z.array(z.string()).optional(),
    start: timeValue.optional(),
    end: timeValue.optional(),
  }),
  compact: z.strictObject({ dataset: datasetName, partition: z.string().optional() }),
  evolve_schema: z.strictObject({ dataset: datasetName, add: z.array(fieldSpecSchema).min(1) }),
  vacuum: z.strictObject({ dataset: datasetName, retain_versions: z.number().int().min(1) }),
  drop_dataset: z.strictObject({ name: datasetName }),
  health: z.strictObject({}),
  list_files: z.strictObject({ dataset: datasetName, as_of: z.number().int().nonnegative().optional() }),
  list_keys: z.strictObject({
    dataset: datasetName,
    prefix: z.string().optional(),
    limit: z.number().int().min(1).max(1_000_000).default(1000),
  }),
  set_retention: z.strictObject({ dataset: datasetName, retention: z.string().nullable() }),
} as const;

export type ActionName = keyof typeof ACTION_BODIES;
export type ActionBody<A extends ActionName> = z.infer<(typeof ACTION_BODIES)[A]>;
/** What a client sends (defaults not yet applied). */
export type ActionInput<A extends ActionName> = z.input<(typeof ACTION_BODIES)[A]>;
