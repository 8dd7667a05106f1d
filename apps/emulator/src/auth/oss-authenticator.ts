import type { IncomingHttpHeaders } from 'node:http';
import { OssError, ossErrors } from '../oss/oss-error.js';
import type { CredentialStore, StsCredential } from '../sts/credential-store.js';
import { MAX_CLOCK_SKEW_MS } from '../util/time.js';
import { ossSign, ossStringToSign, parseOssAuthorization, signaturesEqual } from './oss-signature.js';

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

/**
 * Who sent an OSS request, checked the way OSS checks it: date skew, then the STS token (issued by us?
 * matches the key id? expired?), then the V1 signature with the matching secret.
 */
export class OssAuthenticator {
  constructor(
    private readonly account: { accessKeyId: string; accessKeySecret: string },
    private readonly sts: CredentialStore,
  ) {}

  /** The key id the request claims (for the request log), without verifying anything. */
  static claimedKeyId(headers: IncomingHttpHeaders): string | undefined {
    return parseOssAuthorization(headers.authorization)?.accessKeyId;
  }

  authenticate(r: OssAuthRequest, now = Date.now()): OssPrincipal {
    const header = r.headers.authorization;
    if (header === undefined) {
      throw ossErrors.accessDenied('You have no right to access this object because of bucket acl.');
    }
    const auth = parseOssAuthorization(header);
    if (!auth) {
      throw ossErrors.invalidArgument('Authorization header is invalid.', 'Authorization', header);
    }
    const dateHeader = r.headers.date ?? (r.headers['x-oss-date'] as string | undefined);
    const requestTime = dateHeader === undefined ? Number.NaN : Date.parse(dateHeader);
    if (Number.isNaN(requestTime)) {
      throw new OssError(403, 'AccessDenied', 'OSS authentication requires a valid Date.');
    }
    if (Math.abs(now - requestTime) > MAX_CLOCK_SKEW_MS) throw ossErrors.requestTimeTooSkewed(dateHeader!);

    const token = r.headers['x-oss-security-token'] as string | undefined;
    let secret: string;
    let principal: OssPrincipal;
    if (token !== undefined) {
      const credential = this.sts.byToken(token);
      if (!credential) throw ossErrors.invalidSecurityToken(token);
      if (credential.accessKeyId !== auth.accessKeyId) throw ossErrors.keyTokenMismatch(auth.accessKeyId);
      if (credential.expiresAt <= now) throw ossErrors.securityTokenExpired(token);
      secret = credential.accessKeySecret;
      principal = { type: 'sts', accessKeyId: auth.accessKeyId, credential };
    } else if (auth.accessKeyId === this.account.accessKeyId) {
      secret = this.account.accessKeySecret;
      principal = { type: 'account', accessKeyId: auth.accessKeyId };
    } else {
      // Includes an STS key id sent without its token.
      throw ossErrors.invalidAccessKeyId(auth.accessKeyId);
    }

    const stringToSign = ossStringToSign(r.method, r.headers, r.bucket, r.key, r.query);
    if (!signaturesEqual(ossSign(secret, stringToSign), auth.signature)) {
      throw ossErrors.signatureDoesNotMatch(auth.accessKeyId, auth.signature, stringToSign);
    }
    return principal;
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
