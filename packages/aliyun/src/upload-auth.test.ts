import { inspect } from 'node:util';
import { VodError } from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import { decodeUploadAddress, decodeUploadAuth, UploadCredentials } from './upload-auth.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

const AUTH = {
  SecurityToken: 'CAIS-secret-token-value',
  AccessKeyId: 'STS.abc',
  ExpireUTCTime: '2031-12-30T03:48:58Z',
  AccessKeySecret: 'super-secret-value',
  Expiration: '3600',
  Region: 'cn-beijing',
};

describe('decodeUploadAddress', () => {
  it('decodes VOD address JSON and keeps the scheme', () => {
    const address = decodeUploadAddress(
      b64({ Endpoint: 'https://oss-cn-beijing.aliyuncs.com', Bucket: 'outin-1', FileName: 'sv/1/2.mp4' }),
    );
    expect(address).toEqual({
      endpoint: 'https://oss-cn-beijing.aliyuncs.com',
      bucket: 'outin-1',
      objectKey: 'sv/1/2.mp4',
    });
  });

  it('adds https:// when VOD strips the scheme', () => {
    const address = decodeUploadAddress(
      b64({ Endpoint: 'oss-cn-beijing.aliyuncs.com', Bucket: 'b1', FileName: 'k' }),
    );
    expect(address.endpoint).toBe('https://oss-cn-beijing.aliyuncs.com');
  });

  it.each([
    ['missing', undefined],
    ['not base64', '%%%not-base64%%%'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64')],
    ['missing Bucket', b64({ Endpoint: 'http://x', FileName: 'k' })],
    ['empty FileName', b64({ Endpoint: 'http://x', Bucket: 'b', FileName: '' })],
  ])('refuses a malformed address (%s) with a fatal VodError', (_label, value) => {
    try {
      decodeUploadAddress(value);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VodError);
      expect((err as VodError).retryable).toBe(false);
      expect((err as Error).message).toMatch(/malformed UploadAddress/);
    }
  });
});

describe('decodeUploadAuth', () => {
  it('decodes a valid credential with ExpireUTCTime as the expiry', () => {
    const now = new Date('2031-12-30T02:48:58Z');
    const creds = decodeUploadAuth(b64(AUTH), 'cn-shanghai', now);
    expect(creds.accessKeyId).toBe('STS.abc');
    expect(creds.accessKeySecret).toBe('super-secret-value');
    expect(creds.securityToken).toBe('CAIS-secret-token-value');
    expect(creds.region).toBe('cn-beijing');
    expect(creds.expiresAt.toISOString()).toBe('2031-12-30T03:48:58.000Z');
    expect(creds.lifetimeMs).toBe(3600_000);
    expect(creds.isExpired(now)).toBe(false);
  });

  it('falls back to now + Expiration seconds, and to the client region', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const { ExpireUTCTime: _e, Region: _r, ...rest } = AUTH;
    const creds = decodeUploadAuth(b64({ ...rest, Expiration: '3000' }), 'cn-shanghai', now);
    expect(creds.expiresAt.toISOString()).toBe('2030-01-01T00:50:00.000Z');
    expect(creds.region).toBe('cn-shanghai');
  });

  it('decodes an expired credential and reports it as expired', () => {
    const creds = decodeUploadAuth(b64({ ...AUTH, ExpireUTCTime: '2020-01-01T00:00:00Z' }));
    expect(creds.isExpired()).toBe(true);
    expect(creds.remainingMs()).toBeLessThan(0);
  });

  it.each([
    ['no SecurityToken', { ...AUTH, SecurityToken: undefined }],
    ['no expiry at all', { ...AUTH, ExpireUTCTime: 'soon', Expiration: 'never' }],
    ['secret is a number', { ...AUTH, AccessKeySecret: 42 }],
  ])('refuses %s without echoing the secret', (_label, value) => {
    try {
      decodeUploadAuth(b64(value));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VodError);
      expect((err as Error).message).toMatch(/malformed UploadAuth/);
      expect((err as Error).message).not.toContain('super-secret-value');
      expect((err as Error).message).not.toContain('CAIS-secret');
    }
  });

  it('masks the secret and token in JSON, inspect, string and spread', () => {
    const creds = decodeUploadAuth(b64(AUTH));
    const outputs = [
      JSON.stringify(creds),
      inspect(creds),
      String(creds),
      JSON.stringify({ ...creds }),
      `${creds}`,
    ];
    for (const out of outputs) {
      expect(out).not.toContain('super-secret-value');
      expect(out).not.toContain('CAIS-secret-token-value');
    }
    expect(JSON.parse(JSON.stringify(creds))).toMatchObject({
      accessKeyId: 'STS.abc',
      accessKeySecret: '***',
      securityToken: '***',
    });
    expect(inspect({ nested: { creds } })).not.toContain('super-secret-value');
    expect(creds).toBeInstanceOf(UploadCredentials);
  });
});
