export { loadConfig, type UserServiceConfig, type LogLevel } from './config.js';
export { createLogger, type Logger } from './logger.js';
export { openDatabase, MIGRATIONS_FOLDER, type Database, type DatabaseOptions, type Backend, type Db } from './db/connect.js';
export { createUserService, startUserService, type RunningUserService, type UserServiceDeps, type StartOptions } from './user-service.js';
export { USER_SUBGRAPH_SDL, userTypeDefs } from './graphql/type-defs.js';
export { userSubgraphSchema } from './graphql/apollo.js';
export { SYMBOL, parseSymbol, parseEmail } from './validation.js';
