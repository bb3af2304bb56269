/** Per-request batch loaders: users -> watchlists -> symbols cost one query per level, not per row. */
import DataLoader from 'dataloader';
import type { User, UserStore, Watchlist } from '../user-store.js';

export interface Loaders {
  user: DataLoader<string, User | null>;
  watchlistsByUser: DataLoader<string, Watchlist[]>;
  symbolsByWatchlist: DataLoader<string, string[]>;
  /** Forgets everything loaded, after a mutation changed the data. */
  clearAll(): void;
}

// Postgres prints UUIDs in lower case; clients may send any case.
const key = (id: string) => id.toLowerCase();

function group<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(keyOf(row));
    const list = groups.get(k);
    if (list) list.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

export function createLoaders(store: UserStore): Loaders {
  const user = new DataLoader<string, User | null, string>(
    async (ids) => {
      const byId = new Map((await store.usersByIds(ids)).map((u) => [key(u.id), u]));
      return ids.map((id) => byId.get(key(id)) ?? null);
    },
    { cacheKeyFn: key },
  );
  const watchlistsByUser = new DataLoader<string, Watchlist[], string>(
    async (userIds) => {
      const groups = group(await store.watchlistsByUserIds(userIds), (w) => w.userId);
      return userIds.map((id) => groups.get(key(id)) ?? []);
    },
    { cacheKeyFn: key },
  );
  const symbolsByWatchlist = new DataLoader<string, string[], string>(
    async (watchlistIds) => {
      const groups = group(await store.symbolsByWatchlistIds(watchlistIds), (s) => s.watchlistId);
      return watchlistIds.map((id) => (groups.get(key(id)) ?? []).map((s) => s.symbol));
    },
    { cacheKeyFn: key },
  );
  return {
    user,
    watchlistsByUser,
    symbolsByWatchlist,
    clearAll() {
      user.clearAll();
      watchlistsByUser.clearAll();
      symbolsByWatchlist.clearAll();
    },
  };
}
