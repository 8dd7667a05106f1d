import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * One plain line per request (method, path without query, status, service, duration). Plain fields
 * rather than the request object: nothing there to serialize, so no header (Authorization) can
 * ever reach a log line, and the scrubbing logger of @mediaferry/telemetry has nothing to unwrap.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = {
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      service: request.service || undefined,
      ms: Math.round(reply.elapsedTime),
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }
}
