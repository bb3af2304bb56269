import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactPartitionKey, datasetOf, putArguments } from './command-arguments.js';

describe('datasetOf', () => {
  it('takes the first argument or --dataset, the same name in both, and refuses two names or none', () => {
    expect(datasetOf('get', 'bars', undefined)).toBe('bars');
    expect(datasetOf('get', undefined, 'bars')).toBe('bars');
    expect(datasetOf('get', 'bars', 'bars')).toBe('bars');
    expect(() => datasetOf('get', 'bars', 'quotes')).toThrow('get: the dataset is given twice, "bars" and --dataset "quotes"; give it once');
    expect(() => datasetOf('describe', undefined, undefined)).toThrow('describe needs a dataset: flightdeck describe <dataset> (or --dataset <name>)');
  });
});

describe('putArguments', () => {
  let dir: string;
  const cwd = process.cwd();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-put-args-'));
    await writeFile(join(dir, 'a.csv'), 'x\n');
    await writeFile(join(dir, 'bars'), 'x\n'); // a file whose name could be a dataset's
    process.chdir(dir);
  });
  afterAll(async () => {
    process.chdir(cwd);
    await rm(dir, { recursive: true, force: true });
  });

  it('the dataset first, then the files', async () => {
    expect(await putArguments(['quotes', 'a.csv', 'b.csv'], undefined)).toEqual({ dataset: 'quotes', files: ['a.csv', 'b.csv'] });
  });

  it('--dataset as before: every argument is a file, or a first argument naming the same dataset', async () => {
    expect(await putArguments(['a.csv', 'b.csv'], 'quotes')).toEqual({ dataset: 'quotes', files: ['a.csv', 'b.csv'] });
    expect(await putArguments(['quotes', 'a.csv'], 'quotes')).toEqual({ dataset: 'quotes', files: ['a.csv'] });
    expect(await putArguments(['bars', 'a.csv'], 'quotes')).toEqual({ dataset: 'quotes', files: ['bars', 'a.csv'] }); // `bars` is a file here
    expect(await putArguments(['nope.csv'], 'quotes')).toEqual({ dataset: 'quotes', files: ['nope.csv'] });
  });

  it('usage errors say what is missing', async () => {
    await expect(putArguments(['other', 'a.csv'], 'quotes')).rejects.toThrow('put: the dataset is given twice, "other" and --dataset "quotes"; give it once');
    await expect(putArguments([], undefined)).rejects.toThrow('put needs a dataset and at least one file: flightdeck put <dataset> <files...>');
    await expect(putArguments(['quotes'], undefined)).rejects.toThrow('put needs at least one file: flightdeck put quotes <files...>');
    await expect(putArguments(['quotes'], 'quotes')).rejects.toThrow('put needs at least one file: flightdeck put quotes <files...>');
    await expect(putArguments([], 'quotes')).rejects.toThrow('put needs at least one file: flightdeck put quotes <files...>');
    await expect(putArguments(['a.csv'], undefined)).rejects.toThrow('put needs the dataset before the files: flightdeck put <dataset> a.csv (or --dataset <name>)');
    await expect(putArguments(['a.csv', 'b.csv'], undefined)).rejects.toThrow(
      'put needs the dataset before the files: flightdeck put <dataset> a.csv b.csv (or --dataset <name>)',
    );
  });
});

describe('compactPartitionKey', () => {
  it('takes --partition-key, or --partition when it holds a Hive key', () => {
    expect(compactPartitionKey({})).toBeUndefined();
    expect(compactPartitionKey({ partitionKey: 'date=2024-01-02' })).toBe('date=2024-01-02');
    expect(compactPartitionKey({ partitionKey: 'date=2024-01-02/hour=13' })).toBe('date=2024-01-02/hour=13');
    expect(compactPartitionKey({ partition: 'date=2024-01-02' })).toBe('date=2024-01-02');
    expect(compactPartitionKey({ partition: 'date=2024-01-02', partitionKey: 'date=2024-01-02' })).toBe('date=2024-01-02');
  });

  it('refuses a partition scheme, a malformed key and two different keys, naming --partition-key', () => {
    expect(() => compactPartitionKey({ partition: 'day' })).toThrow(
      'compact takes --partition-key <hive path>, e.g. --partition-key date=2024-01-02; "day" is not a partition key (partition schemes are for create and put --create)',
    );
    expect(() => compactPartitionKey({ partitionKey: 'day' })).toThrow('--partition-key takes a Hive partition path such as date=2024-01-02, not "day"');
    expect(() => compactPartitionKey({ partitionKey: 'date=' })).toThrow('--partition-key takes');
    expect(() => compactPartitionKey({ partition: 'date=2024-01-02', partitionKey: 'date=2024-01-03' })).toThrow(
      'compact: the partition is given twice, --partition-key "date=2024-01-03" and --partition "date=2024-01-02"; give it once',
    );
  });
});
