/**
 * Secret scrubbing for log records. pino's `redact` paths catch the well-known places cheaply; this
 * deep walk catches the rest: any key that names a secret, every header a caller gave a URL source,
 * credentials inside URLs, and secrets hidden in error `details`.
 */

export const REDACTED = '[Redacted]';

/** Keys whose value is a secret wherever they appear (case-insensitive, substring match). */
const SENSITIVE_KEY =
  /secret|token|passw(?:or)?d|authori[sz]ation|upload_?auth|signature|credential|cookie|api[-_]?key|private[-_]?key|security[-_]?token/i;

/** Query parameters that carry credentials in signed URLs (OSS, S3, generic). */
const SENSITIVE_QUERY = /secret|token|signature|passw|auth|credential|key/i;

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Whether a key's value must never be logged. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

function scrubUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  let changed = false;
  if (url.username || url.password) {
    url.username = REDACTED;
    url.password = '';
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SENSITIVE_QUERY.test(name)) {
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? url.toString() : raw;
}

/** Masks user-info and credential query parameters of every URL inside `text`. */
export function scrubText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, scrubUrl);
}

/** Headers that carry credentials in any HTTP exchange. */
const SENSITIVE_HEADER = /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)$/i;

function scrubHeaders(headers: Record<string, unknown>, all: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    // A URL source's headers are the caller's credentials for their origin: none is safe to log.
    out[name] = all || SENSITIVE_HEADER.test(name) || isSensitiveKey(name) ? REDACTED : value;
  }
  return out;
}

const MAX_DEPTH = 10;

function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  for (const [k, v] of Object.entries(err)) out[k] = v;
  if (err.cause !== undefined) out['cause'] = err.cause;
  return out;
}

/**
 * A scrubbed deep copy of `value`: sensitive keys replaced by {@link REDACTED}, URLs in strings
 * cleaned, errors turned into plain objects (so their `details` are walked too). Numbers and
 * booleans under sensitive-looking keys are kept (`credentialTtlSeconds` is not a secret).
 */
export function scrubValue(value: unknown, parentKey = '', depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    if (value instanceof Error) return scrubValue(serializeError(value), parentKey, depth + 1, seen);
    if (Array.isArray(value)) return value.map((v) => scrubValue(v, parentKey, depth + 1, seen));
    if (value instanceof Date || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
    if (value instanceof URL) return scrubText(value.toString());
    if (value instanceof Map) return scrubValue(Object.fromEntries(value), parentKey, depth + 1, seen);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (isSensitiveKey(key) && typeof v !== 'number' && typeof v !== 'boolean' && v != null) {
        out[key] = REDACTED;
      } else if (/^headers$/i.test(key) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
        out[key] = scrubValue(
          scrubHeaders(v as Record<string, unknown>, parentKey === 'source'),
          key,
          depth + 1,
          seen,
        );
      } else {
        out[key] = scrubValue(v, key, depth + 1, seen);
      }
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
