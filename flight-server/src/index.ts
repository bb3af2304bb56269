export { loadConfig, type FlightServerConfig } from './config.js';
export { createLogger } from './logger.js';
export { DatasetStore, type PutOutcome } from './storage/dataset-store.js';
export { startFlightServer, createFlightService, type RunningFlightServer } from './server/server.js';
