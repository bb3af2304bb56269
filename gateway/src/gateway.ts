/**
 * `startGateway(config)`: Apollo Gateway serving the supergraph of the financial (facade) and user
 * subgraphs. Local default: wait until both subgraphs answer (bounded, logged), then
 * IntrospectAndCompose from their URLs. Production: `SUPERGRAPH_FILE` names a supergraph written by
 * `npm run compose -w gateway`, served as is.
 */
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import type { GatewayConfig } from './config.js';
import { closeServer, createHttpFront, listen, stringifyResult } from '@flightdeck/graphql-http';
import { serveExplorer } from './explorer-assets.js';
import { createLogger } from './logger.js';
import { passThrough } from './pass-through.js';
import { singleSubgraphGateway } from './single-subgraph.js';
import { refusalStatusPlugin, SubgraphDataSource, type GatewayContext } from './subgraph-data-source.js';
import { waitForSubgraphs } from './subgraphs.js';
import { proxySubscriptions, subscriptionsOverHttpPlugin, watchSupergraph } from './subscriptions.js';

export type { GatewayContext } from './subgraph-data-source.js';

export interface RunningGateway {
  url: string;
  port: number;
  /** Where the supergraph came from: `introspection` or the file's absolute path. */
  supergraphSource: string;
  close(): Promise<void>;
}

export interface GatewayDeps {
  logger?: Logger;
}

function requestLogPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          contextValue.log.info(
            {
              operationName: request.operationName,
              errors: errors.length,
              codes: errors.length > 0 ? [...new Set(errors.map((e) => e.extensions?.code))] : undefined,
              durationMs: Math.round((performance.now() - started) * 100) / 100,
            },
            'graphql request',
          );
        },
      };
    },
  };
}

export async function startGateway(config: GatewayConfig, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  let supergraphSdl: string | IntrospectAndCompose;
  let supergraphSource: string;
  if (config.supergraphFile !== undefined) {
    supergraphSource = resolve(config.supergraphFile);
    supergraphSdl = await readFile(supergraphSource, 'utf8').catch((err: Error) => {
      throw new Error(`SUPERGRAPH_FILE=${config.supergraphFile}: cannot read ${supergraphSource}: ${err.message}`);
    });
  } else {
    supergraphSource = 'introspection';
    await waitForSubgraphs(config.subgraphs, { timeoutMs: config.startupTimeoutMs, logger });
    supergraphSdl = new IntrospectAndCompose({
      subgraphs: config.subgraphs.map((s) => ({ name: s.name, url: s.url })),
      ...(config.pollIntervalMs > 0 ? { pollIntervalInMs: config.pollIntervalMs } : {}),
      logger,
    });
  }

  // The data source of each subgraph, as the gateway builds it (the single-subgraph path uses the same).
  const dataSources = new Map<string, SubgraphDataSource>();
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger,
    buildService: ({ name, url }) => {
      const dataSource = new SubgraphDataSource({
        url,
        // Node's own fetch (undici, keep-alive): cheaper per request than the default
        // make-fetch-happen (retry and cache layers over node-fetch), which this gateway never uses.
        fetcher: globalThis.fetch as unknown as NonNullable<ConstructorParameters<typeof SubgraphDataSource>[0]>['fetcher'],
        willSendRequest({ request, context }) {
          if (context.reqId) request.http?.headers.set('x-request-id', context.reqId);
        },
      });
      dataSources.set(name, dataSource);
      return dataSource;
    },
  });
  const live = watchSupergraph(gateway, config.subgraphs.find((s) => s.name === 'financial')?.url ?? config.subgraphs[0]!.url);
  // Operations one subgraph answers whole skip the query planner (see single-subgraph.ts), and
  // over POST skip Apollo Server's parse and serialize of the answer too (pass-through.ts).
  const routed = singleSubgraphGateway(gateway, { dataSource: (name) => dataSources.get(name), logger });
  const bytes = passThrough({ routeOf: (query, operationName) => routed.routeOf(query, operationName), urlOf: (name) => dataSources.get(name)?.url });
  const apollo = new ApolloServer<GatewayContext>({
    gateway: routed,
    logger,
    // Answers are written from reused buffers (graphql-http's encoded-body.ts).
    stringifyResult,
    includeStacktraceInErrorResponses: false,
    plugins: [requestLogPlugin(), refusalStatusPlugin(), subscriptionsOverHttpPlugin(), ApolloServerPluginCacheControlDisabled()],
  });
  await apollo.start();

  let started = true;
  const http = createHttpFront<GatewayContext>({
    service: 'gateway',
    apollo,
    logger,
    context: async (_req, { reqId, log }) => ({ reqId, log, subgraphs: { executed: 0, refused: [] } }),
    forward: bytes.forward,
    ready: async () => {
      if (!started) throw new Error('gateway is stopping');
      return { supergraph: supergraphSource };
    },
  });
  serveExplorer(http, { dir: config.explorerDir, logger });
  const subscriptions = proxySubscriptions({ http, ...live, maxBuffered: config.subscriptionBuffer, logger });
  const running = await listen(http, config.host, config.port);
  logger.info({ port: running.port, url: running.url, supergraph: supergraphSource, subgraphs: config.subgraphs }, 'gateway listening');

  return {
    url: running.url,
    port: running.port,
    supergraphSource,
    close: async () => {
      started = false;
      await subscriptions.close();
      await closeServer(http);
      bytes.close();
      await apollo.stop();
    },
  };
}
