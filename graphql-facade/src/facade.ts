/**
 * `startFacade(config)`: the financial subgraph (Apollo Federation 2) on its own HTTP server.
 * Tests call it in-process on port 0, optionally with their own Flight client.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { FlightClient } from '@flightdeck/proto';
import type { Logger } from 'pino';
import { BarReader } from './bar-reader.js';
import type { FacadeConfig } from './config.js';
import { DatasetCatalog } from './dataset-catalog.js';
import { isClientFault } from './errors.js';
import { authenticatedFlight } from './flight-auth.js';
import type { FlightPort } from './flight-port.js';
import { closeServer, createHttpFront, listen, stringifyResult } from '@flightdeck/graphql-http';
import { columnScalars, columnTypeDefs, SERIES_COLUMNS } from './column-lists.js';
import { jitGateway } from './jit-executor.js';
import { createLoaders } from './loaders.js';
import { createLogger } from './logger.js';
import { queryLimitsRule } from './query-limits.js';
import { ReplicaReads } from './replica-reads.js';
import { createResolvers, type FacadeContext } from './resolvers.js';
import { RowBudget } from './row-budget.js';
import { typeDefs } from './schema.js';
import type { FollowPort } from './subscriptions/bar-updates.js';
import { createSubscriptionResolvers, SubscriptionCount, subscriptionTypeDefs } from './subscriptions/subscription-schema.js';
import { serveGraphqlWs } from './subscriptions/ws-server.js';

export interface FacadeDeps {
  /** The Flight client to use (default: a FlightClient on `config.flightUrl`, closed with the facade). */
  flight?: FlightPort;
  logger?: Logger;
  /** describe_dataset cache lifetime (default 5 s). */
  catalogTtlMs?: number;
}

export interface RunningFacade {
  url: string;
  port: number;
  /** `barUpdates` subscriptions open now (each holds one Flight follow stream). */
  subscriptions(): number;
  /** The Flight replicas' locations the facade reads from (empty: it reads through `FLIGHT_URL`). */
  flightLocations(): readonly string[];
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 2000;

function requestLogPlugin(): ApolloServerPlugin<FacadeContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      const started = performance.now();
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (isClientFault(code)) contextValue.log.info({ code, error: error.message }, 'graphql client error');
            else contextValue.log.error({ code, err: error.originalError ?? error }, `graphql error: ${error.message}`);
          }
        },
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors?.length ?? 0) : 0;
          contextValue.log.info(
            { operationName: request.operationName, errors, durationMs: Math.round((performance.now() - started) * 100) / 100 },
            'graphql request',
          );
        },
      };
    },
  };
}

export async function startFacade(config: FacadeConfig, deps: FacadeDeps = {}): Promise<RunningFacade> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const ownClient = deps.flight === undefined ? new FlightClient(config.flightUrl) : undefined;
  const credentials = config.flightCredentials;
  // Reads follow the replicas' endpoint locations (replica-reads.ts); a test's own port reads as it is.
  const replicas =
    ownClient === undefined || config.locationRefreshMs === 0
      ? undefined
      : new ReplicaReads(ownClient, config.flightUrl, { refreshMs: config.locationRefreshMs, log: logger });
  const direct: FlightPort | undefined = replicas?.port() ?? ownClient;
  const flight: FlightPort =
    deps.flight ?? (credentials === undefined ? direct! : authenticatedFlight(ownClient!, credentials.user, credentials.password, direct));
  const catalog = new DatasetCatalog(flight, deps.catalogTtlMs);
  const resolvers = createResolvers({ flight, catalog, defaultDataset: config.defaultDataset });

  // Subscriptions stream through the facade's own client (a test's recording port may not stream).
  const streaming = ownClient ?? (typeof (deps.flight as Partial<FollowPort> | undefined)?.doGet === 'function' ? (deps.flight as unknown as FollowPort) : null);
  const subscriptionCount = new SubscriptionCount();
  const subscriptionResolvers = createSubscriptionResolvers(
    { follow: streaming, catalog, defaultDataset: config.defaultDataset, limits: config.subscriptions },
    subscriptionCount,
  );
  const schema = buildSubgraphSchema([
    { typeDefs, resolvers: resolvers as never },
    { typeDefs: subscriptionTypeDefs, resolvers: subscriptionResolvers as never },
  ]);
  // The same subgraph with `Series` columns as single leaves, for execution only (column-lists.ts).
  const executionSchema = buildSubgraphSchema([
    { typeDefs: columnTypeDefs(typeDefs, SERIES_COLUMNS), resolvers: { ...resolvers, ...columnScalars } as never },
    { typeDefs: subscriptionTypeDefs, resolvers: subscriptionResolvers as never },
  ]);
  const apollo = new ApolloServer<FacadeContext>({
    // Operations run compiled by graphql-jit (see jit-executor.ts).
    gateway: jitGateway(schema, { executionSchema }),
    validationRules: [queryLimitsRule(config)],
    includeStacktraceInErrorResponses: false,
    // A week of minute bars is ~1 MB of JSON: written from reused buffers (graphql-http's encoded-body.ts).
    stringifyResult,
    plugins: [requestLogPlugin(), ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControlDisabled()],
    logger,
  });
  await apollo.start();

  const http = createHttpFront<FacadeContext>({
    service: 'graphql-facade',
    apollo,
    logger,
    context: async (_req, { log }) => {
      const reader = new BarReader(flight, catalog, log);
      return { log, loaders: createLoaders(reader, catalog, new RowBudget(config.maxRows)) };
    },
    ready: async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Flight server at ${config.flightUrl} did not answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      });
      try {
        const health = await Promise.race([flight.doActionJson<Record<string, unknown>>('health', {}), timeout]);
        return { flight: health };
      } catch (err) {
        throw new Error(`Flight server at ${config.flightUrl} is unreachable: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    },
  });
  const graphqlWs = serveGraphqlWs({ http, schema, validationRules: [queryLimitsRule(config)], logger });
  const running = await listen(http, config.host, config.port);
  logger.info(
    { port: running.port, url: running.url, flightUrl: config.flightUrl, flightUser: credentials?.user },
    'graphql facade listening',
  );

  return {
    url: running.url,
    port: running.port,
    subscriptions: () => subscriptionCount.active,
    flightLocations: () => replicas?.locations() ?? [],
    close: async () => {
      replicas?.close();
      await graphqlWs.close();
      await closeServer(http);
      await apollo.stop();
      ownClient?.close();
    },
  };
}
