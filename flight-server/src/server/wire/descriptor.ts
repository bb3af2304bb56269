/** FlightDescriptor → query: PATH ["<dataset>"] is the whole dataset, CMD carries query JSON. */
import type { FlightDescriptor } from '@flightdeck/proto';
import { StorageError } from '../../storage/errors.js';
import { parseQuery, type ReadQuery, wholeDataset } from '@flightdeck/contract';

export function datasetOfPath(descriptor: FlightDescriptor | null | undefined): string {
  if (!descriptor || descriptor.type !== 'PATH') {
    throw new StorageError('INVALID_ARGUMENT', 'descriptor must be PATH ["<dataset>"]');
  }
  if (descriptor.path.length !== 1 || !descriptor.path[0]) {
    throw new StorageError('INVALID_ARGUMENT', `descriptor path must name exactly one dataset, got ${JSON.stringify(descriptor.path)}`);
  }
  return descriptor.path[0];
}

export function queryOfDescriptor(descriptor: FlightDescriptor | null | undefined): ReadQuery {
  if (!descriptor) throw new StorageError('INVALID_ARGUMENT', 'missing flight descriptor');
  switch (descriptor.type) {
    case 'PATH':
      return wholeDataset(datasetOfPath(descriptor));
    case 'CMD':
      return parseQuery(descriptor.cmd);
    case 'UNKNOWN':
      throw new StorageError('INVALID_ARGUMENT', 'descriptor type must be PATH or CMD, not UNKNOWN');
    default: {
      const never: never = descriptor.type;
      throw new StorageError('INVALID_ARGUMENT', `unknown descriptor type ${String(never)}`);
    }
  }
}
