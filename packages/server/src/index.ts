export { startServer, type RunningServer, type StartOptions } from './server.js';
export { ConfigError, resolveConfig, configFromEnv, configFromFile, mergeConfig, DEV_API_KEY, DEV_API_SECRET, type ServerConfig, type ServerConfigInput } from './config/config.js';
export { createToken, verifyToken, parseDuration, defaultGrants, type TokenClaims } from './auth/token.js';
export { turnCredentials, iceServersFor } from './ice/ice-servers.js';
export { createLogger, safeUrl, silentLogger, type Logger, type LoggerOptions } from './logger.js';
export type { WorkerPool } from './sfu/worker-pool.js';
