import { describe, expect, it } from 'vitest';
import { CredentialStore } from './credential-store.js';

describe('CredentialStore', () => {
  const scope = { bucket: 'outin-x', key: 'sv/a/a.mp4', mediaId: 'm1' };

  it('issues distinct STS triples valid for the TTL', () => {
    const store = new CredentialStore(3000);
    const now = Date.now();
    const a = store.issue(scope, now);
    const b = store.issue(scope, now);
    expect(a.accessKeyId).toMatch(/^STS\.[A-Za-z0-9]{25}$/);
    expect(a.securityToken).toMatch(/^CAIS/);
    expect(a.accessKeyId).not.toBe(b.accessKeyId);
    expect(a.accessKeySecret).not.toBe(b.accessKeySecret);
    expect(a.expiresAt).toBe(now + 3_000_000);
    expect(store.byToken(a.securityToken)).toBe(a);
    expect(store.byAccessKeyId(b.accessKeyId)).toBe(b);
  });

  it('expires everything on demand', () => {
    const store = new CredentialStore(3000);
    const a = store.issue(scope);
    const b = store.issue({ ...scope, mediaId: 'm2' });
    expect(store.expireAll()).toBe(2);
    expect(a.expiresAt).toBeLessThan(Date.now());
    // Expired, not forgotten: OSS answers SecurityTokenExpired, not InvalidSecurityToken.
    expect(store.byToken(a.securityToken)).toBe(a);
    expect(b.expiresAt).toBeLessThan(Date.now());
  });
});
