import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Paths redacted from every log line, wherever they appear. */
export const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'client_secret', '*.client_secret',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie',
  'env.JUPYTERHUB_API_TOKEN', '*.env.JUPYTERHUB_API_TOKEN', 'JUPYTERHUB_API_TOKEN',
  'clientSecret', '*.clientSecret', '*.*.clientSecret',
];

/** The root logger: JSON lines, secrets redacted. Components take `logger.child({ component })`. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } }, destination);
}
