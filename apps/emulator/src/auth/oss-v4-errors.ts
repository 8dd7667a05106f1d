import { OssError } from '../oss/oss-error.js';

/**
 * The errors OSS answers for V4-signed requests. Codes, statuses and EC numbers follow OSS's error
 * pages (EC 0002-000002xx: "Invalid signing product in Authorization header." is the observed wording
 * of 0002-00000227; the other messages are written in the same style).
 */
const invalid = (message: string, ec: string | undefined, name?: string, value?: string) =>
  new OssError(
    400,
    'InvalidArgument',
    message,
    name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' },
    ec,
  );

export const v4Errors = {
  /** The Authorization header is not `OSS4-HMAC-SHA256 Credential=…,Signature=…`. */
  malformedAuthorization: (header: string) =>
    invalid('Authorization header is invalid.', '0002-00000213', 'Authorization', header),
  emptyAdditionalHeaders: () =>
    invalid('AdditionalHeaders in Authorization header is empty.', '0002-00000209'),
  emptyAdditionalHeader: () =>
    invalid('AdditionalHeaders in Authorization header contains an empty header name.', '0002-00000210'),
  missingAdditionalHeader: (name: string) =>
    invalid(`Additional header ${name} is not present in the request.`, '0002-00000211'),
  credential: (query: boolean, value: string) =>
    query
      ? invalid('Invalid credential in x-oss-credential.', '0002-00000224', 'x-oss-credential', value)
      : invalid('Invalid credential in Authorization header.', '0002-00000213', 'Credential', value),
  signDate: (query: boolean, value: string) =>
    query
      ? invalid('Invalid signing date in x-oss-credential.', '0002-00000223', 'x-oss-credential', value)
      : invalid('Invalid signing date in Authorization header.', '0002-00000212', 'Credential', value),
  region: (query: boolean, value: string) =>
    query
      ? invalid('Invalid signing region in x-oss-credential.', '0002-00000226', 'x-oss-credential', value)
      : invalid('Invalid signing region in Authorization header.', '0002-00000228', 'Credential', value),
  product: (value: string) =>
    invalid('Invalid signing product in Authorization header.', '0002-00000227', 'Credential', value),
  contentSha256: (value: string | undefined) =>
    invalid(
      'x-oss-content-sha256 must be UNSIGNED-PAYLOAD.',
      '0002-00000214',
      'x-oss-content-sha256',
      value ?? '',
    ),
  missingDate: () =>
    new OssError(403, 'AccessDenied', 'The request must contain a valid x-oss-date.', {}, '0002-00000503'),
  badDate: (value: string) =>
    invalid('x-oss-date must be ISO 8601 (yyyyMMddTHHmmssZ).', '0002-00000502', 'x-oss-date', value),
  missingQueryField: (name: string) =>
    invalid(`Missing ${name} in the V4 signed URL.`, '0002-00000219', name, ''),
  badExpires: (value: string) =>
    invalid('x-oss-expires must be an integer from 1 to 604800.', undefined, 'x-oss-expires', value),
  requestExpired: (expiredAt: Date) =>
    new OssError(403, 'AccessDenied', 'Request has expired.', {
      Expires: expiredAt.toISOString(),
      ServerTime: new Date().toISOString(),
    }),
  signatureDoesNotMatch: (
    accessKeyId: string,
    provided: string,
    canonicalRequest: string,
    stringToSign: string,
  ) =>
    new OssError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        OSSAccessKeyId: accessKeyId,
        SignatureProvided: provided,
        StringToSign: stringToSign,
        StringToSignBytes: hexBytes(stringToSign),
        CanonicalRequest: canonicalRequest,
        CanonicalRequestBytes: hexBytes(canonicalRequest),
      },
      '0002-00000201',
    ),
  /** `EMULATOR_OSS_SIGNATURES=v4-only`: a V1 signature, as a bucket created since 2025-09-01 refuses it. */
  v1Refused: () =>
    new OssError(
      403,
      'AccessDenied',
      'This bucket only accepts requests signed with OSS Signature Version 4 (OSS4-HMAC-SHA256).',
    ),
};

function hexBytes(s: string): string {
  return Buffer.from(s, 'utf8')
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
}
