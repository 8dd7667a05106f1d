import path from 'node:path';
import { parse as parseContentDisposition } from 'content-disposition';
import mime from 'mime-types';

/** The name used when nothing better is known. */
export const DEFAULT_FILE_NAME = 'upload.bin';
const MAX_NAME_LENGTH = 255;

/** Extensions VOD recognises better than mime-db's first choice (`qt`, `mpga`...). */
const PREFERRED_EXTENSIONS: Readonly<Record<string, string>> = {
  'video/quicktime': 'mov',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'video/mp2t': 'ts',
  'application/vnd.apple.mpegurl': 'm3u8',
  'application/x-mpegurl': 'm3u8',
};

export interface FileNameHints {
  /** The response's Content-Disposition header (its `filename*` / `filename` wins). */
  contentDisposition?: string | null;
  /** The (final) URL: its last path segment is the next choice. */
  url?: string | URL | null;
  /** A local path: its base name. */
  path?: string | null;
  /** The Content-Type the source announced, used for the extension when the name has none. */
  contentType?: string | null;
}

export interface InferredFileName {
  /** A safe name (no slashes, no control characters, ≤ 255 chars) that always has an extension. */
  fileName: string;
  /** The media type without parameters, from the source or inferred from the name; null when unknown. */
  contentType: string | null;
}

/** Drops path separators, control characters and leading dots so the name is a single, visible segment. */
export function sanitizeFileName(raw: string): string {
  let name = raw.replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim();
  name = name.replace(/^\.+|\.+$/g, '').trim();
  if (name.length > MAX_NAME_LENGTH) {
    const ext = path.extname(name);
    const keep = ext.length > 0 && ext.length <= 16 ? ext : '';
    name = name.slice(0, MAX_NAME_LENGTH - keep.length) + keep;
  }
  return name;
}

function fromContentDisposition(header: string | null | undefined): string | null {
  if (!header) return null;
  try {
    const { parameters } = parseContentDisposition(header);
    // The library decodes `filename*` (RFC 8187) into `filename`, preferring it as RFC 6266 says.
    const name = parameters.filename;
    // Only the last segment counts (RFC 6266 §4.3): `../../etc/passwd` names `passwd`.
    return name ? (name.split(/[/\\]/).pop() ?? null) : null;
  } catch {
    return null;
  }
}

function fromUrl(url: string | URL | null | undefined): string | null {
  if (!url) return null;
  let pathname: string;
  try {
    pathname = (typeof url === 'string' ? new URL(url) : url).pathname;
  } catch {
    return null;
  }
  const segment = pathname
    .split('/')
    .filter((s) => s.length > 0)
    .pop();
  if (!segment) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** `video/mp4; codecs=...` → `video/mp4`; null for empty or malformed values. */
export function normalizeContentType(value: string | null | undefined): string | null {
  if (!value) return null;
  const type = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : null;
}

function extensionFor(contentType: string | null): string | null {
  if (!contentType || contentType === 'application/octet-stream') return null;
  return PREFERRED_EXTENSIONS[contentType] ?? (mime.extension(contentType) || null);
}

function hasExtension(name: string): boolean {
  const ext = path.extname(name);
  return ext.length > 1 && ext.length <= 11;
}

/**
 * The best file name for an upload: Content-Disposition filename, else the URL's last path segment, else
 * the local file's base name, else `upload.bin`; an extension is added from the Content-Type when the name
 * has none (VOD requires one), `.bin` as a last resort.
 */
export function inferFileName(hints: FileNameHints): InferredFileName {
  const announced = normalizeContentType(hints.contentType);
  const candidates = [
    fromContentDisposition(hints.contentDisposition),
    fromUrl(hints.url),
    hints.path ? path.basename(hints.path) : null,
  ];
  let name = '';
  for (const candidate of candidates) {
    name = candidate ? sanitizeFileName(candidate) : '';
    if (name.length > 0) break;
  }
  if (name.length === 0) {
    const ext = extensionFor(announced);
    name = ext ? `upload.${ext}` : DEFAULT_FILE_NAME;
  } else if (!hasExtension(name)) {
    const ext = extensionFor(announced) ?? 'bin';
    name = sanitizeFileName(`${name.slice(0, MAX_NAME_LENGTH - ext.length - 1)}.${ext}`);
  }
  const fromName = mime.lookup(name) || null;
  const contentType =
    announced && announced !== 'application/octet-stream' ? announced : (fromName ?? announced);
  return { fileName: name, contentType };
}
