/**
 * The file catalog, the embedded default: each dataset's version log lives in `<dataset>/_catalog/`
 * beside its data (dataset-catalog.ts), so a data directory is self-contained. One process owns a
 * data directory: no other process commits to it, so there is nothing to watch or refresh.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DATASET_NAME } from '@flightdeck/contract';
import { CATALOG_DIR } from '../catalog.js';
import type { Manifest } from '../manifest.js';
import { StorageError } from '../errors.js';
import type { CatalogBackend, CatalogEvent, DatasetCatalogHandle, MaintenanceLease, ReplicaRegistration } from './catalog-backend.js';
import { DatasetCatalog, type CatalogOptions } from './dataset-catalog.js';

export class FileCatalog implements CatalogBackend {
  readonly description = 'file catalog';
  readonly shared = false;

  constructor(
    private readonly dataDir: string,
    private readonly opts: CatalogOptions,
  ) {}

  async listDatasets(): Promise<string[]> {
    const entries = await readdir(this.dataDir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
    return entries.filter((e) => e.isDirectory() && DATASET_NAME.test(e.name)).map((e) => e.name).sort();
  }

  openDataset(name: string): Promise<DatasetCatalogHandle | null> {
    return DatasetCatalog.open(join(this.dataDir, name), this.opts);
  }

  async createDataset(first: Manifest): Promise<DatasetCatalogHandle> {
    const dir = join(this.dataDir, first.name);
    await mkdir(join(dir, CATALOG_DIR), { recursive: true });
    try {
      return await DatasetCatalog.create(dir, first, this.opts);
    } catch (e) {
      if (e instanceof StorageError && e.code === 'ABORTED') throw new StorageError('ALREADY_EXISTS', `dataset "${first.name}" already exists`);
      throw e;
    }
  }

  /** The catalog lives in the dataset directory: the caller's removal of that directory is the drop. */
  async dropDataset(_name: string, handle: DatasetCatalogHandle): Promise<void> {
    await handle.close();
  }

  watch(_listener: (event: CatalogEvent) => void): void {
    // No other process commits to this data directory.
  }

  /** The only process of this data directory: always the one that maintains it. */
  maintenanceLease(): MaintenanceLease {
    return { held: true, onChange: () => undefined, close: async () => undefined };
  }

  /** No other process serves this data directory: the one replica is this one. */
  async registerReplica(url: string): Promise<ReplicaRegistration> {
    return { liveUrls: () => [url], close: async () => undefined };
  }

  async close(): Promise<void> {}
}
