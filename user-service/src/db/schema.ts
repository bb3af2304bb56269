/**
 * The user service's tables (Drizzle). `npm run db:generate -w user-service` turns changes here into
 * a new SQL migration under `migrations/`, which is committed and applied at start-up.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // Emails are unique regardless of case: Alice@x.io and alice@x.io are one address.
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    index('users_created_at_idx').on(t.createdAt, t.id),
  ],
);

export const watchlists = pgTable(
  'watchlists',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // One user cannot have two watchlists whose names differ only in case.
    uniqueIndex('watchlists_user_name_lower_key').on(t.userId, sql`lower(${t.name})`),
    index('watchlists_user_created_idx').on(t.userId, t.createdAt, t.id),
  ],
);

export const watchlistSymbols = pgTable(
  'watchlist_symbols',
  {
    watchlistId: uuid('watchlist_id')
      .notNull()
      .references(() => watchlists.id, { onDelete: 'cascade' }),
    symbol: text('symbol').notNull(),
    /** Order of insertion within the watchlist; gaps after removals are fine. */
    position: integer('position').notNull(),
    addedAt: timestamp('added_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.watchlistId, t.symbol] }),
    check('watchlist_symbols_symbol_upper', sql`${t.symbol} = upper(${t.symbol})`),
  ],
);

export type UserRow = typeof users.$inferSelect;
export type WatchlistRow = typeof watchlists.$inferSelect;
export type WatchlistSymbolRow = typeof watchlistSymbols.$inferSelect;
