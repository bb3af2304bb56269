/** @flightdeck/graphql-facade: the financial subgraph, a thin translator from GraphQL onto Flight tickets. */
export { loadConfig, type FacadeConfig } from './config.js';
export { createLogger } from './logger.js';
export { startFacade, type FacadeDeps, type RunningFacade } from './facade.js';
export type { FlightPort } from './flight-port.js';
export { typeDefs } from './schema.js';
