/**
 * Retention: a dataset with `retention` ("400d", "26w", "10y") keeps partitions that still hold
 * a time within now - retention; a partition wholly older (its range ends at or before the cutoff)
 * leaves the dataset in a new version. Its files stay on disk, readable with `as_of`, until vacuum.
 */
import { retentionCutoffNs } from '@flightdeck/contract';
import type { FileEntry, Manifest } from '../manifest.js';
import { parsePartitionKey } from '../partition-path.js';

/** The files of the partitions of `m` past its retention at `nowMs` ([] without a retention). */
export function expiredFiles(m: Pick<Manifest, 'retention' | 'partition' | 'files'>, nowMs: number): FileEntry[] {
  if (!m.retention) return [];
  const cutoff = retentionCutoffNs(m.retention, nowMs);
  const expired = new Map<string, boolean>();
  return m.files.filter((f) => {
    let gone = expired.get(f.partition);
    if (gone === undefined) {
      gone = parsePartitionKey(f.partition, m.partition).endNs <= cutoff;
      expired.set(f.partition, gone);
    }
    return gone;
  });
}
