/**
 * Cost of the emulator's OSS signature checks: V4 (canonical request, string to sign, HMAC with the
 * cached signing key) against V1 (string to sign, HMAC-SHA1) for the same STS UploadPart request, in
 * ONE run, rounds alternating. Prints µs per check and the V4/V1 ratio per round; asserts no time.
 *
 *   node test/bench/oss-signature.bench.ts          (after `pnpm build`)
 *
 * Knobs (environment): BENCH_CHECKS=50000 per round, BENCH_ROUNDS=4.
 */
import { ossSign, ossStringToSign } from '../../apps/emulator/dist/auth/oss-signature.js';
import {
  V4SigningKeys,
  v4CanonicalRequest,
  v4Signature,
  v4StringToSign,
} from '../../apps/emulator/dist/auth/oss-v4-signature.js';

const checks = Number(process.env.BENCH_CHECKS ?? 50_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const token = `CAIS${'x'.repeat(240)}`;
const query = new Map([
  ['partNumber', '7'],
  ['uploadId', 'ABCDEF0123456789ABCDEF0123456789'],
]);
const key = 'sv/abc-123/abc-123.mp4';
const v1Headers = {
  'content-type': 'video/mp4',
  'x-oss-date': 'Sat, 05 Dec 2026 20:00:00 GMT',
  'x-oss-security-token': token,
};
const v4Headers = {
  'content-type': 'video/mp4',
  'x-oss-date': '20261205T200000Z',
  'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
  'x-oss-security-token': token,
};
const scope = { accessKeyId: 'STS.x', date: '20261205', region: 'cn-shanghai', product: 'oss' };
const keys = new V4SigningKeys();

const v1 = () => ossSign('secret', ossStringToSign('PUT', v1Headers, 'bucket', key, query));
const v4 = () => {
  const canonical = v4CanonicalRequest(
    { method: 'PUT', headers: v4Headers, bucket: 'bucket', key, query },
    [],
    false,
  );
  return v4Signature(keys.get('secret', scope), v4StringToSign('20261205T200000Z', scope, canonical));
};

function microsPerCheck(f: () => string): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < checks; i++) f();
  return Number(process.hrtime.bigint() - started) / checks / 1000;
}

microsPerCheck(v1);
microsPerCheck(v4);
for (let r = 1; r <= rounds; r++) {
  const a = microsPerCheck(v1);
  const b = microsPerCheck(v4);
  console.log(
    `round ${r}: V1 ${a.toFixed(1)} µs, V4 ${b.toFixed(1)} µs per check, V4/V1 ${(b / a).toFixed(2)}`,
  );
}
