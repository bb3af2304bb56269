// Arrow IPC stream -> Parquet bytes with flightdeck's writer settings. Plain JavaScript so the same
// module runs on the main thread and in encoder worker threads without a TypeScript loader.
import * as pq from 'parquet-wasm';

/**
 * @param {Uint8Array} ipc an Arrow IPC stream
 * @param {number} rowGroupRows
 * @param {string} timeColumn
 * @returns {Uint8Array}
 */
export function encodeParquet(ipc, rowGroupRows, timeColumn) {
  // Sorted by key then time, a time column is nearly arithmetic: delta encoding shrinks it to
  // almost nothing where dictionary encoding (the default) keeps 8 bytes a row.
  const props = new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression.ZSTD)
    .setStatisticsEnabled(pq.EnabledStatistics.Page)
    .setMaxRowGroupSize(rowGroupRows)
    .setColumnDictionaryEnabled(timeColumn, false)
    .setColumnEncoding(timeColumn, pq.Encoding.DELTA_BINARY_PACKED)
    .setCreatedBy('flightdeck')
    .build();
  return pq.writeParquet(pq.Table.fromIPCStream(ipc), props);
}
