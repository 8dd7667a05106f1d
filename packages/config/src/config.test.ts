import { ConfigError } from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({});
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.upload).toEqual({ partSize: 8 * 1024 * 1024, parallelism: 4 });
    expect(c.worker.concurrency).toBe(4);
    expect(c.apiPort).toBe(8080);
    expect(c.vod.endpoint).toBe('http://127.0.0.1:9000');
    expect(c.vod.accessKeyId).toBe('emulator-access-key-id');
    expect(c.maxUrlBytes).toBe(5 * 1024 ** 3);
    expect(c.fileRoots).toEqual([]);
    expect(c.urlAllowPrivate).toBe(false);
    expect(c.worker).toMatchObject({ lockDurationMs: 30_000, stalledIntervalMs: 15_000, maxStalledCount: 5 });
    expect(c.apiRateLimit).toEqual({ max: 600, windowMs: 60_000 });
  });

  it('reads the worker lock and API rate-limit knobs', () => {
    const c = loadConfig({
      WORKER_LOCK_DURATION_MS: '4000',
      WORKER_STALLED_INTERVAL_MS: '2000',
      WORKER_MAX_STALLED_COUNT: '0',
      API_RATE_LIMIT_MAX: '50',
      API_RATE_LIMIT_WINDOW_MS: '1000',
    });
    expect(c.worker).toMatchObject({ lockDurationMs: 4000, stalledIntervalMs: 2000, maxStalledCount: 0 });
    expect(c.apiRateLimit).toEqual({ max: 50, windowMs: 1000 });
    expect(() => loadConfig({ WORKER_LOCK_DURATION_MS: '10' })).toThrow(/WORKER_LOCK_DURATION_MS/);
  });

  it('parses tokens, secrets and roots, and freezes the result', () => {
    const c = loadConfig({
      MEDIAFERRY_API_TOKENS: 'svc-a:tok-a, svc-b:tok-b',
      MEDIAFERRY_WEBHOOK_SECRETS: 'svc-a:s3cret',
      MEDIAFERRY_FILE_ROOTS: '/srv/media:/data/',
      MEDIAFERRY_URL_ALLOW_PRIVATE: 'true',
    });
    expect(c.apiTokens.get('tok-b')).toBe('svc-b');
    expect(c.webhookSecrets.get('svc-a')).toBe('s3cret');
    expect(c.fileRoots).toEqual(['/srv/media', '/data']);
    expect(c.urlAllowPrivate).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.upload)).toBe(true);
  });

  it('parses the client-upload policy, ticket secret and VOD callback settings', () => {
    const c = loadConfig({
      MEDIAFERRY_CLIENT_UPLOAD_POLICY:
        '{"app":{"maxBytes":1000,"mediaTypes":["video"]},"*":{"maxOpenPerEndUser":2}}',
      MEDIAFERRY_CLIENT_UPLOAD_TICKET_SECRET: 'x'.repeat(32),
      MEDIAFERRY_VOD_CALLBACK_URL: 'https://api.example.com/v1/vod/events',
      MEDIAFERRY_VOD_CALLBACK_KEYS: 'new-key, old-key',
    });
    const app = c.clientUploads.policies.get('app');
    expect(app).toMatchObject({
      maxBytes: 1000,
      mediaTypes: ['video'],
      extensions: null,
      deadlineSeconds: 86400,
    });
    expect(c.clientUploads.policies.get('*')?.maxOpenPerEndUser).toBe(2);
    expect(c.clientUploads.vodCallbackKeys).toEqual(['new-key', 'old-key']);
    expect(c.clientUploads.vodCallbackMaxAgeSeconds).toBe(300);
    expect(c.clientUploads.reconcileIntervalMs).toBe(60_000);
    for (const [name, value] of [
      ['MEDIAFERRY_CLIENT_UPLOAD_POLICY', '{"app":{"maxBytes":-1}}'],
      ['MEDIAFERRY_CLIENT_UPLOAD_POLICY', '{"app":{"unknown":1}}'],
      ['MEDIAFERRY_CLIENT_UPLOAD_POLICY', 'not json'],
      ['MEDIAFERRY_CLIENT_UPLOAD_TICKET_SECRET', 'short'],
      ['MEDIAFERRY_VOD_CALLBACK_KEYS', 'a,b,c'],
    ]) {
      expect(() => loadConfig({ [name as string]: value }), name).toThrow(new RegExp(name as string));
    }
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ UPLOAD_PART_SIZE: '12', API_PORT: 'eighty', MEDIAFERRY_FILE_ROOTS: 'relative/dir' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('UPLOAD_PART_SIZE');
      expect(msg).toContain('API_PORT');
      expect(msg).toContain('MEDIAFERRY_FILE_ROOTS');
    }
  });

  it('parses the emulator admin token and buckets', () => {
    expect(loadConfig({}).emulator.buckets).toEqual(['mediaferry-local']);
    expect(loadConfig({}).emulator.adminToken).toBeUndefined();
    const c = loadConfig({ EMULATOR_BUCKETS: 'media-a, media-b', EMULATOR_ADMIN_TOKEN: 'admin-token-1' });
    expect(c.emulator.buckets).toEqual(['media-a', 'media-b']);
    expect(c.emulator.adminToken).toBe('admin-token-1');
    expect(() => loadConfig({ EMULATOR_BUCKETS: 'Bad_Bucket' })).toThrow(/EMULATOR_BUCKETS/);
    expect(() => loadConfig({ EMULATOR_ADMIN_TOKEN: 'short' })).toThrow(/EMULATOR_ADMIN_TOKEN/);
  });

  it('refuses malformed token lists', () => {
    expect(() => loadConfig({ MEDIAFERRY_API_TOKENS: 'no-colon' })).toThrow(/MEDIAFERRY_API_TOKENS/);
  });
});
