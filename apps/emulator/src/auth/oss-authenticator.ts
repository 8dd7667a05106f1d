import type { IncomingHttpHeaders } from 'node:http';
import { OssError, ossErrors } from '../oss/oss-error.js';
import type { CredentialStore, StsCredential } from '../sts/credential-store.js';
import { MAX_CLOCK_SKEW_MS } from '../util/time.js';
import { ossSign, ossStringToSign, parseOssAuthorization, signaturesEqual } from './oss-signature.js';
import { v4Errors } from './oss-v4-errors.js';
import {
  isV4Url,
  parseV4Header,
  parseV4Query,
  parseV4Timestamp,
  V4_ALGORITHM,
  type V4Claim,
  V4SigningKeys,
  v4CanonicalRequest,
  v4Signature,
  v4StringToSign,
} from './oss-v4-signature.js';

export type OssPrincipal =
  | { type: 'account'; accessKeyId: string }
  | { type: 'sts'; accessKeyId: string; credential: StsCredential };

export interface OssAuthRequest {
  method: string;
  headers: IncomingHttpHeaders;
  bucket: string | undefined;
  key: string | undefined;
  query: ReadonlyMap<string, string>;
}

/** Which OSS signatures the emulator accepts: both (an old bucket) or V4 only (a bucket created today). */
export type OssSignatureMode = 'v1-and-v4' | 'v4-only';

export interface OssAuthenticatorOptions {
  /** The region V4 scopes must name (e.g. `cn-shanghai`). */
  region: string;
  /** @defaultValue 'v1-and-v4' */
  signatures?: OssSignatureMode;
}

/**
 * Who sent an OSS request, checked the way OSS checks it: the signature's form (V4 header, V4 URL, V1
 * header), its date, then the STS token (issued by us? matches the key id? expired?), then the
 * signature with the matching secret.
 */
export class OssAuthenticator {
  readonly signatures: OssSignatureMode;
  private readonly region: string;
  private readonly signingKeys = new V4SigningKeys();

  constructor(
    private readonly account: { accessKeyId: string; accessKeySecret: string },
    private readonly sts: CredentialStore,
    options: OssAuthenticatorOptions,
  ) {
    this.region = options.region;
    this.signatures = options.signatures ?? 'v1-and-v4';
  }

  /** The key id the request claims (for the request log), without verifying anything. */
  static claimedKeyId(headers: IncomingHttpHeaders, query: ReadonlyMap<string, string>): string | undefined {
    const header = headers.authorization;
    if (header?.startsWith(V4_ALGORITHM)) return /Credential=([^/,\s]+)/.exec(header)?.[1];
    const credential = query.get('x-oss-credential');
    if (credential) return credential.split('/')[0];
    return parseOssAuthorization(header)?.accessKeyId;
  }

  authenticate(r: OssAuthRequest, now = Date.now()): OssPrincipal {
    const header = r.headers.authorization;
    if (header?.startsWith(`${V4_ALGORITHM} `))
      return this.#v4(r, parseV4Header(r.headers, this.region), false, now);
    if (header === undefined && isV4Url(r.query)) {
      return this.#v4(r, parseV4Query(r.query, this.region), true, now);
    }
    if (header === undefined) {
      if (r.query.has('OSSAccessKeyId') || r.query.has('Signature')) {
        throw ossErrors.notImplemented('V1 signed URLs (use V4 signed URLs)');
      }
      throw ossErrors.accessDenied('You have no right to access this object because of bucket acl.');
    }
    const auth = parseOssAuthorization(header);
    if (!auth) {
      throw ossErrors.invalidArgument('Authorization header is invalid.', 'Authorization', header);
    }
    if (this.signatures === 'v4-only') throw v4Errors.v1Refused();
    const dateHeader = r.headers.date ?? (r.headers['x-oss-date'] as string | undefined);
    const requestTime = dateHeader === undefined ? Number.NaN : Date.parse(dateHeader);
    if (Number.isNaN(requestTime)) {
      throw new OssError(403, 'AccessDenied', 'OSS authentication requires a valid Date.');
    }
    if (Math.abs(now - requestTime) > MAX_CLOCK_SKEW_MS) throw ossErrors.requestTimeTooSkewed(dateHeader!);

    const token = r.headers['x-oss-security-token'] as string | undefined;
    const { secret, principal } = this.#principal(auth.accessKeyId, token, now);
    const stringToSign = ossStringToSign(r.method, r.headers, r.bucket, r.key, r.query);
    if (!signaturesEqual(ossSign(secret, stringToSign), auth.signature)) {
      throw ossErrors.signatureDoesNotMatch(auth.accessKeyId, auth.signature, stringToSign);
    }
    return principal;
  }

  #v4(r: OssAuthRequest, claim: V4Claim, inQuery: boolean, now: number): OssPrincipal {
    const signedAt = parseV4Timestamp(claim.timestamp);
    if (inQuery) {
      // A URL may be used until it expires, but not before it was signed (allowing the clock skew).
      if (signedAt - now > MAX_CLOCK_SKEW_MS) throw ossErrors.requestTimeTooSkewed(claim.timestamp);
      const expiresAt = signedAt + claim.expiresSeconds! * 1000;
      if (now > expiresAt) throw v4Errors.requestExpired(new Date(expiresAt));
    } else if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
      throw ossErrors.requestTimeTooSkewed(claim.timestamp);
    }
    const token = inQuery ? claim.securityToken : (r.headers['x-oss-security-token'] as string | undefined);
    const { accessKeyId } = claim.scope;
    const { secret, principal } = this.#principal(accessKeyId, token, now);
    const canonicalRequest = v4CanonicalRequest(r, claim.additionalHeaders, inQuery);
    const stringToSign = v4StringToSign(claim.timestamp, claim.scope, canonicalRequest);
    const signingKey = this.signingKeys.get(secret, claim.scope);
    if (!signaturesEqual(v4Signature(signingKey, stringToSign), claim.signature)) {
      throw v4Errors.signatureDoesNotMatch(accessKeyId, claim.signature, canonicalRequest, stringToSign);
    }
    return principal;
  }

  /** The secret to verify with and who the caller is, from the key id and the optional STS token. */
  #principal(
    accessKeyId: string,
    token: string | undefined,
    now: number,
  ): { secret: string; principal: OssPrincipal } {
    if (token !== undefined) {
      const credential = this.sts.byToken(token);
      if (!credential) throw ossErrors.invalidSecurityToken(token);
      if (credential.accessKeyId !== accessKeyId) throw ossErrors.keyTokenMismatch(accessKeyId);
      if (credential.expiresAt <= now) throw ossErrors.securityTokenExpired(token);
      return { secret: credential.accessKeySecret, principal: { type: 'sts', accessKeyId, credential } };
    }
    if (accessKeyId === this.account.accessKeyId) {
      return { secret: this.account.accessKeySecret, principal: { type: 'account', accessKeyId } };
    }
    // Includes an STS key id sent without its token.
    throw ossErrors.invalidAccessKeyId(accessKeyId);
  }

  /**
   * The account may do anything in any bucket (it owns them); an STS credential only touches its own
   * object key in its own bucket — bucket-level calls included, it may not list.
   */
  authorize(principal: OssPrincipal, bucket: string, key: string | undefined): void {
    if (principal.type === 'account') return;
    const c = principal.credential;
    if (c.bucket !== bucket || key === undefined || c.key !== key) {
      throw ossErrors.accessDenied('You have no right to access this object.');
    }
  }
}
