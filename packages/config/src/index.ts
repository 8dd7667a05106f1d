export { type Config, loadConfig, loadConfigOrExit, type RedisConnectionConfig } from './config.js';
