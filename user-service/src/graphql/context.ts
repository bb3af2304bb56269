import type { Logger } from '../logger.js';
import type { UserStore } from '../user-store.js';
import type { Loaders } from './loaders.js';

/** What every resolver gets: the store, this request's loaders and its child logger. */
export interface UserContext {
  store: UserStore;
  loaders: Loaders;
  logger: Logger;
  reqId: string;
}
