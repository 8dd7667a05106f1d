import type { MessageCallback } from './media-store.js';
import { vodErrors } from './vod-error.js';

/** Typed, validated access to an RPC call's parameters, failing with the gateway's codes. */
export class VodParams {
  constructor(private readonly params: ReadonlyMap<string, string>) {}

  /** Present and non-empty, else MissingParameter. */
  required(name: string): string {
    const v = this.params.get(name);
    if (v === undefined || v === '') throw vodErrors.missingParameter(name);
    return v;
  }

  optional(name: string): string | undefined {
    const v = this.params.get(name);
    return v === undefined || v === '' ? undefined : v;
  }

  /** A string of at most `maxBytes` UTF-8 bytes. */
  text(name: string, maxBytes: number, required = false): string | undefined {
    const v = required ? this.required(name) : this.optional(name);
    if (v !== undefined && Buffer.byteLength(v, 'utf8') > maxBytes) {
      throw vodErrors.invalidParameter(name, `It must be at most ${maxBytes} bytes.`);
    }
    return v;
  }

  int(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.optional(name);
    if (v === undefined) return undefined;
    const n = /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= min && n <= max)) throw vodErrors.invalidParameter(name);
    return n;
  }

  bool(name: string): boolean | undefined {
    const v = this.optional(name);
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') throw vodErrors.invalidParameter(name);
    return v === 'true';
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], required = false): T | undefined {
    const v = required ? this.required(name) : this.optional(name);
    if (v !== undefined && !allowed.includes(v as T)) throw vodErrors.invalidParameter(name);
    return v as T | undefined;
  }

  /** Comma-separated tags: at most 16, each at most 32 bytes. */
  tags(name = 'Tags'): string | undefined {
    const v = this.optional(name);
    if (v === undefined) return undefined;
    const tags = v.split(',').map((t) => t.trim());
    if (tags.length > 16 || tags.some((t) => t === '' || Buffer.byteLength(t, 'utf8') > 32)) {
      throw vodErrors.invalidParameter(name);
    }
    return tags.join(',');
  }

  /** UserData: a JSON object of at most 1024 bytes; its MessageCallback (HTTP only) is returned parsed. */
  userData(): { raw: string; callback?: MessageCallback } | undefined {
    const raw = this.text('UserData', 1024);
    if (raw === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw vodErrors.invalidParameter('UserData', 'It must be a JSON object.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw vodErrors.invalidParameter('UserData', 'It must be a JSON object.');
    }
    const mc = (parsed as Record<string, unknown>).MessageCallback;
    if (mc === undefined) return { raw };
    const url = (mc as Record<string, unknown>)?.CallbackURL;
    const type = (mc as Record<string, unknown>)?.CallbackType ?? 'http';
    if (type !== 'http') return { raw }; // MNS callbacks: accepted, never delivered here
    if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/.test(url)) {
      throw vodErrors.invalidParameter('UserData', 'MessageCallback.CallbackURL must be an http(s) URL.');
    }
    return { raw, callback: { url, type: 'http' } };
  }

  /** The lower-cased extension of a file name, which must have one (1–10 alphanumerics). */
  static extensionOf(name: string, fileName: string): string {
    const m = /\.([A-Za-z0-9]{1,10})$/.exec(fileName);
    if (!m) throw vodErrors.invalidParameter(name, 'The file name must have an extension.');
    return m[1]!.toLowerCase();
  }
}
