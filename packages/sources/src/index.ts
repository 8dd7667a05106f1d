export {
  DEFAULT_FILE_NAME,
  type FileNameHints,
  type InferredFileName,
  inferFileName,
  normalizeContentType,
  sanitizeFileName,
} from './file-name.js';
export {
  fileFingerprint,
  LocalFileSource,
  type ResolvedFile,
  resolveAllowedFile,
} from './local-file.source.js';
export { assertSourceAllowed, closeSourcePolicy, createSource, dispatcherFor } from './source-factory.js';
export {
  DEFAULT_MAX_URL_BYTES,
  DEFAULT_URL_TIMEOUTS,
  type LookupFunction,
  MAX_REDIRECTS,
  type ResolvedAddress,
  type SourcePolicy,
  type SourcePolicyConfig,
  sourcePolicyFromConfig,
  type UrlTimeouts,
} from './source-policy.js';
export {
  type AddressPolicy,
  assertHttpUrl,
  assertUrlAllowed,
  createGuardedDispatcher,
  defaultLookup,
  type GuardedDispatcherOptions,
  isAddressAllowed,
  isForbiddenAddress,
  type ResolveOptions,
  resolveAllowedAddresses,
} from './ssrf-guard.js';
export { UrlSource, type UrlSourceOptions } from './url.source.js';
export { describeUrl } from './url-request.js';
