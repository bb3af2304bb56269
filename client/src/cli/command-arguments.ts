/**
 * How a command line names its dataset and partition. Every dataset command takes the dataset as
 * its first argument; `--dataset <name>` is accepted too (scripts written when `put` and `get`
 * took only that), and giving both with different names is a usage error.
 */
import { stat } from 'node:fs/promises';
import { DATASET_NAME } from '@flightdeck/contract';
import { UsageError } from './cli-error.js';

/** The dataset of `command`, from its first argument or `--dataset`. */
export function datasetOf(command: string, positional: string | undefined, flag: string | undefined): string {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new UsageError(`${command}: the dataset is given twice, "${positional}" and --dataset "${flag}"; give it once`);
  }
  const name = positional ?? flag;
  if (name === undefined) throw new UsageError(`${command} needs a dataset: flightdeck ${command} <dataset> (or --dataset <name>)`);
  return name;
}

async function isPath(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `put <dataset> <files...>`, or `put <files...> --dataset <name>`. With `--dataset`, a first
 * argument that is a dataset name and no file is taken for the dataset (and must be the same);
 * every other argument is a file.
 */
export async function putArguments(args: readonly string[], flag: string | undefined): Promise<{ dataset: string; files: string[] }> {
  const [first, ...rest] = args;
  if (flag !== undefined) {
    if (first !== undefined && DATASET_NAME.test(first) && (first === flag || rest.length > 0) && !(await isPath(first))) {
      datasetOf('put', first, flag);
      if (rest.length === 0) throw new UsageError(`put needs at least one file: flightdeck put ${flag} <files...>`);
      return { dataset: flag, files: rest };
    }
    if (first === undefined) throw new UsageError(`put needs at least one file: flightdeck put ${flag} <files...>`);
    return { dataset: flag, files: [...args] };
  }
  if (first === undefined) throw new UsageError('put needs a dataset and at least one file: flightdeck put <dataset> <files...>');
  const nameLike = DATASET_NAME.test(first);
  if (rest.length === 0) {
    throw new UsageError(
      nameLike && !(await isPath(first))
        ? `put needs at least one file: flightdeck put ${first} <files...>`
        : `put needs the dataset before the files: flightdeck put <dataset> ${first} (or --dataset <name>)`,
    );
  }
  if (!nameLike && (await isPath(first))) {
    throw new UsageError(`put needs the dataset before the files: flightdeck put <dataset> ${args.join(' ')} (or --dataset <name>)`);
  }
  return { dataset: first, files: rest };
}

/** A Hive partition path: `date=2024-01-02`, `date=2024-01-02/hour=13`. */
const HIVE_KEY = /^[^=/\s]+=[^=/\s]+(\/[^=/\s]+=[^=/\s]+)*$/;

/**
 * compact's partition, from `--partition-key`, or from `--partition` as compact spelled it before
 * (only with a Hive key: `--partition day` is the scheme option of create and put).
 */
export function compactPartitionKey(opts: { partitionKey?: string; partition?: string }): string | undefined {
  const { partitionKey, partition } = opts;
  if (partitionKey !== undefined && !HIVE_KEY.test(partitionKey)) {
    throw new UsageError(`--partition-key takes a Hive partition path such as date=2024-01-02, not "${partitionKey}"`);
  }
  if (partition !== undefined) {
    if (!HIVE_KEY.test(partition)) {
      throw new UsageError(
        `compact takes --partition-key <hive path>, e.g. --partition-key date=2024-01-02; "${partition}" is not a partition key (partition schemes are for create and put --create)`,
      );
    }
    if (partitionKey !== undefined && partitionKey !== partition) {
      throw new UsageError(`compact: the partition is given twice, --partition-key "${partitionKey}" and --partition "${partition}"; give it once`);
    }
  }
  return partitionKey ?? partition;
}
