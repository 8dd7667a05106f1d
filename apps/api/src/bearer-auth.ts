import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The service the bearer token belongs to; set by the auth hook on authenticated routes. */
    service: string;
  }
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Maps bearer tokens to services. Tokens are compared as SHA-256 digests with `timingSafeEqual`,
 * against every configured token (no early exit), so timing reveals neither a token nor its length.
 */
export class TokenAuthenticator {
  private readonly entries: { digest: Buffer; service: string }[];

  constructor(tokens: ReadonlyMap<string, string>) {
    this.entries = [...tokens].map(([token, service]) => ({ digest: digest(token), service }));
  }

  /** The service of `token`, or null. */
  serviceFor(token: string): string | null {
    const presented = digest(token);
    let found: string | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presented)) found = entry.service;
    }
    return found;
  }

  /** Reads `Authorization: Bearer <token>`; throws 401 UNAUTHORIZED when missing or unknown. */
  authenticate(request: FastifyRequest): string {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ ]+([^\s]{1,4096})\s*$/i.exec(header) : null;
    const service = match?.[1] ? this.serviceFor(match[1]) : null;
    if (!service) throw new ApiError(401, 'UNAUTHORIZED', 'A valid bearer token is required');
    request.service = service;
    return service;
  }
}
