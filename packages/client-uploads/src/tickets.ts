import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient as Redis } from '@mediaferry/queue';
import { z } from 'zod';
import { ClientUploadError } from './errors.js';
import type { ClientUploadKeys } from './keys.js';
import type { TicketConstraints } from './policy.js';

/** What a ticket carries (signed, not encrypted: it holds nothing secret). */
export interface TicketClaims {
  /** Ticket id: the redeem-once key. */
  jti: string;
  service: string;
  endUserId: string | null;
  constraints: TicketConstraints | null;
  /** Epoch ms. */
  issuedAt: number;
  expiresAt: number;
}

const claimsSchema = z.strictObject({
  jti: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  service: z.string().min(1),
  endUserId: z.string().nullable(),
  constraints: z
    .strictObject({
      maxBytes: z.number().int().positive().optional(),
      mediaTypes: z.array(z.enum(['video', 'audio', 'image', 'attached'])).optional(),
      extensions: z.array(z.string()).optional(),
    })
    .nullable(),
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
});

const PREFIX = 'mfct1';
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`${PREFIX}.${payload}`).digest();
}

const invalid = () => new ClientUploadError(401, 'TICKET_INVALID', 'The ticket is not valid');

/** `mfct1.<base64url claims>.<base64url HMAC-SHA256>`. */
export function signTicket(
  secret: string,
  claims: Omit<TicketClaims, 'jti'> & { jti?: string },
): { ticket: string; claims: TicketClaims } {
  const full: TicketClaims = { ...claims, jti: claims.jti ?? randomBytes(18).toString('base64url') };
  const payload = b64(JSON.stringify(full));
  return { ticket: `${PREFIX}.${payload}.${b64(mac(secret, payload))}`, claims: full };
}

/** Checks the MAC (constant time) and the expiry; throws 401 TICKET_INVALID / TICKET_EXPIRED. */
export function verifyTicket(secret: string, ticket: string, now = Date.now()): TicketClaims {
  const parts = ticket.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX || !parts[1] || !parts[2]) throw invalid();
  const given = Buffer.from(parts[2], 'base64url');
  const expected = mac(secret, parts[1]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let claims: TicketClaims;
  try {
    claims = claimsSchema.parse(JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')));
  } catch {
    throw invalid();
  }
  if (claims.expiresAt <= now) throw new ClientUploadError(401, 'TICKET_EXPIRED', 'The ticket has expired');
  return claims;
}

/**
 * Marks the ticket used, once across every API replica (SET NX); the mark lives until the ticket
 * would have expired. Throws 409 TICKET_USED for a second redeem.
 */
export async function redeemOnce(
  redis: Redis,
  keys: ClientUploadKeys,
  claims: TicketClaims,
  now = Date.now(),
): Promise<void> {
  const ttlMs = Math.max(1000, claims.expiresAt - now + 60_000);
  const set = await redis.set(keys.ticket(claims.jti), String(now), 'PX', ttlMs, 'NX');
  if (set !== 'OK') throw new ClientUploadError(409, 'TICKET_USED', 'This ticket was already redeemed');
}
