import { loadConfigOrExit, vodStartupFields } from '@mediaferry/config';
import { createLogger } from '@mediaferry/telemetry';
import { startMetricsApp } from './app.js';

const config = loadConfigOrExit(process.env);
const logger = createLogger({ name: 'metrics', level: config.logLevel });
logger.info(vodStartupFields(config), 'VOD endpoint');

try {
  const app = await startMetricsApp({ config, logger });
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (err) {
  logger.fatal({ err }, 'metrics service failed to start');
  process.exit(1);
}
