import { describe, expect, it } from 'vitest';
import { EmulatorConfigError, loadEmulatorConfig } from './emulator-config.js';

describe('loadEmulatorConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const c = loadEmulatorConfig({});
    expect(c).toMatchObject({
      port: 9000,
      bindHost: '0.0.0.0',
      accessKeyId: 'emulator-access-key-id',
      accessKeySecret: 'emulator-access-key-secret',
      callbackPrivateKey: 'emulator-callback-key',
      credentialTtlSeconds: 3000,
      adminToken: undefined,
      buckets: ['mediaferry-local'],
      ossSignatures: 'v1-and-v4',
      region: 'cn-shanghai',
      logLevel: 'info',
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.buckets)).toBe(true);
  });

  it('reads every EMULATOR_* variable (empty strings mean unset)', () => {
    const c = loadEmulatorConfig({
      EMULATOR_PORT: '9100',
      EMULATOR_BUCKETS: 'media-a, media-b',
      EMULATOR_ADMIN_TOKEN: 'admin-token-1',
      EMULATOR_OSS_SIGNATURES: 'v4-only',
      EMULATOR_CREDENTIAL_TTL_SECONDS: '60',
      EMULATOR_ACCESS_KEY_ID: '',
      VOD_REGION: 'cn-beijing',
    });
    expect(c).toMatchObject({
      port: 9100,
      buckets: ['media-a', 'media-b'],
      adminToken: 'admin-token-1',
      ossSignatures: 'v4-only',
      credentialTtlSeconds: 60,
      accessKeyId: 'emulator-access-key-id',
      region: 'cn-beijing',
    });
  });

  it('names every bad variable', () => {
    try {
      loadEmulatorConfig({
        EMULATOR_PORT: 'eighty',
        EMULATOR_BUCKETS: 'Bad_Bucket',
        EMULATOR_ADMIN_TOKEN: 'short',
        EMULATOR_OSS_SIGNATURES: 'v1-only',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EmulatorConfigError);
      expect((err as EmulatorConfigError).variables).toEqual(
        expect.arrayContaining([
          'EMULATOR_PORT',
          'EMULATOR_BUCKETS',
          'EMULATOR_ADMIN_TOKEN',
          'EMULATOR_OSS_SIGNATURES',
        ]),
      );
      expect((err as Error).message).toContain('EMULATOR_OSS_SIGNATURES');
    }
  });
});
