import dns from 'node:dns';
import net from 'node:net';
import {
  AbortError,
  SourceForbiddenError,
  SourceNotFoundError,
  SourceUnavailableError,
  throwIfAborted,
} from '@mediaferry/core';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';
import { DEFAULT_URL_TIMEOUTS, type LookupFunction, type ResolvedAddress } from './source-policy.js';

/**
 * SSRF guard: which addresses a URL source (or a webhook) may connect to, checked on the address that is
 * ACTUALLY connected (the DNS answers the socket uses, or the literal IP), so DNS rebinding and redirects
 * cannot sneak past a check done earlier on a name.
 */

export interface AddressPolicy {
  /** Every address is allowed (loopback, private, metadata services...). @defaultValue false */
  allowPrivate?: boolean;
  /** Exceptions allowed even when `allowPrivate` is false, as CIDRs. @defaultValue [] */
  allowedCidrs?: readonly string[];
}

/** The only IPv6 space that is globally routed unicast (RFC 4291 §2.4); the rest is special or unassigned. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];
/** IPv4-compatible IPv6 (`::a.b.c.d`, deprecated): ipaddr.js calls most of it "unicast". */
const IPV4_COMPATIBLE_V6 = ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number];
/** NAT64 well-known prefix (RFC 6052): the embedded IPv4 address decides. */
const NAT64_V6 = ipaddr.parseCIDR('64:ff9b::/96') as [ipaddr.IPv6, number];

function embeddedV4(bytes: number[], offset: number): ipaddr.IPv4 {
  return new ipaddr.IPv4(bytes.slice(offset, offset + 4));
}

function isPublicV4(ip: ipaddr.IPv4): boolean {
  // 'unicast' is ipaddr.js's name for "none of the special ranges": it excludes 0/8, 10/8, 100.64/10,
  // 127/8, 169.254/16, 172.16/12, 192.168/16, multicast, 240/4 (reserved), broadcast and test nets.
  return ip.range() === 'unicast';
}

function isPublicV6(ip: ipaddr.IPv6): boolean {
  const range = ip.range();
  const bytes = ip.toByteArray();
  if (range === 'ipv4Mapped') return isPublicV4(ip.toIPv4Address());
  if (ip.match(NAT64_V6)) return isPublicV4(embeddedV4(bytes, 12));
  if (range === '6to4') return isPublicV4(embeddedV4(bytes, 2));
  if (ip.match(IPV4_COMPATIBLE_V6)) return false;
  return range === 'unicast' && ip.match(GLOBAL_UNICAST_V6);
}

/**
 * Parses `ip` as the kernel will read it, or null. IPv6 text goes through the WHATWG URL parser first
 * (which always prints hex groups): ipaddr.js reads `::a.b.c.d` as IPv4-*mapped* `::ffff:a.b.c.d`, but it
 * is IPv4-*compatible* `::/96`, and that dotted form is exactly how Node prints such DNS answers. A zone
 * id (`%eth0`) does not change an address's class and is dropped. IPv4 keeps every `inet_aton` spelling.
 */
function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (bare.includes(':')) {
    const noZone = bare.split('%')[0] ?? '';
    if (!net.isIPv6(noZone)) return null;
    try {
      return ipaddr.IPv6.parse(new URL(`http://[${noZone}]/`).hostname.slice(1, -1));
    } catch {
      return null;
    }
  }
  return ipaddr.IPv4.isValid(bare) ? ipaddr.IPv4.parse(bare) : null;
}

/**
 * Whether `ip` is anything but a public unicast address: loopback, private (RFC 1918), link-local
 * (incl. 169.254.169.254), CGNAT 100.64/10 (incl. Alibaba Cloud's metadata 100.100.100.200), unique-local,
 * unspecified, multicast, broadcast, reserved, documentation, and IPv6 forms that embed one of those
 * (IPv4-mapped, IPv4-compatible, NAT64, 6to4). Accepts every IPv4 spelling `inet_aton` accepts
 * (`2130706433`, `0x7f.1`, `0177.0.0.1`). Anything that is not an IP address is forbidden (fail closed).
 */
export function isForbiddenAddress(ip: string): boolean {
  const parsed = parseAddress(ip);
  if (parsed === null) return true;
  return parsed.kind() === 'ipv4' ? !isPublicV4(parsed as ipaddr.IPv4) : !isPublicV6(parsed as ipaddr.IPv6);
}

function inAllowedCidrs(parsed: ipaddr.IPv4 | ipaddr.IPv6, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return false;
  // IPv4-mapped is the same host as its IPv4 address (what ipaddr.process does); other embeddings are not.
  const addr =
    parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress() ? parsed.toIPv4Address() : parsed;
  return cidrs.some((cidr) => {
    const range = ipaddr.parseCIDR(cidr);
    return range[0].kind() === addr.kind() && addr.match(range);
  });
}

/** Whether the policy lets a connection go to `ip`. */
export function isAddressAllowed(ip: string, policy: AddressPolicy = {}): boolean {
  const parsed = parseAddress(ip);
  if (parsed === null) return false;
  if (policy.allowPrivate === true) return true;
  return !isForbiddenAddress(ip) || inAllowedCidrs(parsed, policy.allowedCidrs ?? []);
}

/** Fails fast on a malformed CIDR list (config errors must not surface as per-request refusals). */
export function validateCidrs(cidrs: readonly string[]): void {
  for (const cidr of cidrs) {
    if (!ipaddr.isValidCIDR(cidr)) throw new TypeError(`not a CIDR range: ${cidr}`);
  }
}

function forbiddenAddress(host: string): SourceForbiddenError {
  return new SourceForbiddenError(`refusing to connect to ${host}: not a public address`, {
    details: { reason: 'PRIVATE_ADDRESS' },
  });
}

export const defaultLookup: LookupFunction = (hostname) =>
  dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface ResolveOptions extends AddressPolicy {
  /** @defaultValue {@link defaultLookup} */
  lookup?: LookupFunction;
  signal?: AbortSignal;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError('The operation was aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Resolves `hostname` (or takes it as a literal IP) and keeps only the addresses the policy allows;
 * refuses with SourceForbiddenError when none is left. DNS failures: ENOTFOUND / ENODATA become
 * SourceNotFoundError, anything else SourceUnavailableError (retryable).
 */
export async function resolveAllowedAddresses(
  hostname: string,
  options: ResolveOptions = {},
): Promise<ResolvedAddress[]> {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const family = net.isIP(bare);
  if (family !== 0) {
    if (!isAddressAllowed(bare, options)) throw forbiddenAddress(bare);
    return [{ address: bare, family }];
  }
  let answers: readonly ResolvedAddress[];
  try {
    answers = await raceAbort((options.lookup ?? defaultLookup)(bare), options.signal);
  } catch (err) {
    if (err instanceof AbortError) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      throw new SourceNotFoundError(`host ${bare} does not resolve`, { cause: err });
    }
    throw new SourceUnavailableError(`could not resolve ${bare}`, { cause: err });
  }
  const allowed = answers.filter((a) => isAddressAllowed(a.address, options));
  if (allowed.length === 0) {
    throw new SourceForbiddenError(`refusing to connect to ${bare}: it resolves to no public address`, {
      details: { reason: 'PRIVATE_ADDRESS' },
    });
  }
  return allowed;
}

/** Scheme check: only http and https sources and callbacks exist. */
export function assertHttpUrl(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SourceForbiddenError(`URL scheme ${url.protocol} is not allowed (only http and https)`, {
      details: { reason: 'SCHEME' },
    });
  }
}

/**
 * The API's early refusal of a URL: scheme, then the host's addresses, without any connection.
 * The connection itself is guarded again by {@link createGuardedDispatcher} (DNS may change meanwhile).
 */
export async function assertUrlAllowed(url: string | URL, options: ResolveOptions = {}): Promise<URL> {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch (err) {
    throw new SourceForbiddenError('not a valid URL', { cause: err, details: { reason: 'INVALID_URL' } });
  }
  assertHttpUrl(parsed);
  await resolveAllowedAddresses(parsed.hostname, options);
  return parsed;
}

/** A `net.connect` lookup that resolves through `options.lookup` and hands the socket only allowed answers. */
function guardedNetLookup(options: ResolveOptions): net.LookupFunction {
  return (hostname, lookupOptions, callback) => {
    resolveAllowedAddresses(hostname, { ...options, signal: undefined }).then(
      (addresses) => {
        const family =
          lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : lookupOptions.family;
        const usable =
          family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        const first = usable[0];
        if (!first) {
          callback(forbiddenAddress(hostname), '', 0);
        } else if (lookupOptions.all === true) {
          callback(
            null,
            usable.map((a) => ({ address: a.address, family: a.family })),
          );
        } else {
          callback(null, first.address, first.family);
        }
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}

export interface GuardedDispatcherOptions extends AddressPolicy {
  /** @defaultValue {@link defaultLookup} */
  lookup?: LookupFunction;
  /** @defaultValue 10_000 */
  connectTimeoutMs?: number;
  /**
   * Extra undici Agent options (keep-alive, connections...). `connect` is always the guarded one, and
   * `factory` is not accepted: a custom pool factory could build clients that ignore the guarded connector.
   */
  agentOptions?: Omit<Agent.Options, 'connect' | 'factory'>;
}

/**
 * An undici Agent that refuses, before any packet is sent, to connect to an address the policy forbids:
 * literal IPs are checked as they are, names are resolved by a custom `lookup` whose every answer is
 * filtered (the socket only ever sees allowed addresses). Close it with `agent.close()`.
 */
export function createGuardedDispatcher(options: GuardedDispatcherOptions = {}): Agent {
  validateCidrs(options.allowedCidrs ?? []);
  const policy: ResolveOptions = {
    allowPrivate: options.allowPrivate ?? false,
    allowedCidrs: options.allowedCidrs ?? [],
    ...(options.lookup ? { lookup: options.lookup } : {}),
  };
  const connector = buildConnector({
    timeout: options.connectTimeoutMs ?? DEFAULT_URL_TIMEOUTS.connectMs,
    lookup: guardedNetLookup(policy),
  });
  const connect: buildConnector.connector = (connectOptions, callback) => {
    // undici strips IPv6 brackets; net.connect skips `lookup` for literal IPs, so check them here.
    if (net.isIP(connectOptions.hostname) !== 0 && !isAddressAllowed(connectOptions.hostname, policy)) {
      callback(forbiddenAddress(connectOptions.hostname), null);
      return;
    }
    connector(connectOptions, callback);
  };
  // Drop a `factory` smuggled past the type (plain JS callers): it would decide how connections are made.
  const { factory: _ignored, ...agentOptions } = (options.agentOptions ?? {}) as Agent.Options;
  return new Agent({ ...agentOptions, connect });
}
