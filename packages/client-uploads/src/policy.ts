import { type ClientUploadPolicy, clientUploadPolicySchema } from '@mediaferry/config';
import type { MediaSpec } from '@mediaferry/core';
import { ClientUploadError } from './errors.js';

export type { ClientUploadPolicy };

/** The defaults of every field (see `clientUploadPolicySchema` in @mediaferry/config). */
export const DEFAULT_CLIENT_UPLOAD_POLICY: ClientUploadPolicy = Object.freeze(
  clientUploadPolicySchema.parse({}),
);

/** The policy of `service`: its own entry, else the `*` entry, else the defaults. */
export function policyFor(
  policies: ReadonlyMap<string, ClientUploadPolicy>,
  service: string,
): ClientUploadPolicy {
  return policies.get(service) ?? policies.get('*') ?? DEFAULT_CLIENT_UPLOAD_POLICY;
}

/** What a ticket may narrow (never widen) in its service's policy. */
export interface TicketConstraints {
  maxBytes?: number;
  mediaTypes?: MediaSpec['type'][];
  extensions?: string[];
}

export function narrowPolicy(
  policy: ClientUploadPolicy,
  c: TicketConstraints | undefined,
): ClientUploadPolicy {
  if (!c) return policy;
  return {
    ...policy,
    maxBytes: Math.min(policy.maxBytes, c.maxBytes ?? Number.MAX_SAFE_INTEGER),
    mediaTypes: c.mediaTypes ? policy.mediaTypes.filter((t) => c.mediaTypes?.includes(t)) : policy.mediaTypes,
    extensions: c.extensions
      ? (policy.extensions ?? c.extensions).filter((e) => c.extensions?.includes(e))
      : policy.extensions,
  };
}

export function extensionOf(fileName: string): string | null {
  return /\.([A-Za-z0-9]{1,10})$/.exec(fileName)?.[1]?.toLowerCase() ?? null;
}

/** The checks that need no state: size, media type, extension. Throws the refusal. */
export function checkStatic(
  policy: ClientUploadPolicy,
  media: MediaSpec,
  fileName: string,
  fileSize: number,
): void {
  if (fileSize > policy.maxBytes) {
    throw new ClientUploadError(
      400,
      'FILE_TOO_LARGE',
      `fileSize is over this service's limit of ${policy.maxBytes} bytes`,
      {
        maxBytes: policy.maxBytes,
      },
    );
  }
  if (!policy.mediaTypes.includes(media.type)) {
    throw new ClientUploadError(
      403,
      'MEDIA_TYPE_NOT_ALLOWED',
      `This service may not issue ${media.type} uploads`,
      {
        allowed: policy.mediaTypes,
      },
    );
  }
  const ext =
    media.type === 'attached' && media.fileExtension
      ? media.fileExtension.toLowerCase()
      : extensionOf(fileName);
  if (policy.extensions !== null && (ext === null || !policy.extensions.includes(ext))) {
    throw new ClientUploadError(
      403,
      'EXTENSION_NOT_ALLOWED',
      `The extension ${ext ?? '(none)'} is not allowed`,
      {
        allowed: policy.extensions,
      },
    );
  }
}
