import type { ApiErrorCode } from '@mediaferry/core';

/** A refusal with its HTTP status and stable code (the API answers it as is). */
export class ClientUploadError extends Error {
  override name = 'ClientUploadError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
