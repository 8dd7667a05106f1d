import * as core from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  sanitizeErrorCode,
  sanitizeJobStatus,
  sanitizeMediaType,
  sanitizeRetryReason,
  sanitizeSourceType,
} from './metric-labels.js';

describe('metric label sets', () => {
  it('cover every code the core error classes and classify() produce', () => {
    const codes = new Set<string>();
    for (const value of Object.values(core)) {
      if (typeof value !== 'function' || !(value.prototype instanceof core.MediaferryError)) continue;
      const ErrorClass = value as unknown as new (message: string) => core.MediaferryError;
      codes.add(new ErrorClass('probe').code);
    }
    codes.add(core.classify(new Error('x')).code);
    codes.add(core.classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })).code);
    expect(codes.size).toBeGreaterThan(15);
    for (const code of codes) expect(ERROR_CODES, code).toContain(code);
  });

  it('map anything unknown to a fixed value', () => {
    expect(sanitizeSourceType('file')).toBe('file');
    expect(sanitizeSourceType('/srv/a.mp4')).toBe('other');
    expect(sanitizeMediaType(undefined)).toBe('none');
    expect(sanitizeMediaType('attached')).toBe('attached');
    expect(sanitizeMediaType('job_1')).toBe('other');
    expect(sanitizeJobStatus('running')).toBe('failed');
    expect(sanitizeErrorCode(undefined)).toBe('none');
    expect(sanitizeErrorCode('throttled')).toBe('THROTTLED');
    expect(sanitizeErrorCode('Source-Not-Found')).toBe('SOURCE_NOT_FOUND');
    expect(sanitizeErrorCode('connect ECONNREFUSED 10.0.0.1:443')).toBe('OTHER');
    expect(sanitizeErrorCode('x'.repeat(1000))).toBe('OTHER');
    expect(sanitizeErrorCode(42)).toBe('OTHER');
    expect(sanitizeRetryReason(undefined)).toBe('OTHER');
    expect(sanitizeRetryReason('none')).toBe('OTHER');
    expect(sanitizeRetryReason('NETWORK_ERROR')).toBe('NETWORK_ERROR');
    // The upload engine's reasons (@mediaferry/uploader RetryReason) map onto the same codes.
    expect(
      ['network', '5xx', 'throttled', 'timeout', 'credentials', 'integrity', 'source', 'other'].map(
        sanitizeRetryReason,
      ),
    ).toEqual([
      'NETWORK_ERROR',
      'STORAGE_ERROR',
      'THROTTLED',
      'TIMEOUT',
      'CREDENTIALS_EXPIRED',
      'INTEGRITY_MISMATCH',
      'SOURCE_UNAVAILABLE',
      'OTHER',
    ]);
  });
});
