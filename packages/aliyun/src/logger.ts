/** The logging this package needs; a pino logger fits. Never pass secrets in `fields`. */
export interface AliyunLogger {
  debug?(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: AliyunLogger = {
  info() {},
  warn() {},
};
