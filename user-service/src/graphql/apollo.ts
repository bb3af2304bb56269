/**
 * The Apollo Server for the user subgraph: schema, error masking and error logging. Client faults
 * are logged at info; anything else is logged at error and reaches the client only as
 * "internal error" (driver errors carry SQL and parameters).
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { stringifyResult } from '@flightdeck/graphql-http';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isClientFault } from '../errors.js';
import type { Logger } from '../logger.js';
import type { UserContext } from './context.js';
import { resolvers } from './resolvers.js';
import { userTypeDefs } from './type-defs.js';

export const userSubgraphSchema = buildSubgraphSchema([{ typeDefs: userTypeDefs, resolvers }]);

const INTERNAL = 'INTERNAL_SERVER_ERROR';

/** True for errors this service raised on purpose or that graphql-js/Apollo raised about the request. */
function isExpected(error: unknown): boolean {
  if (!(error instanceof GraphQLError)) return false;
  const original = error.originalError;
  // A resolver threw something that is not a GraphQLError: a bug or an infrastructure fault.
  return original === undefined || original instanceof GraphQLError;
}

const logErrors: ApolloServerPlugin<UserContext> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors, operationName }) {
        for (const error of errors) {
          const code = error.extensions?.code ?? INTERNAL;
          const path = error.path?.join('.');
          if (isClientFault(code) && isExpected(error)) {
            contextValue.logger.info({ code, path, operationName, error: error.message }, 'graphql client error');
          } else {
            contextValue.logger.error({ code, path, operationName, err: error.originalError ?? error }, 'graphql internal error');
          }
        }
      },
    };
  },
};

export function createApollo(logger: Logger): ApolloServer<UserContext> {
  return new ApolloServer<UserContext>({
    schema: userSubgraphSchema,
    logger,
    // Answers are written from reused buffers (graphql-http's encoded-body.ts).
    stringifyResult,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGINT/SIGTERM: it stops the server, then closes the database.
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControlDisabled(), logErrors],
    formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
      const code = formatted.extensions?.code;
      if (isExpected(error) && code !== INTERNAL && code !== undefined) return formatted;
      return {
        message: 'internal error',
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: INTERNAL },
      };
    },
  });
}
