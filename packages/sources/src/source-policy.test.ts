import { loadConfig } from '@mediaferry/config';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_URL_BYTES,
  DEFAULT_URL_TIMEOUTS,
  resolveTimeouts,
  sourcePolicyFromConfig,
} from './source-policy.js';

describe('sourcePolicyFromConfig', () => {
  it('takes roots, allowPrivate and the URL size limit from the environment (CONTRACT §4)', () => {
    const policy = sourcePolicyFromConfig(
      loadConfig({
        MEDIAFERRY_FILE_ROOTS: '/srv/media:/data',
        MEDIAFERRY_URL_ALLOW_PRIVATE: 'true',
        MEDIAFERRY_MAX_URL_BYTES: '1048576',
      }),
    );
    expect(policy).toEqual({ fileRoots: ['/srv/media', '/data'], allowPrivate: true, maxUrlBytes: 1048576 });
  });

  it('defaults: no file roots, private addresses refused, 5 GiB', () => {
    const policy = sourcePolicyFromConfig(loadConfig({}));
    expect(policy).toEqual({ fileRoots: [], allowPrivate: false, maxUrlBytes: DEFAULT_MAX_URL_BYTES });
    expect(DEFAULT_MAX_URL_BYTES).toBe(5 * 1024 ** 3);
  });
});

describe('resolveTimeouts', () => {
  it('fills what is not given with the defaults', () => {
    expect(resolveTimeouts(undefined)).toEqual(DEFAULT_URL_TIMEOUTS);
    expect(resolveTimeouts({ headersMs: 5 })).toEqual({ ...DEFAULT_URL_TIMEOUTS, headersMs: 5 });
    expect(Object.isFrozen(DEFAULT_URL_TIMEOUTS)).toBe(true);
  });
});
