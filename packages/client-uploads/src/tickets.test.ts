import { describe, expect, it } from 'vitest';
import { signTicket, verifyTicket } from './tickets.js';
import { checkVodCallback, eventMediaId, vodCallbackSignature } from './vod-callback.js';

const SECRET = 's'.repeat(40);
const claims = {
  service: 'svc',
  endUserId: 'u',
  constraints: { maxBytes: 10 },
  issuedAt: 1,
  expiresAt: 10_000,
};

describe('tickets', () => {
  it('verify what was signed, refuse tampering, another secret and expiry', () => {
    const { ticket, claims: signed } = signTicket(SECRET, claims);
    expect(verifyTicket(SECRET, ticket, 5000)).toEqual(signed);
    const [p, body, mac] = ticket.split('.');
    const forged = Buffer.from(JSON.stringify({ ...signed, service: 'other' })).toString('base64url');
    expect(() => verifyTicket(SECRET, `${p}.${forged}.${mac}`, 5000)).toThrow(
      expect.objectContaining({ code: 'TICKET_INVALID' }),
    );
    expect(() => verifyTicket('x'.repeat(40), ticket, 5000)).toThrow(
      expect.objectContaining({ code: 'TICKET_INVALID' }),
    );
    expect(() => verifyTicket(SECRET, `${p}.${body}`, 5000)).toThrow(
      expect.objectContaining({ status: 401 }),
    );
    expect(() => verifyTicket(SECRET, ticket, 10_000)).toThrow(
      expect.objectContaining({ code: 'TICKET_EXPIRED' }),
    );
  });

  it('never carry the secret', () => {
    const { ticket } = signTicket(SECRET, claims);
    expect(Buffer.from(ticket.split('.')[1]!, 'base64url').toString()).not.toContain(SECRET);
  });
});

describe('VOD callback authentication', () => {
  const url = 'https://api.example/v1/vod/events';
  const now = 1_700_000_000_000;
  const ts = String(now / 1000);
  const base = { url, keys: ['new', 'old'], timestamp: ts, maxAgeSeconds: 300, nowMs: now };

  it('accepts either key, refuses other keys, URLs and malformed headers', () => {
    expect(checkVodCallback({ ...base, signature: vodCallbackSignature(url, ts, 'new') })).toBe('ok');
    expect(checkVodCallback({ ...base, signature: vodCallbackSignature(url, ts, 'old').toUpperCase() })).toBe(
      'ok',
    );
    expect(checkVodCallback({ ...base, signature: vodCallbackSignature(url, ts, 'older') })).toBe(
      'bad_signature',
    );
    expect(checkVodCallback({ ...base, signature: vodCallbackSignature(`${url}x`, ts, 'new') })).toBe(
      'bad_signature',
    );
    expect(checkVodCallback({ ...base, signature: undefined })).toBe('bad_signature');
    expect(
      checkVodCallback({ ...base, timestamp: 'abc', signature: vodCallbackSignature(url, 'abc', 'new') }),
    ).toBe('bad_signature');
  });

  it('refuses timestamps outside the window, in either direction', () => {
    for (const offset of [-301, 301]) {
      const t = String(now / 1000 + offset);
      expect(
        checkVodCallback({ ...base, timestamp: t, signature: vodCallbackSignature(url, t, 'new') }),
      ).toBe('stale');
    }
    const t = String(now / 1000 - 299);
    expect(checkVodCallback({ ...base, timestamp: t, signature: vodCallbackSignature(url, t, 'new') })).toBe(
      'ok',
    );
  });

  it('reads the media id of each event type, and nothing from other events', () => {
    expect(eventMediaId({ EventType: 'FileUploadComplete', VideoId: 'v1' })).toEqual({
      type: 'FileUploadComplete',
      mediaId: 'v1',
    });
    expect(eventMediaId({ EventType: 'ImageUploadComplete', ImageId: 'i1' }).mediaId).toBe('i1');
    expect(eventMediaId({ EventType: 'AttachedMediaUploadComplete', AttachedMediaId: 'a1' }).mediaId).toBe(
      'a1',
    );
    expect(eventMediaId({ EventType: 'TranscodeComplete', VideoId: 'v1' })).toEqual({
      type: 'other',
      mediaId: null,
    });
    expect(eventMediaId({ EventType: 'FileUploadComplete', VideoId: '../x' }).mediaId).toBeNull();
  });
});
