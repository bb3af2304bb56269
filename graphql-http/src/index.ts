/**
 * @flightdeck/graphql-http: what the three GraphQL processes (facade, user service, gateway) share:
 * the node:http front (/graphql, probes, metrics, request ids, body limit, answers written from
 * reused buffers through Apollo's `stringifyResult`), the root logger, the
 * supergraph's one DateTime scalar, the control-character rule for string inputs, and the routing
 * of WebSocket upgrades (graphql-ws) on the same port.
 */
export { isClientFault, LOG_LEVELS, type LogLevel } from './client-faults.js';
export { DateTimeScalar, parseDateTime, serializeDateTime } from './date-time.js';
export { stringifyResult } from './encoded-body.js';
export { HttpMetrics, startsWithErrors } from './http-metrics.js';
export {
  closeServer,
  createHttpFront,
  type ForwardedResponse,
  type ForwardRequest,
  listen,
  MAX_BODY_BYTES,
  NotReady,
  type HttpFrontOptions,
  type RequestScope,
  type RunningHttpServer,
} from './http-server.js';
export { argumentsFault, textFault, type TextFault } from './input-text.js';
export { createLogger, type Logger } from './logger.js';
export { closeWebSocketServer, routeUpgrades, type ClosableSocketServer, type UpgradeHandler } from './upgrade.js';
