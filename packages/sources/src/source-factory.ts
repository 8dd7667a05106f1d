import type { Source, SourceSpec } from '@mediaferry/core';
import type { Dispatcher } from 'undici';
import { FileCheckCache, LocalFileSource, resolveAllowedFile } from './local-file.source.js';
import { resolveTimeouts, type SourcePolicy } from './source-policy.js';
import { assertUrlAllowed, createGuardedDispatcher } from './ssrf-guard.js';
import { UrlSource } from './url.source.js';

/** Guarded dispatchers created for policies that did not bring one: one per policy object. */
const dispatchers = new WeakMap<SourcePolicy, Dispatcher>();

/** The dispatcher URL sources of `policy` use: `policy.dispatcher`, else one guarded Agent per policy. */
export function dispatcherFor(policy: SourcePolicy): Dispatcher {
  if (policy.dispatcher) return policy.dispatcher;
  let dispatcher = dispatchers.get(policy);
  if (!dispatcher) {
    dispatcher = createGuardedDispatcher({
      allowPrivate: policy.allowPrivate,
      allowedCidrs: policy.allowedCidrs ?? [],
      connectTimeoutMs: resolveTimeouts(policy.timeouts).connectMs,
      ...(policy.lookup ? { lookup: policy.lookup } : {}),
    });
    dispatchers.set(policy, dispatcher);
  }
  return dispatcher;
}

/**
 * Closes the dispatcher `dispatcherFor` created for `policy` (idle keep-alive sockets), if any.
 * A `policy.dispatcher` brought by the caller is the caller's to close.
 */
export async function closeSourcePolicy(policy: SourcePolicy): Promise<void> {
  const dispatcher = dispatchers.get(policy);
  if (!dispatcher) return;
  dispatchers.delete(policy);
  await dispatcher.close();
}

/** The early checks' caches (`SourcePolicy.earlyCheckCacheMs`): one per policy object. */
const checkCaches = new WeakMap<SourcePolicy, FileCheckCache | null>();

function checkCacheFor(policy: SourcePolicy): FileCheckCache | undefined {
  let cache = checkCaches.get(policy);
  if (cache === undefined) {
    const ttlMs = policy.earlyCheckCacheMs ?? 1000;
    cache = ttlMs > 0 ? new FileCheckCache(ttlMs) : null;
    checkCaches.set(policy, cache);
  }
  return cache ?? undefined;
}

/** The `Source` for a job's source spec, bound to the security policy. Nothing is read until stat/open. */
export function createSource(spec: SourceSpec, policy: SourcePolicy): Source {
  if (spec.type === 'file') return new LocalFileSource(spec.path, policy.fileRoots);
  return new UrlSource(spec.url, {
    headers: spec.headers ?? {},
    dispatcher: dispatcherFor(policy),
    maxBytes: policy.maxUrlBytes,
    ...(policy.timeouts ? { timeouts: policy.timeouts } : {}),
  });
}

/**
 * The API's early refusal, without reading or downloading anything: a file must resolve under the roots
 * to a regular file (missing → SourceNotFoundError); a URL must be http(s) and its host must resolve to an
 * allowed address (SourceForbiddenError). The worker checks again at connect time. File checks reuse the
 * roots' real paths and filesystem types for `policy.earlyCheckCacheMs`.
 */
export async function assertSourceAllowed(
  spec: SourceSpec,
  policy: SourcePolicy,
  signal?: AbortSignal,
): Promise<void> {
  if (spec.type === 'file') {
    await resolveAllowedFile(spec.path, policy.fileRoots, signal, checkCacheFor(policy));
    return;
  }
  await assertUrlAllowed(spec.url, {
    allowPrivate: policy.allowPrivate,
    allowedCidrs: policy.allowedCidrs ?? [],
    ...(policy.lookup ? { lookup: policy.lookup } : {}),
    ...(signal ? { signal } : {}),
  });
}
