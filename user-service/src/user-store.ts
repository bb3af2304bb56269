/**
 * Reads and writes users, watchlists and their symbols. Batch reads (`...ByIds`) serve the per-request
 * loaders; every mutation is one statement or one transaction, so a failure leaves nothing half-written.
 * Inputs arrive validated (validation.ts); constraint violations become client errors here.
 */
import { and, asc, count, eq, inArray, max, sql } from 'drizzle-orm';
import type { Db } from './db/connect.js';
import { users, watchlists, watchlistSymbols } from './db/schema.js';
import { FOREIGN_KEY_VIOLATION, pgErrorOf, UNIQUE_VIOLATION, userError } from './errors.js';
import { isId, WATCHLIST_SYMBOLS_MAX } from './validation.js';

export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: Date;
}

export interface Watchlist {
  id: string;
  userId: string;
  name: string;
  createdAt: Date;
  /** Present when a mutation read them in its transaction; otherwise loaded on demand. */
  symbols?: string[];
}

export interface WatchlistSymbol {
  watchlistId: string;
  symbol: string;
}

const userColumns = { id: users.id, email: users.email, name: users.name, createdAt: users.createdAt };
const watchlistColumns = { id: watchlists.id, userId: watchlists.userId, name: watchlists.name, createdAt: watchlists.createdAt };

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export class UserStore {
  constructor(private readonly db: Db) {}

  async listUsers(): Promise<User[]> {
    return this.db.select(userColumns).from(users).orderBy(asc(users.createdAt), asc(users.id));
  }

  /** Users with these ids, in no particular order; ids that are not UUIDs match nothing. */
  async usersByIds(ids: readonly string[]): Promise<User[]> {
    const valid = ids.filter(isId);
    if (valid.length === 0) return [];
    return this.db.select(userColumns).from(users).where(inArray(users.id, valid));
  }

  /** Watchlists of these users, oldest first. */
  async watchlistsByUserIds(userIds: readonly string[]): Promise<Watchlist[]> {
    const valid = userIds.filter(isId);
    if (valid.length === 0) return [];
    return this.db
      .select(watchlistColumns)
      .from(watchlists)
      .where(inArray(watchlists.userId, valid))
      .orderBy(asc(watchlists.createdAt), asc(watchlists.id));
  }

  /** Symbols of these watchlists, each list in insertion order. */
  async symbolsByWatchlistIds(watchlistIds: readonly string[], db: Db | Tx = this.db): Promise<WatchlistSymbol[]> {
    const valid = watchlistIds.filter(isId);
    if (valid.length === 0) return [];
    return db
      .select({ watchlistId: watchlistSymbols.watchlistId, symbol: watchlistSymbols.symbol })
      .from(watchlistSymbols)
      .where(inArray(watchlistSymbols.watchlistId, valid))
      .orderBy(asc(watchlistSymbols.watchlistId), asc(watchlistSymbols.position), asc(watchlistSymbols.symbol));
  }

  async createUser(email: string, name: string): Promise<User> {
    try {
      const [user] = await this.db.insert(users).values({ email, name }).returning(userColumns);
      if (!user) throw new Error('insert into users returned no row');
      return user;
    } catch (error) {
      if (pgErrorOf(error)?.code === UNIQUE_VIOLATION) {
        throw userError('BAD_USER_INPUT', `email ${JSON.stringify(email)} is already registered`, 'email');
      }
      throw error;
    }
  }

  async createWatchlist(userId: string, name: string): Promise<Watchlist> {
    if (!isId(userId)) throw unknownUser(userId);
    try {
      const [watchlist] = await this.db.insert(watchlists).values({ userId, name }).returning(watchlistColumns);
      if (!watchlist) throw new Error('insert into watchlists returned no row');
      return { ...watchlist, symbols: [] };
    } catch (error) {
      const pgError = pgErrorOf(error);
      if (pgError?.code === FOREIGN_KEY_VIOLATION) throw unknownUser(userId);
      if (pgError?.code === UNIQUE_VIOLATION) {
        throw userError('BAD_USER_INPUT', `user ${userId} already has a watchlist named ${JSON.stringify(name)}`, 'name');
      }
      throw error;
    }
  }

  /**
   * Appends `symbol` to the watchlist. Adding a symbol that is already there changes nothing and
   * returns the watchlist as it is (idempotent, so a retried request is harmless).
   */
  async addSymbol(watchlistId: string, symbol: string): Promise<Watchlist> {
    return this.db.transaction(async (tx) => {
      const watchlist = await lockWatchlist(tx, watchlistId);
      const [stats] = await tx
        .select({
          total: count(),
          last: max(watchlistSymbols.position),
          present: sql<number>`count(*) filter (where ${watchlistSymbols.symbol} = ${symbol})`.mapWith(Number),
        })
        .from(watchlistSymbols)
        .where(eq(watchlistSymbols.watchlistId, watchlist.id));
      if (!stats?.present) {
        if ((stats?.total ?? 0) >= WATCHLIST_SYMBOLS_MAX) {
          throw userError('BAD_USER_INPUT', `watchlist ${watchlistId} already holds the maximum of ${WATCHLIST_SYMBOLS_MAX} symbols`, 'symbol');
        }
        await tx.insert(watchlistSymbols).values({ watchlistId: watchlist.id, symbol, position: (stats?.last ?? 0) + 1 });
        await touch(tx, watchlist.id);
      }
      return this.withSymbols(tx, watchlist);
    });
  }

  /** Removes `symbol` from the watchlist; removing an absent symbol changes nothing (idempotent). */
  async removeSymbol(watchlistId: string, symbol: string): Promise<Watchlist> {
    return this.db.transaction(async (tx) => {
      const watchlist = await lockWatchlist(tx, watchlistId);
      const removed = await tx
        .delete(watchlistSymbols)
        .where(and(eq(watchlistSymbols.watchlistId, watchlist.id), eq(watchlistSymbols.symbol, symbol)))
        .returning({ symbol: watchlistSymbols.symbol });
      if (removed.length > 0) await touch(tx, watchlist.id);
      return this.withSymbols(tx, watchlist);
    });
  }

  /** Deletes the watchlist and its symbols; false when no such watchlist exists (any more). */
  async deleteWatchlist(id: string): Promise<boolean> {
    if (!isId(id)) return false;
    const deleted = await this.db.delete(watchlists).where(eq(watchlists.id, id)).returning({ id: watchlists.id });
    return deleted.length > 0;
  }

  private async withSymbols(tx: Tx, watchlist: Watchlist): Promise<Watchlist> {
    const rows = await this.symbolsByWatchlistIds([watchlist.id], tx);
    return { ...watchlist, symbols: rows.map((r) => r.symbol) };
  }
}

function unknownUser(userId: string) {
  return userError('NOT_FOUND', `no user with id ${JSON.stringify(userId)}`, 'userId');
}

/** The watchlist, row-locked until the transaction ends so concurrent edits of it queue up. */
async function lockWatchlist(tx: Tx, watchlistId: string): Promise<Watchlist> {
  const notFound = userError('NOT_FOUND', `no watchlist with id ${JSON.stringify(watchlistId)}`, 'watchlistId');
  if (!isId(watchlistId)) throw notFound;
  const [watchlist] = await tx.select(watchlistColumns).from(watchlists).where(eq(watchlists.id, watchlistId)).for('update');
  if (!watchlist) throw notFound;
  return watchlist;
}

async function touch(tx: Tx, watchlistId: string): Promise<void> {
  await tx.update(watchlists).set({ updatedAt: sql`now()` }).where(eq(watchlists.id, watchlistId));
}
