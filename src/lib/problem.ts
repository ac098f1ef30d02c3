// RFC 9457 problem details: the one error shape, its stable codes, and the ApiError that carries them.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "@hono/zod-openapi";

export const ErrorCode = z.enum([
  "BAD_REQUEST",
  "VALIDATION_FAILED",
  "INVALID_JSON",
  "UNAUTHORIZED",
  "INVALID_CREDENTIALS",
  "INVALID_TOKEN",
  "TOKEN_EXPIRED",
  "TOKEN_REUSED",
  "FORBIDDEN",
  "INSUFFICIENT_SCOPE",
  "LAST_OWNER",
  "EMAIL_NOT_VERIFIED",
  "VERIFICATION_TOKEN_INVALID",
  "VERIFICATION_TOKEN_EXPIRED",
  "VERIFICATION_TOKEN_USED",
  "INVITATION_EXPIRED",
  "INVITATION_REVOKED",
  "INVITATION_USED",
  "INVITATION_EMAIL_MISMATCH",
  "ALREADY_MEMBER",
  "MFA_CODE_INVALID",
  "MFA_CODE_REUSED",
  "MFA_CHALLENGE_INVALID",
  "MFA_ALREADY_ENABLED",
  "MFA_NOT_ENROLLED",
  "MFA_REQUIRED",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "CONFLICT",
  "GONE",
  "PRECONDITION_FAILED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "UNPROCESSABLE_ENTITY",
  "UPLOAD_TOO_LARGE",
  "UPLOAD_OFFSET_MISMATCH",
  "UPLOAD_EXPIRED",
  "UPLOAD_FAILED",
  "TOO_MANY_ROWS",
  "TOO_MANY_COLUMNS",
  "EMPTY_FILE",
  "BINARY_FILE",
  "NOT_UTF8",
  "ENCODING_MISMATCH",
  "UNKNOWN_COLUMN",
  "CSV_MALFORMED",
  "JSON_MALFORMED",
  "JSON_TOO_DEEP",
  "ROW_TOO_LARGE",
  "FORMAT_MISMATCH",
  "PARQUET_MALFORMED",
  "PARQUET_ROW_GROUP_TOO_LARGE",
  "XLSX_MALFORMED",
  "XLSX_TOO_LARGE",
  "XLSX_SHEET_NOT_FOUND",
  "XLSX_ROW_LIMIT",
  "RATE_LIMITED",
  "BUDGET_EXHAUSTED",
  "IDEMPOTENCY_KEY_REUSED",
  "IDEMPOTENCY_IN_FLIGHT",
  "IDEMPOTENCY_NOT_REPLAYABLE",
  "INTERNAL_ERROR",
  "CONFIG_INVALID",
  "SERVICE_UNAVAILABLE",
  "DEPENDENCY_UNAVAILABLE",
  "MODEL_UNAVAILABLE",
  "MODEL_TIMEOUT",
  "MODEL_OUTPUT_INVALID",
  "MODEL_ERROR",
  "ANALYSIS_ABANDONED",
  "CHAT_BUSY",
  "DATA_SOURCE_UNREACHABLE",
  "DATA_SOURCE_TIMEOUT",
  "DATA_SOURCE_AUTH_FAILED",
  "DATA_SOURCE_ERROR",
  "DATA_SOURCE_CIRCUIT_OPEN",
  "DATA_SOURCE_BUSY",
  "DATA_SOURCE_WRONG_KIND",
  "DATA_SOURCE_SECRET_UNREADABLE",
  "DATA_SOURCE_ADDRESS_REFUSED",
  "WEBHOOK_URL_REFUSED",
  "QUERY_NOT_READ_ONLY",
  "QUERY_NOT_ALLOWED",
  "QUERY_INVALID",
  "QUERY_RESULT_TOO_LARGE",
  "DATASET_NOT_READY",
  "QUERY_FAILED",
  "QUERY_TIMEOUT",
  "RESULT_TOO_LARGE",
  "REDIS_COMMAND_NOT_ALLOWED",
  "REDIS_COMMAND_FAILED",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const FieldError = z.object({
  path: z.string().openapi({ example: "body.name" }),
  message: z.string().openapi({ example: "Too big: expected string to have <=200 characters" }),
});
export type FieldError = z.infer<typeof FieldError>;

export const Problem = z
  .object({
    type: z.string().openapi({ example: "https://datacrafted.app/problems/not-found" }),
    title: z.string().openapi({ example: "Not Found" }),
    status: z.number().int().openapi({ example: 404 }),
    detail: z.string().openapi({ example: "No route matches GET /api/v1/nope." }),
    instance: z.string().openapi({ example: "/api/v1/nope" }),
    code: ErrorCode,
    requestId: z.string().openapi({ example: "0b6f1c1e-3c4e-4b8a-9a43-5c1f4b1f6a2e" }),
    errors: z.array(FieldError).optional(),
  })
  .openapi("Problem", { description: "An RFC 9457 problem detail; `code` is stable, `detail` is for people." });
export type Problem = z.infer<typeof Problem>;

/** The code that a bare HTTP status means when nothing more specific was said. */
const codeByStatus: Partial<Record<number, ErrorCode>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  410: "GONE",
  412: "PRECONDITION_FAILED",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "UNPROCESSABLE_ENTITY",
  429: "RATE_LIMITED",
  503: "SERVICE_UNAVAILABLE",
};

export const codeForStatus = (status: number): ErrorCode => codeByStatus[status] ?? (status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST");

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export interface ApiErrorOptions {
  code?: ErrorCode;
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Members beyond the standard ones (RFC 9457 §3.2), e.g. a readiness report. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/** Thrown anywhere in a request; `handleError` turns it into problem+json. */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(status: ContentfulStatusCode, options: ApiErrorOptions) {
    super(status, { message: options.detail, cause: options.cause });
    this.code = options.code ?? codeForStatus(status);
    this.detail = options.detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

const kebab = (code: ErrorCode) => code.toLowerCase().replaceAll("_", "-");

/** The problem document for `error`; `instance` is the path the client sent. */
export function problemBody(error: ApiError, instance: string, requestId: string): Problem & Record<string, unknown> {
  const status = error.status as ContentfulStatusCode;
  return {
    ...error.extensions,
    type: `https://datacrafted.app/problems/${kebab(error.code)}`,
    title: titles[status] ?? "Error",
    status,
    detail: error.detail,
    instance,
    code: error.code,
    requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

/** Builds the problem+json response for `error` in the context of request `c`. */
export function problemResponse(c: Context, error: ApiError): Response {
  // The path the client sent (c.req.path would show a deprecated alias's successor).
  const body = problemBody(error, new URL(c.req.url).pathname, c.get("requestId") ?? "unknown");
  c.set("problemCode", error.code);
  return c.body(JSON.stringify(body), error.status as ContentfulStatusCode, {
    ...error.headers,
    "Content-Type": "application/problem+json",
    "Cache-Control": "no-store",
  });
}
