/** `2024-01-01T00:00:00Z` (VOD's format: UTC, whole seconds). */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * `2024-01-01T00:00:00.000Z` (OSS list results: ListParts, ListObjects, ListMultipartUploads). OSS
 * sends whole seconds with `.000`; Python's oss2 parses exactly that format and raises on others.
 */
export function isoMillis(date: Date): string {
  return `${date.toISOString().slice(0, 19)}.000Z`;
}

/** RFC 1123 (`Last-Modified`, `Date`). */
export function httpDate(date: Date): string {
  return date.toUTCString();
}

/** Cloud gateways refuse requests whose clock is off by more than this. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
