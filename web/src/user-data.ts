/**
 * Users and watchlists from the user service, through the gateway. A user's watchlists come with
 * each instrument's latest bar in one query (the supergraph walks from the watchlist into the
 * facade); when market data is down the watchlists still come, with the quotes marked missing.
 */
import { GraphQLRequestError, describeErrors, type GraphQLClient, type GraphQLErrorEntry } from './graphql.js';

export interface UserSummary {
  id: string;
  name: string;
  email: string;
}

export interface Quote {
  ts: string;
  close: number | null;
}

export interface WatchlistView {
  id: string;
  name: string;
  symbols: string[];
  /** Latest bar per symbol; undefined when the quotes could not be loaded, null when the dataset has none. */
  latest: Map<string, Quote | null> | undefined;
}

export interface UserWatchlists {
  user: UserSummary;
  watchlists: WatchlistView[];
  /** Why the quotes are missing, in words, when they are. */
  quotesFault: string | undefined;
}

/** The subgraph the user queries read (the watchlist query also reads market data, said apart below). */
const USERS = 'users';
const MARKET_DATA = 'financial';

function only<T>(answer: { data: T; errors: GraphQLErrorEntry[] }): T {
  if (answer.errors.length > 0) {
    const { message, kind } = describeErrors(answer.errors, USERS);
    throw new GraphQLRequestError(message, kind);
  }
  return answer.data;
}

export async function listUsers(client: GraphQLClient): Promise<UserSummary[]> {
  return only(await client.request<{ users: UserSummary[] }>('query ExplorerUsers { users { id name email } }', {}, USERS)).users;
}

export async function createUser(client: GraphQLClient, name: string, email: string): Promise<UserSummary> {
  return only(
    await client.request<{ createUser: UserSummary }>(
      'mutation ExplorerCreateUser($name: String!, $email: String!) { createUser(name: $name, email: $email) { id name email } }',
      { name, email },
      USERS,
    ),
  ).createUser;
}

/** The user's watchlists with latest quotes from `dataset`; null when the user does not exist. */
export async function loadWatchlists(client: GraphQLClient, userId: string, dataset: string | undefined): Promise<UserWatchlists | null> {
  const answer = await client.request<{
    user: (UserSummary & { watchlists: { id: string; name: string; symbols: string[]; instruments: ({ symbol: string; latest: Quote | null } | null)[] | null }[] }) | null;
  }>(
    `query ExplorerWatchlists($id: ID!, $dataset: String) {
      user(id: $id) { id name email watchlists { id name symbols instruments { symbol latest(dataset: $dataset) { ts close } } } }
    }`,
    { id: userId, dataset },
    USERS,
  );
  const user = answer.data.user;
  // A user that came back means the user service answered; errors beside it are the quotes' (the
  // entity fetch into the facade: the only other subgraph the query reads).
  if (user === null) {
    if (answer.errors.every((e) => e.extensions?.code === 'NOT_FOUND')) return null;
    const { message, kind } = describeErrors(answer.errors, USERS);
    throw new GraphQLRequestError(message, kind);
  }
  const quotesFault = answer.errors.length > 0 ? describeErrors(answer.errors, MARKET_DATA).message : undefined;
  return {
    user: { id: user.id, name: user.name, email: user.email },
    quotesFault,
    watchlists: user.watchlists.map((w) => ({
      id: w.id,
      name: w.name,
      symbols: w.symbols,
      latest:
        quotesFault !== undefined || w.instruments === null
          ? undefined
          : new Map(w.symbols.map((s) => [s, w.instruments!.find((i) => i?.symbol === s)?.latest ?? null])),
    })),
  };
}

export async function createWatchlist(client: GraphQLClient, userId: string, name: string): Promise<string> {
  return only(
    await client.request<{ createWatchlist: { id: string } }>(
      'mutation ExplorerCreateWatchlist($userId: ID!, $name: String!) { createWatchlist(userId: $userId, name: $name) { id } }',
      { userId, name },
      USERS,
    ),
  ).createWatchlist.id;
}

export async function addToWatchlist(client: GraphQLClient, watchlistId: string, symbol: string): Promise<void> {
  only(
    await client.request(
      'mutation ExplorerAddSymbol($id: ID!, $symbol: String!) { addToWatchlist(watchlistId: $id, symbol: $symbol) { id } }',
      { id: watchlistId, symbol },
      USERS,
    ),
  );
}

export async function removeFromWatchlist(client: GraphQLClient, watchlistId: string, symbol: string): Promise<void> {
  only(
    await client.request(
      'mutation ExplorerRemoveSymbol($id: ID!, $symbol: String!) { removeFromWatchlist(watchlistId: $id, symbol: $symbol) { id } }',
      { id: watchlistId, symbol },
      USERS,
    ),
  );
}

export async function deleteWatchlist(client: GraphQLClient, watchlistId: string): Promise<void> {
  only(await client.request('mutation ExplorerDeleteWatchlist($id: ID!) { deleteWatchlist(id: $id) }', { id: watchlistId }, USERS));
}
