import { randomBytes } from 'node:crypto';

/** What one temporary credential may touch: a single object key in one bucket. */
export interface CredentialScope {
  bucket: string;
  key: string;
  /** The VOD media the credential was issued for. */
  mediaId: string;
}

export interface StsCredential extends CredentialScope {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlnum(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[bytes[i]! % ALNUM.length];
  return out;
}

/**
 * The STS side of the emulator: issues per-media temporary credentials (as VOD's UploadAuth carries)
 * and resolves them for the OSS authenticator. Expired entries are dropped lazily.
 */
export class CredentialStore {
  readonly #byKeyId = new Map<string, StsCredential>();
  readonly #byToken = new Map<string, StsCredential>();
  readonly #ttlMs: number;
  #issued = 0;

  /** @param changed called after every change (the state snapshot is due for a write). */
  constructor(
    ttlSeconds: number,
    private readonly changed: () => void = () => {},
  ) {
    this.#ttlMs = ttlSeconds * 1000;
  }

  /** Every credential held (expired ones until pruned), for the state snapshot. */
  list(): StsCredential[] {
    return [...this.#byKeyId.values()];
  }

  /** Takes back saved credentials (at start). */
  restore(credentials: Iterable<StsCredential>): void {
    for (const c of credentials) {
      this.#byKeyId.set(c.accessKeyId, c);
      this.#byToken.set(c.securityToken, c);
    }
  }

  /** A fresh AccessKeyId (`STS.…`), secret and SecurityToken for `scope`, valid for the TTL. */
  issue(scope: CredentialScope, now = Date.now()): StsCredential {
    if (++this.#issued % 256 === 0) this.#prune(now);
    const credential: StsCredential = {
      ...scope,
      accessKeyId: `STS.${randomAlnum(25)}`,
      accessKeySecret: randomAlnum(44),
      // Real tokens are long base64 blobs starting with CAIS; clients treat them as opaque.
      securityToken: `CAIS${randomBytes(180).toString('base64')}`,
      expiresAt: now + this.#ttlMs,
    };
    this.#byKeyId.set(credential.accessKeyId, credential);
    this.#byToken.set(credential.securityToken, credential);
    this.changed();
    return credential;
  }

  byToken(token: string): StsCredential | undefined {
    return this.#byToken.get(token);
  }

  byAccessKeyId(accessKeyId: string): StsCredential | undefined {
    return this.#byKeyId.get(accessKeyId);
  }

  /** Makes every credential issued so far expired (fault injection). */
  expireAll(now = Date.now()): number {
    let n = 0;
    for (const c of this.#byKeyId.values()) {
      if (c.expiresAt > now - 1) {
        c.expiresAt = now - 1;
        n++;
      }
    }
    if (n > 0) this.changed();
    return n;
  }

  get size(): number {
    return this.#byKeyId.size;
  }

  /** Expired for over a day: a client can no longer be told "expired", forget it. */
  #prune(now: number): void {
    const horizon = now - 24 * 3600 * 1000;
    for (const c of this.#byKeyId.values()) {
      if (c.expiresAt < horizon) {
        this.#byKeyId.delete(c.accessKeyId);
        this.#byToken.delete(c.securityToken);
      }
    }
  }
}
