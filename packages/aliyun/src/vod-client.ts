import type * as OpenApiCore from '@alicloud/openapi-core';
import type * as Dara from '@darabonba/typescript';
import { ConfigError, throwIfAborted, VodError } from '@mediaferry/core';
import { z } from 'zod';
import { raceSignal } from './abort.js';
import { decodeUploadAddress, decodeUploadAuth } from './upload-auth.js';
import { mapVodError } from './vod-errors.js';
import type {
  CreateUploadAttachedMediaInput,
  CreateUploadAttachedMediaResult,
  CreateUploadImageInput,
  CreateUploadImageResult,
  CreateUploadVideoInput,
  CreateUploadVideoResult,
  DeleteVideoResult,
  GetImageInfoResult,
  GetVideoInfoResult,
  GetVideoInfosResult,
  UploadTicket,
  VodCallOptions,
  VodClientOptions,
} from './vod-types.js';
import { n, s, videoInfo, videoInfosSchema } from './vod-video-info.js';

type OpenApiClass = typeof OpenApiCore.default.default;
type OpenApiClient = InstanceType<OpenApiClass>;

interface OpenApiRuntime {
  OpenApi: OpenApiClass;
  $OpenApiUtil: typeof OpenApiCore.$OpenApiUtil;
  OpenApiUtil: typeof OpenApiCore.OpenApiUtil;
  RuntimeOptions: typeof Dara.RuntimeOptions;
}

let openApiRuntime: Promise<OpenApiRuntime> | undefined;

/**
 * `@alicloud/openapi-core` and its runtime, loaded on the first VOD call: they weigh ~9 MiB of RSS, which a
 * process that only uploads to plain OSS buckets (or never reaches VOD) does not need to carry.
 */
function loadOpenApi(): Promise<OpenApiRuntime> {
  openApiRuntime ??= Promise.all([import('@alicloud/openapi-core'), import('@darabonba/typescript')]).then(
    ([core, dara]) => {
      // A CommonJS module with `exports.default`: Node hands us `module.exports` as `default`, Vite's
      // interop the class itself.
      const main = core.default as unknown as { default?: OpenApiClass } & OpenApiClass;
      return {
        OpenApi: main.default ?? main,
        $OpenApiUtil: core.$OpenApiUtil,
        OpenApiUtil: core.OpenApiUtil,
        RuntimeOptions: dara.RuntimeOptions,
      };
    },
  );
  return openApiRuntime;
}

export const VOD_API_VERSION = '2017-03-21';

type QueryValue = string | number | undefined;

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

/**
 * Splits `http://host:port` into openapi-core's `protocol` and `endpoint` (host[:port], sent verbatim
 * as Host). Without a scheme: https, except for loopback hosts (the emulator's `127.0.0.1:PORT`): http.
 */
export function parseVodEndpoint(endpoint: string): { protocol: 'http' | 'https'; host: string } {
  const raw = endpoint.trim();
  const defaultScheme = LOOPBACK_HOST.test(raw) ? 'http' : 'https';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${defaultScheme}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`VOD endpoint "${endpoint}" is not a valid host or URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`VOD endpoint "${endpoint}" must use http or https`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.username) {
    throw new ConfigError(`VOD endpoint "${endpoint}" must be a bare host (no path, query or credentials)`);
  }
  return { protocol: url.protocol === 'http:' ? 'http' : 'https', host: url.host };
}

function commaList(value: readonly (string | number)[] | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value : value.map(String).join(',');
  return list.length > 0 ? list : undefined;
}

function jsonString(value: Record<string, unknown> | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const optString = z.string().nullish();
const ticketSchema = z.looseObject({
  RequestId: z.string(),
  UploadAddress: z.string().min(1),
  UploadAuth: z.string().min(1),
});
const createVideoSchema = ticketSchema.extend({ VideoId: z.string().min(1) });
const createImageSchema = ticketSchema.extend({
  ImageId: z.string().min(1),
  ImageURL: optString,
  FileURL: optString,
});
const createAttachedSchema = ticketSchema.extend({
  MediaId: z.string().min(1),
  MediaURL: optString,
  FileURL: optString,
});
const videoInfoSchema = z.looseObject({
  RequestId: z.string(),
  Video: z.looseObject({ VideoId: z.string().min(1), Status: z.string() }),
});
const imageInfoSchema = z.looseObject({
  RequestId: z.string(),
  ImageInfo: z.looseObject({ ImageId: z.string().min(1) }),
});
const idList = z
  .union([
    z.array(z.string()),
    z.looseObject({ VideoId: z.union([z.array(z.string()), z.string()]).optional() }),
  ])
  .nullish()
  .transform((v): string[] => {
    if (!v) return [];
    if (Array.isArray(v)) return v;
    const ids = v.VideoId;
    return ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
  });
const deleteVideoSchema = z.looseObject({
  RequestId: z.string(),
  NonExistVideoIds: idList,
  ForbiddenVideoIds: idList,
});

/**
 * A typed VOD (2017-03-21) client over `@alicloud/openapi-core`, calling each action exactly as the
 * generated `@alicloud/vod20170321` client does (RPC style, parameters in the query, ACS3-HMAC-SHA256).
 * Every failure is a typed `@mediaferry/core` error (see `mapVodError`); nothing is retried here.
 */
export class VodClient {
  readonly regionId: string;
  readonly endpoint: string;
  readonly #options: VodClientOptions;
  readonly #protocol: 'http' | 'https';
  readonly #host: string;
  #client: OpenApiClient | undefined;

  constructor(options: VodClientOptions) {
    if (!options.accessKeyId || !options.accessKeySecret) {
      throw new ConfigError('VOD needs an AccessKey id and secret');
    }
    const { protocol, host } = parseVodEndpoint(options.endpoint);
    this.regionId = options.regionId;
    this.endpoint = `${protocol}://${host}`;
    this.#options = options;
    this.#protocol = protocol;
    this.#host = host;
  }

  /** The openapi-core client, built on first use (see `loadOpenApi`). */
  #openApi(runtime: OpenApiRuntime): OpenApiClient {
    const o = this.#options;
    this.#client ??= new runtime.OpenApi(
      new runtime.$OpenApiUtil.Config({
        accessKeyId: o.accessKeyId,
        accessKeySecret: o.accessKeySecret,
        securityToken: o.securityToken,
        endpoint: this.#host,
        protocol: this.#protocol,
        regionId: o.regionId,
        connectTimeout: o.connectTimeoutMs ?? 5_000,
        readTimeout: o.readTimeoutMs ?? 15_000,
      }),
    );
    return this.#client;
  }

  /** Calls one RPC action; resolves with the JSON body. */
  async call(
    action: string,
    query: Record<string, QueryValue>,
    options: VodCallOptions = {},
  ): Promise<unknown> {
    throwIfAborted(options.signal);
    const runtime = await raceSignal(loadOpenApi(), options.signal, `VOD ${action}`);
    const { $OpenApiUtil, OpenApiUtil } = runtime;
    const client = this.#openApi(runtime);
    const params = new $OpenApiUtil.Params({
      action,
      version: VOD_API_VERSION,
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const defined = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== ''));
    const request = new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(defined) });
    try {
      const res = await raceSignal(
        client.callApi(params, request, new runtime.RuntimeOptions({})),
        options.signal,
        `VOD ${action}`,
      );
      return (res as { body?: unknown }).body;
    } catch (err) {
      throw mapVodError(err, action);
    }
  }

  async createUploadVideo(
    input: CreateUploadVideoInput,
    options?: VodCallOptions,
  ): Promise<CreateUploadVideoResult> {
    const body = await this.call(
      'CreateUploadVideo',
      {
        Title: input.title,
        FileName: input.fileName,
        FileSize: input.fileSize,
        Description: input.description,
        CoverURL: input.coverUrl,
        CateId: input.cateId,
        Tags: commaList(input.tags),
        TemplateGroupId: input.templateGroupId,
        WorkflowId: input.workflowId,
        StorageLocation: input.storageLocation,
        AppId: input.appId,
        UserData: jsonString(input.userData),
        ReferenceId: input.referenceId,
      },
      options,
    );
    const parsed = this.#parse(createVideoSchema, body, 'CreateUploadVideo');
    return { ...this.#ticket(parsed, parsed.VideoId), videoId: parsed.VideoId };
  }

  /** New credentials for an existing video upload; VOD keeps its address and VideoId. */
  async refreshUploadVideo(videoId: string, options?: VodCallOptions): Promise<UploadTicket> {
    const body = await this.call('RefreshUploadVideo', { VideoId: videoId }, options);
    const parsed = this.#parse(
      ticketSchema.extend({ VideoId: z.string().optional() }),
      body,
      'RefreshUploadVideo',
    );
    return this.#ticket(parsed, parsed.VideoId ?? videoId);
  }

  async createUploadImage(
    input: CreateUploadImageInput,
    options?: VodCallOptions,
  ): Promise<CreateUploadImageResult> {
    const body = await this.call(
      'CreateUploadImage',
      {
        ImageType: input.imageType ?? 'default',
        ImageExt: input.imageExt,
        Title: input.title,
        Tags: commaList(input.tags),
        CateId: input.cateId,
        Description: input.description,
        OriginalFileName: input.originalFileName,
        StorageLocation: input.storageLocation,
        AppId: input.appId,
        UserData: jsonString(input.userData),
      },
      options,
    );
    const parsed = this.#parse(createImageSchema, body, 'CreateUploadImage');
    return {
      ...this.#ticket(parsed, parsed.ImageId),
      imageId: parsed.ImageId,
      imageUrl: parsed.ImageURL ?? null,
      fileUrl: parsed.FileURL ?? null,
    };
  }

  async createUploadAttachedMedia(
    input: CreateUploadAttachedMediaInput,
    options?: VodCallOptions,
  ): Promise<CreateUploadAttachedMediaResult> {
    const body = await this.call(
      'CreateUploadAttachedMedia',
      {
        BusinessType: input.businessType,
        MediaExt: input.mediaExt,
        Title: input.title,
        FileName: input.fileName,
        FileSize: input.fileSize,
        Tags: commaList(input.tags),
        CateIds: commaList(input.cateIds),
        Description: input.description,
        StorageLocation: input.storageLocation,
        AppId: input.appId,
        UserData: jsonString(input.userData),
      },
      options,
    );
    const parsed = this.#parse(createAttachedSchema, body, 'CreateUploadAttachedMedia');
    return {
      ...this.#ticket(parsed, parsed.MediaId),
      mediaUrl: parsed.MediaURL ?? null,
      fileUrl: parsed.FileURL ?? null,
    };
  }

  async getVideoInfo(videoId: string, options?: VodCallOptions): Promise<GetVideoInfoResult> {
    const body = await this.call('GetVideoInfo', { VideoId: videoId }, options);
    const parsed = this.#parse(videoInfoSchema, body, 'GetVideoInfo');
    return { requestId: parsed.RequestId, video: videoInfo(parsed.Video) };
  }

  /**
   * GetVideoInfos by ReferenceIds (ours or the caller's, 1 to 20): the videos found, and the
   * ReferenceIds VOD does not know in `nonExistIds`.
   */
  async getVideoInfosByReferenceIds(
    referenceIds: readonly string[],
    options?: VodCallOptions,
  ): Promise<GetVideoInfosResult> {
    if (referenceIds.length === 0 || referenceIds.length > 20)
      throw new VodError('GetVideoInfos takes 1 to 20 ReferenceIds', { status: 400 });
    const body = await this.call('GetVideoInfos', { ReferenceIds: referenceIds.join(',') }, options);
    const parsed = this.#parse(videoInfosSchema, body, 'GetVideoInfos');
    return {
      requestId: parsed.RequestId,
      videos: parsed.VideoList.map(videoInfo),
      nonExistIds: parsed.NonExistReferenceIds,
    };
  }

  async getImageInfo(imageId: string, options?: VodCallOptions): Promise<GetImageInfoResult> {
    const body = await this.call('GetImageInfo', { ImageId: imageId }, options);
    const parsed = this.#parse(imageInfoSchema, body, 'GetImageInfo');
    const i = parsed.ImageInfo as Record<string, unknown> & { ImageId: string };
    const mezzanine = (typeof i.Mezzanine === 'object' && i.Mezzanine !== null ? i.Mezzanine : {}) as Record<
      string,
      unknown
    >;
    return {
      requestId: parsed.RequestId,
      image: {
        imageId: i.ImageId,
        title: s(i.Title),
        status: s(i.Status),
        imageType: s(i.ImageType),
        url: s(i.URL),
        storageLocation: s(i.StorageLocation),
        appId: s(i.AppId),
        originalFileName: s(mezzanine.OriginalFileName),
        fileSize: n(mezzanine.FileSize),
        fileUrl: s(mezzanine.FileURL),
        raw: i,
      },
    };
  }

  /** Deletes videos (VOD takes up to 20 ids per call). Unknown ids come back in `nonExistVideoIds`. */
  async deleteVideo(
    videoIds: string | readonly string[],
    options?: VodCallOptions,
  ): Promise<DeleteVideoResult> {
    const ids = typeof videoIds === 'string' ? [videoIds] : [...videoIds];
    if (ids.length === 0 || ids.length > 20)
      throw new VodError('DeleteVideo takes 1 to 20 video ids', { status: 400 });
    const body = await this.call('DeleteVideo', { VideoIds: ids.join(',') }, options);
    const parsed = this.#parse(deleteVideoSchema, body, 'DeleteVideo');
    return {
      requestId: parsed.RequestId,
      nonExistVideoIds: parsed.NonExistVideoIds,
      forbiddenVideoIds: parsed.ForbiddenVideoIds,
    };
  }

  #ticket(body: z.infer<typeof ticketSchema>, mediaId: string): UploadTicket {
    return {
      requestId: body.RequestId,
      mediaId,
      address: decodeUploadAddress(body.UploadAddress),
      credentials: decodeUploadAuth(body.UploadAuth, this.regionId),
    };
  }

  #parse<T extends z.ZodType>(schema: T, body: unknown, action: string): z.infer<T> {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
      throw new VodError(`VOD ${action} returned an unexpected body (fields: ${fields})`, {
        status: 502,
        retryable: false,
        details: { action },
      });
    }
    return parsed.data;
  }

  /** Masks the secret in logs. */
  toJSON(): Record<string, string> {
    return { endpoint: this.endpoint, regionId: this.regionId };
  }
}
