import { ConfigError } from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { isLoopbackEndpoint, vodStartupFields } from './vod-settings.js';

describe('VOD settings fail closed', () => {
  it("uses the emulator's pair for an unset or loopback VOD_ENDPOINT, and says so", () => {
    for (const endpoint of [
      undefined,
      'http://127.0.0.1:9000',
      'http://localhost:9100',
      'http://[::1]:9000',
    ]) {
      const c = loadConfig(endpoint ? { VOD_ENDPOINT: endpoint } : {});
      expect(c.vod).toMatchObject({
        accessKeyId: 'emulator-access-key-id',
        accessKeySecret: 'emulator-access-key-secret',
        credentialSource: 'emulator-default',
      });
    }
    expect(vodStartupFields(loadConfig({}))).toEqual({
      vodEndpoint: 'http://127.0.0.1:9000',
      vodRegion: 'cn-shanghai',
      vodAccessKeyFrom: 'emulator-default',
    });
  });

  it('refuses any other endpoint without ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, naming both', () => {
    for (const endpoint of [
      'https://vod.cn-shanghai.aliyuncs.com',
      'http://emulator:9000',
      'http://10.0.0.5',
    ]) {
      let caught: unknown;
      try {
        loadConfig({ VOD_ENDPOINT: endpoint });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toContain('ALIBABA_CLOUD_ACCESS_KEY_ID');
      expect((caught as Error).message).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
      expect((caught as ConfigError).details?.variables).toEqual([
        'ALIBABA_CLOUD_ACCESS_KEY_ID',
        'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
      ]);
    }
  });

  it('uses the pair from the environment for any endpoint; half a pair is refused', () => {
    const c = loadConfig({
      VOD_ENDPOINT: 'https://vod.cn-shanghai.aliyuncs.com',
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI-id',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'the-secret',
    });
    expect(c.vod).toMatchObject({ accessKeyId: 'LTAI-id', credentialSource: 'environment' });
    expect(vodStartupFields(c)).not.toHaveProperty('accessKeySecret');
    expect(JSON.stringify(vodStartupFields(c))).not.toContain('the-secret');
    expect(() => loadConfig({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI-id' })).toThrow(
      /ALIBABA_CLOUD_ACCESS_KEY_SECRET/,
    );
  });

  it('recognises loopback endpoints only', () => {
    expect(isLoopbackEndpoint('127.0.0.1:9000')).toBe(true);
    expect(isLoopbackEndpoint('http://127.1.2.3')).toBe(true);
    expect(isLoopbackEndpoint('http://127.0.0.1.example.com')).toBe(false);
    expect(isLoopbackEndpoint('http://localhost.evil.com')).toBe(false);
    expect(isLoopbackEndpoint('http://0.0.0.0:9000')).toBe(false);
    expect(isLoopbackEndpoint('not a url at all')).toBe(false);
  });
});
