/** An OSS error response: status, `<Code>`, `<Message>`, extra code-specific elements, optional EC. */
export class OssError extends Error {
  override name = 'OssError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Readonly<Record<string, string>> = {},
    readonly ec?: string,
  ) {
    super(message);
  }
}

/** The errors the emulator answers, worded as real OSS words them. */
export const ossErrors = {
  noSuchBucket: (bucket: string) =>
    new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket }),
  noSuchKey: (key: string) =>
    new OssError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key }),
  noSuchUpload: (uploadId: string) =>
    new OssError(
      404,
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    ),
  invalidPart: (partNumber: number, etag: string) =>
    new OssError(
      400,
      'InvalidPart',
      "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
      { PartNumber: String(partNumber), ETag: etag },
    ),
  invalidPartOrder: () =>
    new OssError(
      400,
      'InvalidPartOrder',
      'The list of parts was not in ascending order. Parts list must specified in order by part number.',
    ),
  entityTooSmall: (partNumber: number, size: number) =>
    new OssError(400, 'EntityTooSmall', 'Your proposed upload smaller than the minimum allowed size.', {
      MinSizeAllowed: '102400',
      ProposedSize: String(size),
      PartNumber: String(partNumber),
    }),
  entityTooLarge: (size: number) =>
    new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.', {
      MaxSizeAllowed: String(5 * 1024 ** 3),
      ProposedSize: String(size),
    }),
  invalidPartNumber: (value: string) =>
    new OssError(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.', {
      ArgumentName: 'partNumber',
      ArgumentValue: value,
    }),
  invalidArgument: (message: string, name?: string, value?: string) =>
    new OssError(
      400,
      'InvalidArgument',
      message,
      name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' },
    ),
  malformedXml: () =>
    new OssError(
      400,
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema.',
    ),
  invalidDigest: () => new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.'),
  badDigest: (expected: string, calculated: string) =>
    new OssError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', {
      ExpectedDigest: expected,
      CalculatedDigest: calculated,
    }),
  invalidObjectName: (message: string) => new OssError(400, 'InvalidObjectName', message),
  invalidRange: (size: number) =>
    new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied', {
      ActualObjectSize: String(size),
    }),
  preconditionFailed: (condition: string) =>
    new OssError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: condition,
    }),
  accessDenied: (message = 'You have no right to access this object because of bucket acl.') =>
    new OssError(403, 'AccessDenied', message),
  invalidAccessKeyId: (accessKeyId: string) =>
    new OssError(
      403,
      'InvalidAccessKeyId',
      'The OSS Access Key Id you provided does not exist in our records.',
      {
        OSSAccessKeyId: accessKeyId,
      },
    ),
  securityTokenExpired: (token: string) =>
    new OssError(
      403,
      'SecurityTokenExpired',
      'The security token you provided has expired.',
      { SecurityToken: token },
      '0002-00000007',
    ),
  invalidSecurityToken: (token: string) =>
    new OssError(
      403,
      'InvalidSecurityToken',
      'The security token you provided is invalid.',
      { SecurityToken: token },
      '0002-00000008',
    ),
  keyTokenMismatch: (accessKeyId: string) =>
    new OssError(
      403,
      'AccessKeyIdAndSecurityTokenNotMatch',
      'The OSS access key id and security token you provided does not match',
      { OSSAccessKeyId: accessKeyId },
    ),
  signatureDoesNotMatch: (accessKeyId: string, provided: string, stringToSign: string) =>
    new OssError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        OSSAccessKeyId: accessKeyId,
        SignatureProvided: provided,
        StringToSign: stringToSign,
        StringToSignBytes: Buffer.from(stringToSign, 'utf8')
          .toString('hex')
          .replace(/(..)(?!$)/g, '$1 '),
      },
      '0002-00000040',
    ),
  requestTimeTooSkewed: (requestTime: string) =>
    new OssError(
      403,
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      {
        RequestTime: requestTime,
        ServerTime: new Date().toUTCString(),
        MaxAllowedSkewMilliseconds: '900000',
      },
    ),
  notImplemented: (what: string) =>
    new OssError(501, 'NotImplemented', `The emulator does not implement ${what}.`),
  incompleteBody: () =>
    new OssError(400, 'IncompleteBody', 'The request body is smaller than the Content-Length you specified.'),
  internal: () => new OssError(500, 'InternalError', 'We encountered an internal error. Please try again.'),
};
