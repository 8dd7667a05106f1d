import { writeSync } from 'node:fs';
import { scrubText } from '@mediaferry/telemetry';
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { ChildLoggerOptions } from 'fastify/types/logger.js';
import { type Bindings, type DestinationStream, type Level, type Logger, pino } from 'pino';

/** Where request lines go: `info(fields, msg)` of a pino logger. */
export interface RequestLineLogger {
  info(obj: object, msg: string): void;
}

export interface RequestLoggerOptions {
  /** @defaultValue 'info' */
  level?: Level | 'silent';
  /** @defaultValue stdout, synchronous */
  destination?: DestinationStream;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * A pino destination for a busy process: the lines of one event-loop turn go out as one synchronous
 * write at the end of the turn, instead of one write(2) per line (or one thread-pool round trip per
 * line, as an asynchronous stream does). Order is kept, and nothing is lost on exit as long as
 * `flushSync()` runs then (`process.on('exit')`).
 */
export class TurnBatchedWriter implements DestinationStream {
  #pending: string[] = [];
  #scheduled = false;

  /**
   * @param fd where to write @defaultValue 1 (stdout)
   * @param maxLines written at once when reached, bounding memory @defaultValue 1024
   */
  constructor(
    private readonly fd = 1,
    private readonly maxLines = 1024,
  ) {}

  write(line: string): void {
    this.#pending.push(line);
    if (this.#pending.length >= this.maxLines) this.flushSync();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flushSync();
      }).unref();
    }
  }

  flushSync(): void {
    if (this.#pending.length === 0) return;
    let data = Buffer.from(this.#pending.join(''));
    this.#pending = [];
    while (data.length > 0) {
      try {
        data = data.subarray(writeSync(this.fd, data));
      } catch (err) {
        // A non-blocking pipe that is full: wait for the reader, as pino's synchronous stream does.
        if ((err as { code?: unknown }).code === 'EAGAIN') Atomics.wait(sleeper, 0, 0, 10);
        else return; // stdout is gone (EPIPE): a log line is not worth failing a request
      }
    }
  }
}

/**
 * Fastify's `childLoggerFactory`: the per-request logger is made on first use. Fastify makes one
 * per request, and the child of the scrubbing logger runs its redaction over the bindings, a cost
 * every request paid though successful ones never log through it (their line goes to the lean logger).
 */
export function lazyChildLogger(
  this: unknown,
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  let child: FastifyBaseLogger | undefined;
  const real = () => {
    child ??= logger.child(bindings, options);
    return child;
  };
  return {
    get level() {
      return child?.level ?? options.level ?? logger.level;
    },
    set level(level: string) {
      real().level = level;
    },
    fatal: (...args: Parameters<FastifyBaseLogger['fatal']>) => real().fatal(...args),
    error: (...args: Parameters<FastifyBaseLogger['error']>) => real().error(...args),
    warn: (...args: Parameters<FastifyBaseLogger['warn']>) => real().warn(...args),
    info: (...args: Parameters<FastifyBaseLogger['info']>) => real().info(...args),
    debug: (...args: Parameters<FastifyBaseLogger['debug']>) => real().debug(...args),
    trace: (...args: Parameters<FastifyBaseLogger['trace']>) => real().trace(...args),
    silent: (...args: Parameters<FastifyBaseLogger['silent']>) => real().silent(...args),
    child: (b: Bindings, o?: ChildLoggerOptions) => real().child(b, o),
  } as FastifyBaseLogger;
}

/**
 * A lean logger for request lines only, in the shape of the service logger's lines (`name: api`,
 * ISO time, `level` as a word). It has none of the service logger's redaction and deep scrubbing:
 * `RequestLogController` gives it nothing but known-safe scalars, so there is nothing to scrub, and
 * on a busy API that scrubbing was a tenth of the CPU of a request. Never log anything else with it.
 */
export function createRequestLogger(options: RequestLoggerOptions = {}): Logger {
  return pino(
    {
      name: 'api',
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * One plain line per request (request id, method, path without query, status, service, duration).
 * Plain fields rather than the request object: nothing there to serialize, so no header
 * (Authorization) can ever reach a log line. Successful requests go to `lines` (a
 * `createRequestLogger()`) when given, else to the request's logger; errors always go to the
 * request's logger (the scrubbing logger of @mediaferry/telemetry), as an error may carry anything.
 */
export class RequestLogController extends LogController {
  constructor(private readonly lines?: RequestLineLogger) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = {
      method: request.method,
      // A caller may put anything in a path; a URL with credentials in it is masked.
      path: scrubText(request.url.split('?')[0] ?? ''),
      status: reply.statusCode,
      service: request.service || undefined,
      ms: Math.round(reply.elapsedTime),
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    // The request's logger carries reqId in its bindings; the lean one gets it here (validated or ours).
    else if (this.lines) this.lines.info({ reqId: request.id, ...line }, 'request');
    else reply.log.info(line, 'request');
  }
}
