import {
  AbortError,
  type JobProgress,
  type JobSpecInput,
  type JobStatus,
  type JobView,
  NetworkError,
} from '@mediaferry/core';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { ApiError } from './api-error.js';
import type { MediaferryClientOptions } from './client-options.js';
import { ClientUploadsApi } from './client-uploads.js';
import { abortableSleep, HttpTransport } from './http-transport.js';
import { isTerminalStatus, type JobEvent, parseJobEvent } from './job-events.js';

export interface CreateJobOptions {
  /** Sent as `Idempotency-Key`: the same key from the same service returns the existing job. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface CreateJobResult {
  job: JobView;
  /** false when an idempotency key matched an existing job (HTTP 200 instead of 202). */
  created: boolean;
}

/** One entry of a batch answer: the job, or why this spec was refused. */
export type BatchItem = JobView | BatchItemError;
export interface BatchItemError {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function isBatchItemError(item: BatchItem): item is BatchItemError {
  return 'error' in item && !('id' in item);
}

export interface ListJobsQuery {
  status?: JobStatus;
  /** Page size; the server caps it. */
  limit?: number;
  cursor?: string;
  signal?: AbortSignal;
}

export interface JobPage {
  jobs: JobView[];
  nextCursor: string | null;
}

export interface EventsOptions {
  signal?: AbortSignal;
}

export interface WaitForJobOptions {
  signal?: AbortSignal;
  /** Called with every progress update (from SSE, or from each poll on the fallback path). */
  onProgress?: (progress: JobProgress) => void;
  /** Called when the status changes (including the first one seen). */
  onStatus?: (status: JobStatus) => void;
  /** Poll period once the event stream is given up. @defaultValue 2_000 */
  pollIntervalMs?: number;
  /** Event-stream failures in a row before switching to polling only. @defaultValue 3 */
  maxStreamFailures?: number;
}

/**
 * Typed client of the mediaferry producer API (CONTRACT §1). Errors: ApiError (the API answered
 * with an error; `status`, `code`, `details`), NetworkError, TimeoutError, AbortError.
 */
export class MediaferryClient {
  readonly #http: HttpTransport;
  /** Client uploads (CONTRACT §2): create, refresh, get, list, cancel, tickets. */
  readonly clientUploads: ClientUploadsApi;

  constructor(options: MediaferryClientOptions) {
    this.#http = new HttpTransport(options);
    this.clientUploads = new ClientUploadsApi(this.#http);
  }

  /** POST /v1/jobs. Retried on transient failures only when an idempotency key makes that safe. */
  async createJob(spec: JobSpecInput, options: CreateJobOptions = {}): Promise<JobView> {
    return (await this.submitJob(spec, options)).job;
  }

  /** Like createJob, and also says whether the job is new or an idempotent replay. */
  async submitJob(spec: JobSpecInput, options: CreateJobOptions = {}): Promise<CreateJobResult> {
    const key = options.idempotencyKey ?? spec.idempotencyKey;
    const res = await this.#http.json<JobView>('POST', '/v1/jobs', {
      body: spec,
      headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
      signal: options.signal,
      idempotent: key !== undefined,
    });
    return { job: res.body, created: res.status !== 200 };
  }

  /** POST /v1/jobs/batch: up to 1000 specs, each accepted or refused on its own (same order). */
  async createJobs(
    specs: readonly JobSpecInput[],
    options: { signal?: AbortSignal } = {},
  ): Promise<BatchItem[]> {
    const res = await this.#http.json<{ jobs: BatchItem[] }>('POST', '/v1/jobs/batch', {
      body: { jobs: specs },
      signal: options.signal,
      idempotent: specs.every((s) => s.idempotencyKey !== undefined),
    });
    return res.body.jobs;
  }

  /** GET /v1/jobs/:id. Another service's job answers 404 (ApiError code NOT_FOUND). */
  async getJob(id: string, options: { signal?: AbortSignal } = {}): Promise<JobView> {
    return (await this.#http.json<JobView>('GET', jobPath(id), { signal: options.signal, idempotent: true }))
      .body;
  }

  /** GET /v1/jobs: one page. */
  async listJobs(query: ListJobsQuery = {}): Promise<JobPage> {
    const res = await this.#http.json<JobPage>('GET', '/v1/jobs', {
      query: { status: query.status, limit: query.limit, cursor: query.cursor },
      signal: query.signal,
      idempotent: true,
    });
    return { jobs: res.body.jobs, nextCursor: res.body.nextCursor ?? null };
  }

  /** Every job matching `query`, following `nextCursor` page by page (`limit` is the page size). */
  async *listAllJobs(query: Omit<ListJobsQuery, 'cursor'> = {}): AsyncGenerator<JobView, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.listJobs({ ...query, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.jobs;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** DELETE /v1/jobs/:id → the job, status `canceled`. */
  async cancelJob(id: string, options: { signal?: AbortSignal } = {}): Promise<JobView> {
    return (
      await this.#http.json<JobView>('DELETE', jobPath(id), { signal: options.signal, idempotent: true })
    ).body;
  }

  /** POST /v1/jobs/:id/retry: a failed or canceled job runs again (409 CONFLICT otherwise). */
  async retryJob(id: string, options: { signal?: AbortSignal } = {}): Promise<JobView> {
    return (
      await this.#http.json<JobView>('POST', `${jobPath(id)}/retry`, {
        signal: options.signal,
        idempotent: true,
      })
    ).body;
  }

  /**
   * GET /v1/jobs/:id/events: `progress` and `status` events until the job ends. The iterator finishes
   * after a terminal status event or when the server closes the stream; breaking out of the loop or
   * aborting `signal` closes the connection.
   */
  async *events(id: string, options: EventsOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
    const { response, close } = await this.#http.stream(
      `${jobPath(id)}/events`,
      'text/event-stream',
      options.signal,
    );
    try {
      const type = response.headers.get('content-type') ?? '';
      if (!type.startsWith('text/event-stream') || !response.body) {
        throw new ApiError(
          response.status,
          'INVALID_RESPONSE',
          `events answered "${type}", not an event stream`,
        );
      }
      const messages = response.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onError: 'terminate' }));
      try {
        for await (const message of messages) {
          const event = parseJobEvent(message);
          if (!event) continue;
          yield event;
          if (event.type === 'status' && isTerminalStatus(event.status)) return;
        }
      } catch (err) {
        if (options.signal?.aborted) throw new AbortError('The event stream was aborted', { cause: err });
        throw toStreamError(err);
      }
    } finally {
      close();
    }
  }

  /**
   * Resolves with the job once it is succeeded, failed or canceled (it does not throw for failed ones:
   * look at `status` and `error`). Follows the event stream and falls back to polling `GET
   * /v1/jobs/:id` when the stream is unavailable or keeps dropping.
   */
  async waitForJob(id: string, options: WaitForJobOptions = {}): Promise<JobView> {
    const { signal, onProgress, onStatus } = options;
    const pollIntervalMs = options.pollIntervalMs ?? 2_000;
    const maxStreamFailures = options.maxStreamFailures ?? 3;
    let lastStatus: JobStatus | undefined;
    const seeStatus = (status: JobStatus) => {
      if (status !== lastStatus) onStatus?.(status);
      lastStatus = status;
    };
    const seeJob = (job: JobView) => {
      onProgress?.(job.progress);
      seeStatus(job.status);
    };

    let streamFailures = 0;
    for (;;) {
      const job = await this.getJob(id, signal ? { signal } : {});
      seeJob(job);
      if (isTerminalStatus(job.status)) return job;

      if (streamFailures < maxStreamFailures) {
        let sawEvent = false;
        try {
          for await (const event of this.events(id, signal ? { signal } : {})) {
            sawEvent = true;
            if (event.type === 'progress') onProgress?.(event.progress);
            else {
              seeStatus(event.status);
              if (event.job) onProgress?.(event.job.progress);
            }
          }
        } catch (err) {
          // A 404 here means the job vanished; anything fatal (401...) is not going to heal either.
          if (err instanceof AbortError || (err instanceof ApiError && !err.retryable)) throw err;
        }
        // A stream that ends without delivering anything counts as a failure (proxies that buffer or cut).
        streamFailures = sawEvent ? 0 : streamFailures + 1;
        // Re-read the job: after a terminal event this returns it, after a drop it reconciles.
        if (sawEvent) continue;
      }
      await abortableSleep(pollIntervalMs, signal);
    }
  }
}

function jobPath(id: string): string {
  if (!id) throw new TypeError('job id is required');
  return `/v1/jobs/${encodeURIComponent(id)}`;
}

/** A dropped or garbled stream is a (retryable) network failure. */
function toStreamError(err: unknown): unknown {
  if (err instanceof ApiError || err instanceof AbortError || err instanceof NetworkError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new NetworkError(`the event stream broke: ${message}`, { cause: err });
}
