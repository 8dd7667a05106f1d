export {
  type ClientUploadPolicy,
  type ClientUploadPolicyInput,
  type Config,
  clientUploadPolicySchema,
  loadConfig,
  loadConfigOrExit,
  type RedisConnectionConfig,
} from './config.js';
export {
  EMULATOR_DEFAULT_ACCESS_KEY,
  isLoopbackEndpoint,
  type VodSettings,
  vodStartupFields,
} from './vod-settings.js';
