/** @flightdeck/gateway: the supergraph of the financial and user subgraphs (wiring only). */
export { loadConfig, type GatewayConfig, type SubgraphEndpoint } from './config.js';
export { createLogger } from './logger.js';
export { startGateway, type GatewayDeps, type RunningGateway } from './gateway.js';
export { composeSupergraph } from './compose.js';
export { fetchSdl, waitForSubgraphs, type SubgraphSdl } from './subgraphs.js';
