import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear in a log object. Tokens, the API key and anything that
 * looks like an auth header or a Slack response_url never reach a log line.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  'appToken',
  'signingSecret',
  'apiKey',
  '*.apiKey',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  'config.cotoolApiKey',
  'config.slackBotToken',
  'config.slackAppToken',
  'config.slackSigningSecret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'response_url',
  '*.response_url',
  'trigger_id',
  '*.trigger_id',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { app: 'cotool-slack' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Strings that must never appear in output, for a last-line filter on error messages. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]');
  return out;
}
