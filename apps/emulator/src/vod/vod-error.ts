/** A VOD/POP gateway error: HTTP status + `Code` + `Message` in the JSON body. */
export class VodError extends Error {
  override name = 'VodError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const vodErrors = {
  missingParameter: (name: string) =>
    new VodError(
      400,
      'MissingParameter',
      `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
    ),
  invalidParameter: (name: string, why?: string) =>
    new VodError(
      400,
      'InvalidParameter',
      `The specified parameter "${name}" is not valid.${why ? ` ${why}` : ''}`,
    ),
  /**
   * A ReferenceId already in use. VOD documents ReferenceId as unique per account but not the exact
   * answer; our best knowledge is a 400 `InvalidParameter` naming the field.
   */
  referenceIdInUse: () =>
    new VodError(400, 'InvalidParameter', 'The specified parameter "ReferenceId" already exists.'),
  videoNotFound: () => new VodError(404, 'InvalidVideo.NotFound', 'The video not exist.'),
  imageNotFound: () => new VodError(404, 'InvalidImage.NotFound', 'The image does not exist.'),
  storageNotFound: () => new VodError(404, 'InvalidStorage.NotFound', 'The storage location does not exist.'),
  signatureDoesNotMatch: (stringToSign: string) =>
    new VodError(
      400,
      'SignatureDoesNotMatch',
      `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
    ),
  contentSha256Mismatch: () =>
    new VodError(
      400,
      'SignatureDoesNotMatch',
      'The x-acs-content-sha256 header does not match the request body.',
    ),
  incompleteSignature: (why: string) =>
    new VodError(
      400,
      'IncompleteSignature',
      `The request signature does not conform to Aliyun standards. ${why}`,
    ),
  accessKeyNotFound: () =>
    new VodError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.'),
  timestampExpired: () =>
    new VodError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.'),
  timestampFormat: () =>
    new VodError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.'),
  nonceUsed: () => new VodError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.'),
  tokenExpired: () =>
    new VodError(400, 'InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.'),
  tokenMalformed: () =>
    new VodError(400, 'InvalidSecurityToken.Malformed', 'Specified SecurityToken is malformed.'),
  tokenMismatch: () =>
    new VodError(
      400,
      'InvalidSecurityToken.MismatchWithAccessKey',
      'Specified SecurityToken mismatch with access key.',
    ),
  forbidden: () =>
    new VodError(403, 'Forbidden.RAM', 'User not authorized to operate on the specified resource.'),
  actionNotFound: (action: string) =>
    new VodError(
      404,
      'InvalidAction.NotFound',
      `Specified api "${action}" is not found, please check your url and method.`,
    ),
  invalidVersion: () => new VodError(400, 'InvalidVersion', 'Specified parameter Version is not valid.'),
  signatureMethod: () =>
    new VodError(400, 'InvalidSignatureMethod.Malformed', 'Specified signature method is not valid.'),
  internal: () =>
    new VodError(500, 'InternalError', 'The request processing has failed due to some unknown error.'),
};
