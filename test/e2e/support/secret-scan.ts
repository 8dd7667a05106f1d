/**
 * Finds secrets in text the system emitted (log lines, API responses). Known values are matched
 * literally; STS material the test never saw (credentials issued to workers) is caught by its shape:
 * emulator SecurityTokens are `CAIS` + base64, STS secrets 44 mixed-case letters and digits, and an
 * UploadAuth is base64 of `{"SecurityToken":…`.
 */

export interface SecretFinding {
  /** Which secret (never its value). */
  secret: string;
  /** Where: a process name or "response …". */
  where: string;
  /** The offending text, with the secret itself masked. */
  excerpt: string;
}

/** `CAIS` followed by a long base64 run: an STS SecurityToken. */
const STS_TOKEN = /CAIS[A-Za-z0-9+/]{40,}/;
/** base64 of `{"SecurityToken"` (an UploadAuth) and of `{"Endpoint"` (an UploadAddress is harmless; not flagged). */
const UPLOAD_AUTH_B64 = /eyJTZWN1cml0eVRva2Vu/;
/** The emulator's STS AccessKeySecrets are 44 random letters and digits (mixed case). */
const STS_SECRET_SHAPE =
  /(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{44}(?![A-Za-z0-9])/;
/** A decoded UploadAuth or credential object logged as JSON. */
const SECRET_FIELD =
  /"(?:AccessKeySecret|accessKeySecret|SecurityToken|securityToken|stsToken)"\s*:\s*"(?!\[?redacted|\*)[^"]{8,}"/i;

export interface NamedSecret {
  name: string;
  value: string;
}

export function scanText(text: string, where: string, secrets: readonly NamedSecret[]): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const mask = (s: string) => {
    let out = s;
    for (const { value } of secrets) if (value.length >= 8) out = out.split(value).join('<SECRET>');
    return out.replace(STS_TOKEN, 'CAIS<SECRET>').replace(UPLOAD_AUTH_B64, '<UPLOADAUTH>').slice(0, 400);
  };
  for (const { name, value } of secrets) {
    if (value.length >= 8 && text.includes(value))
      findings.push({ secret: name, where, excerpt: mask(text) });
  }
  if (STS_TOKEN.test(text)) findings.push({ secret: 'an STS SecurityToken', where, excerpt: mask(text) });
  if (UPLOAD_AUTH_B64.test(text)) findings.push({ secret: 'an UploadAuth', where, excerpt: mask(text) });
  if (STS_SECRET_SHAPE.test(text))
    findings.push({ secret: 'an STS AccessKeySecret (by shape)', where, excerpt: mask(text) });
  if (SECRET_FIELD.test(text)) findings.push({ secret: 'a credential field', where, excerpt: mask(text) });
  return findings;
}
