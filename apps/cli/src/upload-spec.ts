import path from 'node:path';
import type { JobSpecInput } from '@mediaferry/client';

export const MEDIA_TYPES = ['video', 'audio', 'image', 'attached'] as const;
export const BUSINESS_TYPES = ['subtitle', 'watermark', 'material'] as const;

/** Options of `mediaferry upload`, as commander parses them. */
export interface UploadFlags {
  title?: string;
  type: (typeof MEDIA_TYPES)[number];
  businessType?: (typeof BUSINESS_TYPES)[number];
  fileExtension?: string;
  fileName?: string;
  ossBucket?: string;
  ossKey?: string;
  callbackUrl?: string;
  idempotencyKey?: string;
}

/** A mistake in the command line (exit code 2), found before anything is sent. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The last path segment without its extension: the default title. */
function baseTitle(name: string): string {
  const ext = path.extname(name);
  const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
  return stem.slice(0, 128);
}

/**
 * Turns `mediaferry upload <path|url> [flags]` into a job spec. An http(s) argument is a URL source;
 * anything else is a file path, resolved against `cwd` (the API must see the same path, inside one of
 * its MEDIAFERRY_FILE_ROOTS). The title defaults to the file name without its extension.
 */
export function buildUploadSpec(input: string, flags: UploadFlags, cwd: string): JobSpecInput {
  let source: JobSpecInput['source'];
  let nameFromSource: string;
  if (/^https?:\/\//i.test(input)) {
    source = { type: 'url', url: input };
    const url = new URL(input);
    nameFromSource = decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '') || url.hostname;
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw new UsageError(`unsupported URL scheme in "${input}": only http and https URLs can be uploaded`);
  } else {
    const absolute = path.resolve(cwd, input);
    source = { type: 'file', path: absolute };
    nameFromSource = path.basename(absolute);
  }

  if (flags.type === 'attached' && !flags.businessType) {
    throw new UsageError('--type attached needs --business-type subtitle|watermark|material');
  }
  if (flags.type !== 'attached' && (flags.businessType || flags.fileExtension)) {
    throw new UsageError('--business-type and --file-extension go with --type attached');
  }
  if ((flags.ossBucket === undefined) !== (flags.ossKey === undefined)) {
    throw new UsageError('--oss-bucket and --oss-key go together');
  }

  const common = {
    title: flags.title ?? baseTitle(nameFromSource),
    ...(flags.fileName ? { fileName: flags.fileName } : {}),
  };
  const media: JobSpecInput['media'] =
    flags.type === 'attached'
      ? {
          type: 'attached',
          ...common,
          businessType: flags.businessType!,
          ...(flags.fileExtension ? { fileExtension: flags.fileExtension } : {}),
        }
      : flags.type === 'image'
        ? { type: 'image', ...common }
        : { type: flags.type, ...common };

  return {
    source,
    media,
    target: flags.ossBucket ? { type: 'oss', bucket: flags.ossBucket, key: flags.ossKey! } : { type: 'vod' },
    ...(flags.callbackUrl ? { callbackUrl: flags.callbackUrl } : {}),
    ...(flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {}),
  };
}
