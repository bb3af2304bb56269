/**
 * The facade's `Subscription` type (CONTRACT "Live data over GraphQL") as its own subgraph module,
 * built into the subgraph schema beside the queries' module, and its resolver.
 */
import { argumentsFault } from '@flightdeck/graphql-http';
import { parse } from 'graphql';
import type { Logger } from 'pino';
import type { DatasetCatalog } from '../dataset-catalog.js';
import { facadeError } from '../errors.js';
import { BarUpdates, type FollowPort } from './bar-updates.js';

export const subscriptionTypeDefs = parse(/* GraphQL */ `
  type Subscription {
    "Each row committed to the dataset (default FACADE_DEFAULT_DATASET) for one of the symbols, once, as it is committed (not the rows stored before)."
    barUpdates(dataset: String, symbols: [String!]!): Bar!
  }
`);

const SYMBOL = /^[\x21-\x7e]{1,64}$/;

export interface SubscriptionLimits {
  /** FACADE_MAX_SUBSCRIPTIONS: subscriptions open at once (each holds one Flight stream). */
  maxSubscriptions: number;
  /** FACADE_SUBSCRIPTION_BUFFER: bars one subscriber may have waiting before it is cut. */
  maxBuffered: number;
  /** FACADE_SUBSCRIPTION_SYMBOLS: symbols one subscription may name. */
  maxSymbols: number;
}

export interface SubscriptionDeps {
  /** Null when the facade has no Flight client that streams (tests with a recording port). */
  follow: FollowPort | null;
  catalog: DatasetCatalog;
  defaultDataset: string;
  limits: SubscriptionLimits;
}

/** Subscriptions open now, for the limit and for tests. */
export class SubscriptionCount {
  active = 0;
}

interface BarUpdatesArgs {
  dataset?: string | null;
  symbols: string[];
}

export function createSubscriptionResolvers(deps: SubscriptionDeps, count: SubscriptionCount) {
  return {
    Subscription: {
      barUpdates: {
        subscribe: async (_root: unknown, args: BarUpdatesArgs, ctx: { log: Logger }) => {
          const fault = argumentsFault(args);
          if (fault !== undefined) throw facadeError('BAD_USER_INPUT', fault.message, { field: fault.field });
          const { maxSymbols, maxSubscriptions, maxBuffered } = deps.limits;
          const symbols = [...new Set(args.symbols)];
          if (symbols.length === 0 || symbols.length > maxSymbols) {
            throw facadeError('BAD_USER_INPUT', `symbols must name 1 to ${maxSymbols} symbols (FACADE_SUBSCRIPTION_SYMBOLS), got ${symbols.length}`, {
              field: 'symbols',
            });
          }
          const bad = symbols.find((s) => !SYMBOL.test(s));
          if (bad !== undefined) {
            throw facadeError('BAD_USER_INPUT', `symbol ${JSON.stringify(bad)} must be 1 to 64 printable ASCII characters without spaces`, { field: 'symbols' });
          }
          if (deps.follow === null) throw facadeError('SERVICE_UNAVAILABLE', 'this facade has no streaming Flight client, so it cannot follow commits');
          if (count.active >= maxSubscriptions) {
            throw facadeError('SERVICE_UNAVAILABLE', `the facade already serves FACADE_MAX_SUBSCRIPTIONS=${maxSubscriptions} subscriptions; retry later`, {
              limit: 'FACADE_MAX_SUBSCRIPTIONS',
            });
          }
          count.active++;
          try {
            const updates = await BarUpdates.start(deps.follow, deps.catalog, { dataset: args.dataset ?? deps.defaultDataset, symbols }, { maxBuffered }, ctx.log);
            updates.onEnd(() => count.active--);
            return updates;
          } catch (err) {
            count.active--;
            throw err;
          }
        },
        resolve: (payload: { barUpdates: unknown } | undefined) => {
          // Executed as a query (a subscription sent with HTTP POST) there is no event.
          if (payload === undefined) throw facadeError('BAD_REQUEST', 'subscriptions run over WebSocket (graphql-ws) at ws://…/graphql, not with HTTP POST');
          return payload.barUpdates;
        },
      },
    },
  };
}
