import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | null | undefined;

/**
 * Asks V8 for a major GC, run asynchronously (it does not stall the event loop): part buffers live
 * outside the JS heap, which V8 only sees through its external-memory limit, so without this the
 * buffers an idle worker dropped could stay resident until some later allocation pressure. `gc` is
 * obtained the way the `expose-gc` package does (the flag, then a fresh context), visible to this module
 * only. A runtime without it: V8 collects on its own schedule.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      gc = (globalThis as { gc?: Gc }).gc ?? null;
      if (!gc) {
        setFlagsFromString('--expose-gc');
        gc = runInNewContext('gc') as Gc;
      }
    } catch {
      gc = null;
    }
  }
  gc?.({ type: 'major', execution: 'async' });
}
