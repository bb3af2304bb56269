/**
 * Resolvers: validate arguments, call the store, and read relations through the request's loaders.
 * Every resolver that takes input (arguments, or an entity representation) runs `checkArguments`
 * on it first, so no string with a control character reaches the database.
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { DateTimeScalar } from '@flightdeck/graphql-http';
import type { User, Watchlist } from '../user-store.js';
import { checkArguments, parseEmail, parseName, parseSymbol, USER_NAME_MAX, WATCHLIST_NAME_MAX } from '../validation.js';
import type { UserContext } from './context.js';

interface InstrumentRef {
  symbol: string;
}

const symbolsOf = (watchlist: Watchlist, ctx: UserContext): Promise<string[]> | string[] =>
  watchlist.symbols ?? ctx.loaders.symbolsByWatchlist.load(watchlist.id);

export const resolvers: GraphQLResolverMap<UserContext> = {
  DateTime: DateTimeScalar,
  Query: {
    user: (_: unknown, args: { id: string }, ctx: UserContext) => {
      checkArguments(args);
      return ctx.loaders.user.load(args.id);
    },
    users: async (_: unknown, _args: unknown, ctx: UserContext) => {
      const all = await ctx.store.listUsers();
      for (const user of all) ctx.loaders.user.prime(user.id, user);
      return all;
    },
  },
  Mutation: {
    createUser: async (_: unknown, args: { email: string; name: string }, ctx: UserContext) => {
      checkArguments(args);
      const email = parseEmail(args.email);
      const name = parseName(args.name, 'name', USER_NAME_MAX);
      const user = await ctx.store.createUser(email, name);
      ctx.loaders.clearAll();
      return user;
    },
    createWatchlist: async (_: unknown, args: { userId: string; name: string }, ctx: UserContext) => {
      checkArguments(args);
      const name = parseName(args.name, 'name', WATCHLIST_NAME_MAX);
      const watchlist = await ctx.store.createWatchlist(args.userId, name);
      ctx.loaders.clearAll();
      return watchlist;
    },
    addToWatchlist: async (_: unknown, args: { watchlistId: string; symbol: string }, ctx: UserContext) => {
      checkArguments(args);
      const watchlist = await ctx.store.addSymbol(args.watchlistId, parseSymbol(args.symbol));
      ctx.loaders.clearAll();
      return watchlist;
    },
    removeFromWatchlist: async (_: unknown, args: { watchlistId: string; symbol: string }, ctx: UserContext) => {
      checkArguments(args);
      const watchlist = await ctx.store.removeSymbol(args.watchlistId, parseSymbol(args.symbol));
      ctx.loaders.clearAll();
      return watchlist;
    },
    deleteWatchlist: async (_: unknown, args: { id: string }, ctx: UserContext) => {
      checkArguments(args);
      const deleted = await ctx.store.deleteWatchlist(args.id);
      ctx.loaders.clearAll();
      return deleted;
    },
  },
  User: {
    __resolveReference: (ref: { id: string }, ctx: UserContext) => {
      checkArguments({ id: ref.id });
      return ctx.loaders.user.load(ref.id);
    },
    watchlists: (user: User, _args: unknown, ctx: UserContext) => ctx.loaders.watchlistsByUser.load(user.id),
  },
  Watchlist: {
    symbols: (watchlist: Watchlist, _args: unknown, ctx: UserContext) => symbolsOf(watchlist, ctx),
    instruments: async (watchlist: Watchlist, _args: unknown, ctx: UserContext): Promise<InstrumentRef[]> =>
      (await symbolsOf(watchlist, ctx)).map((symbol) => ({ symbol })),
  },
};
