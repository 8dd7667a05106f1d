export {
  type AdminMediaView,
  type AdminObjectView,
  type AdminUploadView,
  EmulatorAdminClient,
  EmulatorAdminError,
} from './admin/admin-client.js';
export type { RequestLogEntry } from './admin/request-log.js';
export { vodCallbackSignature } from './callbacks/callback-sender.js';
export { type Emulator, startEmulator } from './emulator.js';
export type { FaultAction, FaultRule, FaultRuleInput } from './faults/fault-injector.js';
export type { EmulatorOptions } from './options.js';
