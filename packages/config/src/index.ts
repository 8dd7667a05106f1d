export { type Config, loadConfig, loadConfigOrExit } from './config.js';
