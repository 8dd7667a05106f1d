/** What the guards log with (pino's shape). */
export interface GuardLogger {
  error(obj: object, msg: string): void;
}

/**
 * The process's last line of defence, installed first thing in `main.ts`: an unhandled promise
 * rejection or an uncaught exception is logged and the process goes on serving, instead of Node's
 * default (print and exit), so one forgotten `.catch()` on a rare path (a Redis or emulator hiccup)
 * cannot take down every request or upload in the process. The log line is the bug report.
 */
export function installProcessGuards(logger: GuardLogger, proc: NodeJS.Process = process): void {
  proc.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection; the process goes on');
  });
  proc.on('uncaughtException', (err, origin) => {
    logger.error({ err, origin }, 'uncaught exception; the process goes on');
  });
}
