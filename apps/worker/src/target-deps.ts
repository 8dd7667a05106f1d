import { VodClient } from '@mediaferry/aliyun';
import type { Config } from '@mediaferry/config';
import { ossAccountFromConfig } from './oss-account.js';

/** The VOD client and plain-OSS account every storage target of this worker is built from. */
export function targetDepsFromConfig(config: Pick<Config, 'vod' | 'ossSignatureVersion'>) {
  const vod = new VodClient({
    endpoint: config.vod.endpoint,
    regionId: config.vod.region,
    accessKeyId: config.vod.accessKeyId,
    accessKeySecret: config.vod.accessKeySecret,
  });
  return {
    vod,
    ossAccount: ossAccountFromConfig(config),
    client: { signatureVersion: config.ossSignatureVersion },
  };
}
