import type { Dispatcher } from 'undici';

/** One DNS answer, as `dns.promises.lookup(host, { all: true })` returns them. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/**
 * Resolves a hostname to every address it has. Injected in tests to make a name resolve to loopback;
 * production uses `dns.promises.lookup(hostname, { all: true, verbatim: true })`.
 */
export type LookupFunction = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** Time limits for URL sources. */
export interface UrlTimeouts {
  /**
   * Establishing a TCP/TLS connection.
   * @defaultValue 10_000
   */
  connectMs: number;
  /**
   * From sending a request to receiving the complete response headers.
   * @defaultValue 30_000
   */
  headersMs: number;
  /**
   * Longest silence from the server while the body is flowing. Time spent waiting for the caller's next
   * `read()` does not count (undici pauses its timer while the body is paused by backpressure).
   * @defaultValue 60_000
   */
  bodyIdleMs: number;
}

export const DEFAULT_URL_TIMEOUTS: Readonly<UrlTimeouts> = Object.freeze({
  connectMs: 10_000,
  headersMs: 30_000,
  bodyIdleMs: 60_000,
});

/** Redirect hops followed per request; one more is refused. */
export const MAX_REDIRECTS = 5;

/** CONTRACT §4 default of MEDIAFERRY_MAX_URL_BYTES. */
export const DEFAULT_MAX_URL_BYTES = 5 * 1024 ** 3;

/** What sources may be read: the security policy of CONTRACT §1/§4, shared by the API and the workers. */
export interface SourcePolicy {
  /** Directories file sources may come from (MEDIAFERRY_FILE_ROOTS). Empty: every file source is refused. */
  fileRoots: readonly string[];
  /**
   * Lets URL sources reach loopback, private, link-local, CGNAT (including Alibaba Cloud's metadata service
   * at 100.100.100.200) and every other non-public address (MEDIAFERRY_URL_ALLOW_PRIVATE). For tests and
   * on-prem setups only: it lets everything through, with no exception.
   */
  allowPrivate: boolean;
  /** Largest URL source in bytes (MEDIAFERRY_MAX_URL_BYTES), checked on Content-Length and while streaming. */
  maxUrlBytes: number;
  /**
   * CIDR ranges (`10.1.2.3/32`, `fd00::/8`) allowed even when `allowPrivate` is false: a narrow exception
   * for one known internal media host.
   * @defaultValue []
   */
  allowedCidrs?: readonly string[];
  /**
   * DNS resolution (tests inject one).
   * @defaultValue `dns.promises.lookup` with `{ all: true, verbatim: true }`
   */
  lookup?: LookupFunction;
  /** @defaultValue {@link DEFAULT_URL_TIMEOUTS} */
  timeouts?: Partial<UrlTimeouts>;
  /**
   * How long `assertSourceAllowed` (the API's early refusal) may reuse the roots' real paths and a
   * device's filesystem type instead of asking the kernel again; 0 asks every time. Workers reading a
   * file never use it: they check everything again on the opened descriptor.
   * @defaultValue 1000
   */
  earlyCheckCacheMs?: number;
  /**
   * The undici dispatcher URL sources use. It must enforce the same SSRF policy; build it with
   * `createGuardedDispatcher`.
   * @defaultValue one guarded dispatcher per policy object, created on first use
   */
  dispatcher?: Dispatcher;
}

/** The subset of `@mediaferry/config`'s `Config` a policy is built from (kept structural: no dependency). */
export interface SourcePolicyConfig {
  fileRoots: readonly string[];
  urlAllowPrivate: boolean;
  maxUrlBytes: number;
}

/** The policy CONTRACT §4's environment describes. */
export function sourcePolicyFromConfig(config: SourcePolicyConfig): SourcePolicy {
  return {
    fileRoots: [...config.fileRoots],
    allowPrivate: config.urlAllowPrivate,
    maxUrlBytes: config.maxUrlBytes,
  };
}

export function resolveTimeouts(timeouts: Partial<UrlTimeouts> | undefined): UrlTimeouts {
  return { ...DEFAULT_URL_TIMEOUTS, ...timeouts };
}
