import type { IncomingMessage } from 'node:http';
import type { CredentialStore } from '../sts/credential-store.js';
import { MAX_CLOCK_SKEW_MS } from '../util/time.js';
import { vodErrors } from '../vod/vod-error.js';
import { acs3CanonicalRequest, acs3Sign, parseAcs3Authorization, sha256Hex } from './acs3-signature.js';
import { signaturesEqual } from './oss-signature.js';
import { rpcV1Sign, rpcV1StringToSign } from './rpc-v1-signature.js';

export interface VodAuthRequest {
  req: IncomingMessage;
  pathname: string;
  /** Decoded URL query parameters. */
  query: ReadonlyMap<string, string>;
  /** Decoded form-body parameters (empty when the body is not a form). */
  form: ReadonlyMap<string, string>;
  body: Buffer;
}

/** Headers the gateway insists are covered by an ACS3 signature. */
const REQUIRED_SIGNED = [
  'host',
  'x-acs-action',
  'x-acs-version',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-content-sha256',
];
const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/**
 * Verifies VOD (POP RPC) requests: ACS3-HMAC-SHA256 when `Authorization` says so, else the v1
 * `Signature` parameter (HMAC-SHA1). Also checks the clock (±15 min), payload hash, nonce reuse and
 * STS tokens, with the gateway's error codes.
 */
export class VodAuthenticator {
  readonly #nonces = new Map<string, number>();

  constructor(
    private readonly account: { accessKeyId: string; accessKeySecret: string },
    private readonly sts: CredentialStore,
  ) {}

  /** The key id a request claims, unverified (for the request log). */
  static claimedKeyId(req: IncomingMessage, params: ReadonlyMap<string, string>): string | undefined {
    return parseAcs3Authorization(req.headers.authorization)?.accessKeyId ?? params.get('AccessKeyId');
  }

  /** Returns the verified AccessKeyId or throws VodError. */
  authenticate(r: VodAuthRequest, now = Date.now()): string {
    const header = r.req.headers.authorization;
    if (header?.startsWith('ACS3-')) return this.#acs3(r, header, now);
    const params = new Map([...r.query, ...r.form]);
    if (params.has('Signature')) return this.#rpcV1(r, params, now);
    throw vodErrors.incompleteSignature('The request carries no signature.');
  }

  #acs3(r: VodAuthRequest, header: string, now: number): string {
    const auth = parseAcs3Authorization(header);
    if (!auth) throw vodErrors.incompleteSignature('Malformed Authorization header.');
    const headers = r.req.headers;
    for (const name of REQUIRED_SIGNED) {
      if (headers[name] === undefined) throw vodErrors.incompleteSignature(`Missing header ${name}.`);
      if (!auth.signedHeaders.includes(name))
        throw vodErrors.incompleteSignature(`Header ${name} is not signed.`);
    }
    for (const name of Object.keys(headers)) {
      if (name.startsWith('x-acs-') && !auth.signedHeaders.includes(name)) {
        throw vodErrors.incompleteSignature(`Header ${name} is not signed.`);
      }
    }
    this.#checkTime(headers['x-acs-date'] as string, now);
    const hashedPayload = headers['x-acs-content-sha256'] as string;
    if (hashedPayload !== sha256Hex(r.body)) throw vodErrors.contentSha256Mismatch();
    const token = headers['x-acs-security-token'] as string | undefined;
    const { secret, isSts } = this.#secretFor(auth.accessKeyId, token, now);
    const canonical = acs3CanonicalRequest(r.req, r.pathname, r.query, auth.signedHeaders, hashedPayload);
    const { stringToSign, signature } = acs3Sign(secret, canonical);
    if (!signaturesEqual(signature, auth.signature.toLowerCase()))
      throw vodErrors.signatureDoesNotMatch(stringToSign);
    this.#useNonce(headers['x-acs-signature-nonce'] as string, now);
    if (isSts) throw vodErrors.forbidden();
    return auth.accessKeyId;
  }

  #rpcV1(r: VodAuthRequest, params: ReadonlyMap<string, string>, now: number): string {
    const accessKeyId = params.get('AccessKeyId');
    if (!accessKeyId) throw vodErrors.missingParameter('AccessKeyId');
    const method = params.get('SignatureMethod');
    if (method === undefined) throw vodErrors.missingParameter('SignatureMethod');
    if (method !== 'HMAC-SHA1') throw vodErrors.signatureMethod();
    if (params.get('SignatureVersion') !== '1.0') throw vodErrors.invalidParameter('SignatureVersion');
    const timestamp = params.get('Timestamp');
    if (timestamp === undefined) throw vodErrors.missingParameter('Timestamp');
    this.#checkTime(timestamp, now);
    const nonce = params.get('SignatureNonce');
    if (!nonce) throw vodErrors.missingParameter('SignatureNonce');
    const { secret, isSts } = this.#secretFor(accessKeyId, params.get('SecurityToken'), now);
    const stringToSign = rpcV1StringToSign(r.req.method ?? 'GET', params);
    if (!signaturesEqual(rpcV1Sign(secret, stringToSign), params.get('Signature')!)) {
      throw vodErrors.signatureDoesNotMatch(stringToSign);
    }
    this.#useNonce(nonce, now);
    if (isSts) throw vodErrors.forbidden();
    return accessKeyId;
  }

  #checkTime(value: string | undefined, now: number): void {
    if (value === undefined || !ISO_SECONDS.test(value)) throw vodErrors.timestampFormat();
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw vodErrors.timestampFormat();
    if (Math.abs(now - t) > MAX_CLOCK_SKEW_MS) throw vodErrors.timestampExpired();
  }

  #secretFor(
    accessKeyId: string,
    token: string | undefined,
    now: number,
  ): { secret: string; isSts: boolean } {
    if (token !== undefined && token !== '') {
      const c = this.sts.byToken(token);
      if (!c) throw vodErrors.tokenMalformed();
      if (c.accessKeyId !== accessKeyId) throw vodErrors.tokenMismatch();
      if (c.expiresAt <= now) throw vodErrors.tokenExpired();
      return { secret: c.accessKeySecret, isSts: true };
    }
    if (accessKeyId === this.account.accessKeyId)
      return { secret: this.account.accessKeySecret, isSts: false };
    throw vodErrors.accessKeyNotFound();
  }

  /** A nonce may be used once per 15 minutes (replay protection). */
  #useNonce(nonce: string, now: number): void {
    const seen = this.#nonces.get(nonce);
    if (seen !== undefined && seen > now) throw vodErrors.nonceUsed();
    if (this.#nonces.size >= 10_000) {
      for (const [n, expires] of this.#nonces) if (expires <= now) this.#nonces.delete(n);
    }
    this.#nonces.set(nonce, now + MAX_CLOCK_SKEW_MS);
  }
}
