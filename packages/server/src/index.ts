export { startServer, type RunningServer, type StartOptions } from './server.js';
export { ConfigError, resolveConfig, configFromEnv, configFromFile, mergeConfig, DEV_API_KEY, DEV_API_SECRET, type ServerConfig, type ServerConfigInput } from './config/config.js';
export { createToken, verifyToken, parseDuration, defaultGrants, type TokenClaims } from './auth/token.js';
export { turnCredentials, iceServersFor } from './ice/ice-servers.js';
export { createLogger, safeUrl, silentLogger, type Logger, type LoggerOptions } from './logger.js';
export type { WorkerPool } from './sfu/worker-pool.js';
export { signWebhook, verifyWebhook, SIGNATURE_HEADER, DEFAULT_TOLERANCE_SECONDS, type WebhookVerification } from './webhooks/signature.js';
export { WebhookSender, type WebhookPayload, type WebhookSenderOptions, type WebhookStats } from './webhooks/webhook-sender.js';
export { ROOM_EVENT_NAMES, type RoomEvent, type RoomEventName } from './rooms/room-events.js';
