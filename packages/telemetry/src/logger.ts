import { type DestinationStream, type Level, type Logger, pino } from 'pino';
import { REDACTED, scrubText, scrubValue } from './redact.js';

export type LogLevel = Level | 'silent';
export type { Logger };

export interface LoggerOptions {
  /** Lowest level written. @defaultValue 'info' */
  level?: LogLevel;
  /** Process role (`api`, `worker`, ...), written as `name` on every line. */
  name: string;
  /** Where lines go. @defaultValue stdout (synchronous, so nothing is lost on exit) */
  destination?: DestinationStream;
}

/**
 * Well-known secret locations, masked by pino itself (fast, and a second line of defence should
 * the deep scrub in `formatters.log` ever be bypassed). `*` matches one level of nesting.
 */
const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'accessKeySecret',
  'AccessKeySecret',
  'securityToken',
  'SecurityToken',
  'UploadAuth',
  'uploadAuth',
  'token',
  'secret',
  'password',
];
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
  'source.headers',
  '*.source.headers',
  '*.*.source.headers',
];

/**
 * A pino logger that never writes a secret: keys naming secrets (`*secret*`, `*token*`,
 * `authorization`, `uploadAuth`, ...) are replaced by `[Redacted]` at any depth, all headers of a
 * URL source are masked, and credentials inside URLs (user-info, `Signature=`, `security-token=`)
 * are masked anywhere in the line, messages included. Child loggers' bindings get the same treatment.
 */
const std = pino.stdSerializers;

/**
 * pino runs `formatters.log` before its serializers, so the deep scrub would turn an
 * IncomingMessage or ServerResponse into `{}`. Serialize the well-known objects first (the same
 * shapes pino/Fastify would write), then scrub the plain result.
 */
function serializeKnown(object: Record<string, unknown>): Record<string, unknown> {
  let out = object;
  const set = (key: string, value: unknown) => {
    if (out === object) out = { ...object };
    out[key] = value;
  };
  const { req, res, err, error } = object as { req?: unknown; res?: unknown; err?: unknown; error?: unknown };
  if (req && typeof req === 'object' && 'method' in req && 'headers' in req)
    set('req', std.req(req as never));
  if (res && typeof res === 'object' && 'statusCode' in res && 'getHeaders' in res)
    set('res', std.res(res as never));
  if (err instanceof Error) set('err', std.err(err));
  if (error instanceof Error) set('error', std.err(error));
  return out;
}

export function createLogger(options: LoggerOptions): Logger {
  // formatters.log has already turned errors into plain, scrubbed objects; this covers child bindings.
  const errSerializer = (err: unknown) => scrubValue(err);
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      serializers: { err: errSerializer, error: errSerializer },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => scrubValue(bindings) as Record<string, unknown>,
        log: (object) => scrubValue(serializeKnown(object)) as Record<string, unknown>,
      },
      hooks: {
        // Interpolation arguments (`log.info('payload %j', obj)`) skip formatters.log: scrub them here.
        logMethod(args, method) {
          const firstArg = typeof args[0] === 'string' ? 1 : 2;
          if (args.length > firstArg) {
            const scrubbed = args.map((a, i) => (i >= firstArg ? scrubValue(a) : a)) as typeof args;
            return method.apply(this, scrubbed);
          }
          return method.apply(this, args);
        },
        // The serialized line: the last chance to catch a signed URL in a message or an error text.
        streamWrite: (line) => scrubText(line),
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
