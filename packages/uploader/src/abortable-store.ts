import { AbortError } from '@mediaferry/core';
import type { CheckpointStore } from './checkpoint-store.js';

/** Settles with `promise`, or rejects with AbortError as soon as `signal` aborts (the call runs on). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new AbortError(`checkpoint ${what} aborted`, { cause: signal.reason }));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(`checkpoint ${what} aborted`, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * The store, with every call ending at once when `signal` aborts. While Redis is unreachable the
 * worker's connection queues commands until it is back; a shutdown or cancel must not wait for that.
 * Abandoning a call is safe: every write is owner-conditional and idempotent, and a part whose record
 * was abandoned is only uploaded again on resume (it is "unrecorded").
 */
export function abortableStore(store: CheckpointStore, signal: AbortSignal): CheckpointStore {
  return {
    get: (k) => raceAbort(store.get(k), signal, 'get'),
    create: (k, o, s) => raceAbort(store.create(k, o, s), signal, 'create'),
    claim: (k, o, c) => raceAbort(store.claim(k, o, c), signal, 'claim'),
    update: (k, o, p, c) => raceAbort(store.update(k, o, p, c), signal, 'update'),
    recordPart: (k, o, p) => raceAbort(store.recordPart(k, o, p), signal, 'record'),
    assertOwner: (k, o) => raceAbort(store.assertOwner(k, o), signal, 'ownership check'),
    delete: (k, o) => raceAbort(store.delete(k, o), signal, 'delete'),
  };
}
