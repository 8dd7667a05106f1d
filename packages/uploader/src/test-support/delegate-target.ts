import type { StorageTarget } from '@mediaferry/core';

/** The real target's methods, bound, with some replaced (to time or observe a call). */
export function delegateTarget(real: StorageTarget, over: Partial<StorageTarget>): StorageTarget {
  const t: StorageTarget = {
    prepare: (o) => real.prepare(o),
    initMultipart: (s) => real.initMultipart(s),
    uploadPart: (u, n, b, o) => real.uploadPart(u, n, b, o),
    listParts: (u, s) => real.listParts(u, s),
    complete: (u, p, s) => real.complete(u, p, s),
    abort: (u, s) => real.abort(u, s),
    head: (s) => real.head(s),
    finalize: (s) => real.finalize?.(s) ?? Promise.resolve(),
    reattachForCleanup: (d, s) => real.reattachForCleanup!(d, s),
    discard: (d, s) => real.discard!(d, s),
  };
  return { ...t, ...over };
}
