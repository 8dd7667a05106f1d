/** What the guards log with (pino's shape). */
export interface GuardLogger {
  fatal(obj: object, msg: string): void;
}

export interface ProcessGuardOptions {
  logger: GuardLogger;
  /**
   * Hands in-flight work back the way SIGTERM does (a worker's jobs return to the queue, the API stops
   * accepting). Called once; the process exits when it settles or after `graceMs`, whichever is first.
   */
  shutdown: (reason: string) => Promise<void>;
  /** Longest wait for `shutdown` before exiting anyway. */
  graceMs: number;
  /** Exit code after a fault. @defaultValue 70 (EX_SOFTWARE) */
  exitCode?: number;
  /** @defaultValue `process` */
  proc?: NodeJS.Process;
}

/**
 * Fail fast on programmer errors, installed first thing in `main.ts`. After an uncaught exception Node
 * documents the process state as undefined, so carrying on risks corrupting checkpoints or serving
 * wrong answers; a crash costs little since checkpoints make any worker resume any job. On an uncaught
 * exception or unhandled rejection: log it (the bug report), hand in-flight work back through
 * `shutdown` (bounded by `graceMs`), then exit non-zero so the supervisor restarts the process. A
 * second fault while shutting down is logged and changes nothing. Returns a function that removes the
 * guards (tests).
 */
export function installProcessGuards(options: ProcessGuardOptions): () => void {
  const proc = options.proc ?? process;
  const exitCode = options.exitCode ?? 70;
  let failing = false;
  const fail = (kind: string, err: unknown, origin?: string) => {
    options.logger.fatal(
      { err, ...(origin ? { origin } : {}), alreadyFailing: failing },
      `${kind}; handing work back and exiting`,
    );
    if (failing) return;
    failing = true;
    const timer = setTimeout(() => proc.exit(exitCode), options.graceMs);
    timer.unref();
    let done: Promise<void>;
    try {
      done = options.shutdown(kind);
    } catch (caught) {
      done = Promise.reject(caught);
    }
    done
      .catch((caught: unknown) => options.logger.fatal({ err: caught }, 'shutdown after a fault failed'))
      .finally(() => {
        clearTimeout(timer);
        proc.exit(exitCode);
      });
  };
  const onRejection = (reason: unknown) => fail('unhandled promise rejection', reason);
  const onException = (err: Error, origin: string) => fail('uncaught exception', err, origin);
  proc.on('unhandledRejection', onRejection);
  proc.on('uncaughtException', onException);
  return () => {
    proc.off('unhandledRejection', onRejection);
    proc.off('uncaughtException', onException);
  };
}
