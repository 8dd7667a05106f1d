export {
  type ClientUploadPolicy,
  type ClientUploadPolicyInput,
  type Config,
  clientUploadPolicySchema,
  loadConfig,
  loadConfigOrExit,
} from './config.js';
