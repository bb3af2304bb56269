/**
 * How the gateway talks to a subgraph, and what it answers when a subgraph refuses.
 *
 * A subgraph refuses a request it cannot run at all (a value its scalar rejects, a limit of its
 * own, a body too large) with a non-2xx status and a GraphQL response holding only `errors`.
 * Apollo Gateway's RemoteGraphQLDataSource turns any non-2xx answer into the one error
 * "400: Bad Request" with code INTERNAL_SERVER_ERROR, the subgraph's errors buried in
 * `extensions.response` (beside the subgraph's URL). {@link SubgraphDataSource} passes those errors
 * through as the subgraph wrote them (message, `extensions.code` and the rest), exactly like the
 * errors of a 200 answer; the gateway adds `extensions.serviceName`. A non-2xx answer that is not a
 * GraphQL response (a proxy's error page) keeps Apollo's handling.
 *
 * {@link refusalStatusPlugin} then sets the gateway's HTTP status: when every subgraph request of
 * the plan was refused, nothing executed, and the gateway answers as the subgraph did: its status
 * (400, 413; several different 4xx: 400; any 5xx: 502), the errors, no `data`. When any subgraph
 * executed, the answer is 200 with the data there is and every error.
 */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';

type FetcherResponse = Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0];
type GatewayGraphQLResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

/** What the subgraph requests of one gateway request came to. */
export interface SubgraphOutcomes {
  /** Subgraph requests answered with 2xx (the subgraph executed, maybe with errors). */
  executed: number;
  /** HTTP statuses of the subgraph requests refused with a GraphQL error response. */
  refused: number[];
}

export interface GatewayContext {
  reqId: string;
  log: Logger;
  subgraphs: SubgraphOutcomes;
}

/** A non-2xx subgraph answer whose body is a GraphQL response with errors; never leaves this module. */
class SubgraphRefusal extends GraphQLError {
  constructor(
    readonly status: number,
    readonly errors: GraphQLFormattedError[],
  ) {
    super(`subgraph refused the request with HTTP ${status}`);
  }
}

function graphqlErrorsOf(body: unknown): GraphQLFormattedError[] | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { errors } = body as { errors?: unknown };
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const wellFormed = errors.every((e) => e !== null && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string');
  return wellFormed ? (errors as GraphQLFormattedError[]) : undefined;
}

export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const text = await response.text();
    let body: unknown = text;
    if (/^application\/(graphql-response\+)?json/i.test(response.headers.get('content-type') ?? '')) {
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON after all: Apollo's error below carries the text.
      }
    }
    const errors = graphqlErrorsOf(body);
    if (errors !== undefined) return new SubgraphRefusal(response.status, errors);
    // What RemoteGraphQLDataSource.errorFromResponse makes (it would read the body a second time).
    const extensions: Record<string, unknown> = {
      response: { url: response.url, status: response.status, statusText: response.statusText, body },
    };
    if (response.status === 401) extensions.code = 'UNAUTHENTICATED';
    else if (response.status === 403) extensions.code = 'FORBIDDEN';
    return new GraphQLError(`${response.status}: ${response.statusText}`, { extensions });
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    // Schema loading and health checks come with an empty context: nothing to record.
    const outcomes = (options.context as Partial<GatewayContext> | undefined)?.subgraphs;
    try {
      const response = await super.process(options);
      if (outcomes) outcomes.executed++;
      return response;
    } catch (error) {
      if (!(error instanceof SubgraphRefusal)) throw error;
      outcomes?.refused.push(error.status);
      return { errors: error.errors };
    }
  }
}

/** The gateway's HTTP status and body when every subgraph request was refused (see the module comment). */
export function refusalStatusPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const { executed, refused } = contextValue.subgraphs;
          if (executed > 0 || refused.length === 0 || response.body.kind !== 'single') return;
          const [first] = refused as [number];
          response.http.status = refused.some((s) => s >= 500) ? 502 : refused.every((s) => s === first) ? first : 400;
          delete response.body.singleResult.data;
        },
      };
    },
  };
}
