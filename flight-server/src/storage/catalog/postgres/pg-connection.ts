import type { Pool, PoolClient } from 'pg';
import { catalogError } from './pg-errors.js';

/** What the PostgreSQL catalog's parts log through. */
export interface CatalogLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * A pooled connection for one unit of work. While checked out, a connection the catalog's side
 * drops would emit an error nobody listens to (the pool listens only to idle ones): it is kept
 * here, and the connection is destroyed rather than returned to the pool on release.
 */
export async function checkout(pool: Pool, description: string): Promise<PoolClient> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw catalogError(e, description);
  }
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  const release = client.release.bind(client);
  client.release = ((err?: Error | boolean) => {
    client.removeListener('error', onError);
    release(err || broken);
  }) as PoolClient['release'];
  return client;
}
