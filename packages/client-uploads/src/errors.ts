/** A refusal with its HTTP status and stable code (the API answers it as is). */
export class ClientUploadError extends Error {
  override name = 'ClientUploadError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
