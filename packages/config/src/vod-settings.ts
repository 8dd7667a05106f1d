import { ConfigError } from '@mediaferry/core';

export interface VodSettings {
  endpoint: string;
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Where the pair came from: the environment, or the emulator's default (loopback endpoints only). */
  credentialSource: 'environment' | 'emulator-default';
}

/** The VOD variables as parsed (`VOD_ENDPOINT`, `VOD_REGION`, `ALIBABA_CLOUD_ACCESS_KEY_ID`/`_SECRET`). */
export interface VodEnv {
  endpoint: string;
  region: string;
  accessKeyId: string | undefined;
  accessKeySecret: string | undefined;
}

/** The AccessKey pair the emulator accepts unless told otherwise; used only against a loopback endpoint. */
export const EMULATOR_DEFAULT_ACCESS_KEY = Object.freeze({
  id: 'emulator-access-key-id',
  secret: 'emulator-access-key-secret',
});

/** Whether `endpoint` (a URL, or a bare `host[:port]`) names this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`).hostname;
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * Fails closed: the emulator's well-known pair is only a default for a loopback endpoint (the demo and
 * the tests); any other endpoint needs a pair from the environment, so a misconfigured worker never
 * talks to a real service with keys everybody knows.
 */
export function vodSettings(e: VodEnv): VodSettings {
  const id = e.accessKeyId;
  const secret = e.accessKeySecret;
  const base = { endpoint: e.endpoint, region: e.region };
  if (id !== undefined && secret !== undefined)
    return { ...base, accessKeyId: id, accessKeySecret: secret, credentialSource: 'environment' };
  if (id !== undefined || secret !== undefined) {
    const missing = id === undefined ? 'ALIBABA_CLOUD_ACCESS_KEY_ID' : 'ALIBABA_CLOUD_ACCESS_KEY_SECRET';
    throw new ConfigError(`Invalid configuration:\n  ${missing}: set it too (only half of the pair is set)`, {
      details: { variables: [missing] },
    });
  }
  if (!isLoopbackEndpoint(e.endpoint)) {
    throw new ConfigError(
      `Invalid configuration:\n  ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: required for VOD_ENDPOINT ${e.endpoint} (the emulator's default pair is used only for a loopback endpoint)`,
      { details: { variables: ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET'] } },
    );
  }
  return {
    ...base,
    accessKeyId: EMULATOR_DEFAULT_ACCESS_KEY.id,
    accessKeySecret: EMULATOR_DEFAULT_ACCESS_KEY.secret,
    credentialSource: 'emulator-default',
  };
}

/** What every app logs at start: which VOD it talks to, and with whose keys (never the keys). */
export function vodStartupFields(config: { vod: VodSettings }): {
  vodEndpoint: string;
  vodRegion: string;
  vodAccessKeyFrom: VodSettings['credentialSource'];
} {
  return {
    vodEndpoint: config.vod.endpoint,
    vodRegion: config.vod.region,
    vodAccessKeyFrom: config.vod.credentialSource,
  };
}
