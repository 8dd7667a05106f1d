import { createRequire } from 'node:module';
import { crc64Js } from './crc64-js.js';

/** A CRC-64/XZ kernel: continues the finished CRC `crc` over `data`. */
export type Crc64Fn = (data: Uint8Array, crc: bigint) => bigint;

/**
 * Which kernel `crc64()` runs:
 * - `native-clmul`: the addon's PCLMULQDQ folding (x86-64 with PCLMUL), ~14 GB/s here;
 * - `native-table`: the addon's slice-by-16 table, for CPUs without PCLMUL, ~2.7 GB/s;
 * - `js`: portable slice-by-16 JavaScript, ~1–1.5 GB/s, always available.
 */
export type Crc64ImplName = 'native-clmul' | 'native-table' | 'js';

/** The addon built by scripts/build-native.mjs from native/crc64.c. */
interface NativeAddon {
  crc64: Crc64Fn;
  crc64Table: Crc64Fn;
  kernel: 'clmul' | 'table';
}

/** Same relative path from src/ (tests) and dist/ (runtime). */
const ADDON_PATH = '../build/Release/crc64.node';

function loadAddon(): { addon?: NativeAddon; error?: Error } {
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon };
  } catch (err) {
    return { error: err as Error };
  }
}

const loaded = loadAddon();

/** Every kernel that loaded in this process (the addon's only where it was built and loads). */
export const crc64Implementations: Partial<Record<Crc64ImplName, Crc64Fn>> = { js: crc64Js };
if (loaded.addon) {
  crc64Implementations['native-table'] = loaded.addon.crc64Table;
  if (loaded.addon.kernel === 'clmul') crc64Implementations['native-clmul'] = loaded.addon.crc64;
}

/** Why the addon did not load (undefined when it did): usually "not built". */
export const nativeLoadError: Error | undefined = loaded.error;

/** The env variable that forces a kernel; see {@link selectCrc64Implementation}. */
export const IMPL_ENV = 'MEDIAFERRY_CRC64_IMPL';

/**
 * Picks the kernel named by `MEDIAFERRY_CRC64_IMPL`:
 * - unset, empty or `auto`: the fastest that loaded (`native-clmul` > `native-table` > `js`);
 * - `js`: the JavaScript kernel, even when the addon is there;
 * - `native`: the addon's best kernel, and an error when the addon did not load;
 * - `native-clmul` / `native-table`: that kernel, and an error when it is not available.
 * @throws Error for any other value, or a forced kernel that is not available.
 */
export function selectCrc64Implementation(value: string | undefined): { name: Crc64ImplName; fn: Crc64Fn } {
  const pick = (name: Crc64ImplName) => {
    const fn = crc64Implementations[name];
    if (fn) return { name, fn };
    const why = nativeLoadError ? `: ${nativeLoadError.message}` : '';
    throw new Error(`${IMPL_ENV}=${value} but the ${name} kernel is not available${why}`);
  };
  switch (value ?? '') {
    case '':
    case 'auto':
      return crc64Implementations['native-clmul']
        ? pick('native-clmul')
        : crc64Implementations['native-table']
          ? pick('native-table')
          : pick('js');
    case 'native':
      return crc64Implementations['native-clmul'] ? pick('native-clmul') : pick('native-table');
    case 'js':
    case 'native-clmul':
    case 'native-table':
      return pick(value as Crc64ImplName);
    default:
      throw new Error(`${IMPL_ENV} must be auto, js, native, native-clmul or native-table; got "${value}"`);
  }
}
