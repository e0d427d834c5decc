import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, errorCodes, type FieldError, GatewayError } from '../errors.js';
import type { Problem } from './schemas.js';

const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Fastify's own error codes, translated once, here. */
const fastifyCodes: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.MalformedJson,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.MalformedJson,
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.BodyTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.UnsupportedMediaType,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCode.InvalidRequest,
  FST_ERR_VALIDATION: ErrorCode.InvalidRequest,
};

type ValidationPart = FieldError['in'];

/** Turns any error reaching the boundary into problem details; 5xx details are not leaked. */
function toProblem(
  error: unknown,
  request: FastifyRequest,
): { problem: Problem; headers: Record<string, string> } {
  let code: ErrorCode = ErrorCode.Internal;
  let detail = 'unexpected error; see the gateway log for request ' + request.id;
  let errors: readonly FieldError[] | undefined;
  let headers: Record<string, string> = {};
  if (error instanceof GatewayError) {
    code = error.code;
    detail = error.message;
    errors = error.extra.errors;
    headers = error.extra.headers ?? {};
  } else if (isUnavailable(error)) {
    code = ErrorCode.NotReady;
    detail =
      'a dependency of the gateway (PostgreSQL) is unreachable; try again shortly, `/readyz` says which';
  } else if (isFastifyError(error)) {
    const mapped = (error.code && fastifyCodes[error.code]) ?? undefined;
    if (error.validation) {
      code = ErrorCode.InvalidRequest;
      errors = validationErrors(error.validation, error.validationContext as ValidationPart);
      detail = `invalid request: ${errors.map((e) => `${e.field || (e.in ?? 'body')}: ${e.message}`).join('; ')}`;
    } else if (mapped) {
      code = mapped;
      detail = fastifyDetail(mapped, error);
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      code = ErrorCode.InvalidRequest;
      detail = error.message;
    }
  }
  const info = errorCodes[code];
  const problem: Problem = {
    type: `urn:lxr:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: info.title,
    status: info.status,
    detail,
    instance: request.url.split('?')[0] ?? request.url,
    code,
    requestId: String(request.id),
    ...(errors && errors.length > 0 ? { errors: [...errors] } : {}),
  };
  return { problem, headers };
}

function fastifyDetail(code: ErrorCode, error: FastifyError): string {
  switch (code) {
    case ErrorCode.MalformedJson:
      return `the request body is not valid JSON: ${error.message}`;
    case ErrorCode.BodyTooLarge:
      return 'the request body is larger than the gateway accepts; send a smaller body';
    case ErrorCode.UnsupportedMediaType:
      return 'the request body must be application/json';
    default:
      return error.message;
  }
}

/** One entry per field, the first message for it; JSON pointers as given, dotted paths for people. */
function validationErrors(
  validation: FastifyError['validation'] & object,
  part: ValidationPart,
): FieldError[] {
  const seen = new Map<string, FieldError>();
  for (const v of validation) {
    const pointer = v.instancePath ?? '';
    if (seen.has(pointer)) continue;
    const field = pointer
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
      .join('.');
    seen.set(pointer, { pointer, field, ...(part ? { in: part } : {}), message: v.message ?? 'invalid' });
  }
  return [...seen.values()];
}

/** Errors meaning PostgreSQL (or another dependency) cannot be reached right now, not a bug. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01',
  '57P03',
  '08006',
  '08001',
]);

function isUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (e.message.includes('Connection terminated')) return true;
    e = e.cause;
  }
  return false;
}

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && ('code' in error || 'statusCode' in error || 'validation' in error);
}

/** Sends a problem; the body is serialised here so no route's response schema filters it. */
export function sendProblem(reply: FastifyReply, error: unknown): FastifyReply {
  const { problem, headers } = toProblem(error, reply.request);
  if (problem.status >= 500) reply.request.log.error({ err: error }, problem.detail);
  return reply
    .status(problem.status)
    .headers(headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem));
}

/** Installs problem+json for every error and for unknown routes. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, _request, reply) => sendProblem(reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new GatewayError(
        ErrorCode.RouteNotFound,
        `no route ${request.method} ${request.url.split('?')[0]}; see /openapi.json for the routes`,
      ),
    ),
  );
}
