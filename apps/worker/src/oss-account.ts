import type { OssAccount } from '@mediaferry/aliyun';
import type { Config } from '@mediaferry/config';

/**
 * The OSS endpoint for plain `{"type":"oss"}` targets. CONTRACT §4 has no variable for it: on Alibaba
 * Cloud (a `vod.<region>.aliyuncs.com` VOD endpoint) it is the region's public OSS endpoint; anywhere
 * else (the emulator, which serves VOD and OSS on one port) it is the VOD endpoint itself.
 */
export function ossAccountFromConfig(config: Pick<Config, 'vod'>): OssAccount {
  const { endpoint, region, accessKeyId, accessKeySecret } = config.vod;
  const host = endpoint.replace(/^[a-z]+:\/\//i, '').split(/[/:]/)[0] ?? '';
  const ossEndpoint = /(^|\.)aliyuncs\.com$/i.test(host) ? `https://oss-${region}.aliyuncs.com` : endpoint;
  return { endpoint: ossEndpoint, region, accessKeyId, accessKeySecret };
}
