// What a failed call to an external Postgres means for the client: a stable code, never a 500, never a credential.
import { ApiError } from "../../lib/problem.ts";

interface NeonFailure {
  name?: string;
  message?: string;
  code?: string;
  sourceError?: { name?: string; message?: string };
}

const isTimeout = (error: NeonFailure | undefined) => error?.name === "TimeoutError" || error?.name === "AbortError";

/** Turns a Neon driver error from a data source into the ApiError to answer with. */
export function postgresProblem(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const failure = (error ?? {}) as NeonFailure;
  const code = typeof failure.code === "string" ? failure.code : undefined;
  const message = failure.message ?? "";
  if (isTimeout(failure) || isTimeout(failure.sourceError)) {
    return new ApiError(504, { code: "DATA_SOURCE_TIMEOUT", detail: "The database did not answer in time (DATA_SOURCE_TIMEOUT_MS)." });
  }
  if (code?.startsWith("28")) {
    return new ApiError(502, { code: "DATA_SOURCE_AUTH_FAILED", detail: `The database refused the stored credentials: ${message}` });
  }
  if (code === "3D000")
    return new ApiError(502, { code: "DATA_SOURCE_AUTH_FAILED", detail: `The database refused the connection: ${message}` });
  // A write Postgres refuses in a read-only transaction, in a cursor's query, or as SELECT … INTO (it creates a table).
  if (
    code === "25006" ||
    (code === "0A000" && /data-modifying/i.test(message)) ||
    (code === "42601" && /SELECT \.\.\. INTO/i.test(message))
  ) {
    return new ApiError(422, { code: "QUERY_NOT_READ_ONLY", detail: `Queries here run in a read-only transaction: ${message}` });
  }
  if (code === "57014")
    return new ApiError(422, { code: "QUERY_TIMEOUT", detail: "The query ran longer than the statement timeout and was cancelled." });
  if (code?.startsWith("08") || code?.startsWith("57P")) {
    return new ApiError(502, { code: "DATA_SOURCE_UNREACHABLE", detail: `The database closed the connection: ${message}` });
  }
  if (code && /^[0-9A-Z]{5}$/.test(code))
    return new ApiError(422, { code: "QUERY_FAILED", detail: `The database refused the query: ${message}` });
  if (/^Error connecting to database/i.test(message)) {
    return new ApiError(502, { code: "DATA_SOURCE_UNREACHABLE", detail: "The database's HTTP endpoint could not be reached." });
  }
  const status = /HTTP status (\d{3})/.exec(message)?.[1];
  if (status === "401" || status === "403") {
    return new ApiError(502, {
      code: "DATA_SOURCE_AUTH_FAILED",
      detail: `The database's HTTP endpoint refused the credentials (HTTP ${status}).`,
    });
  }
  return new ApiError(502, {
    code: "DATA_SOURCE_ERROR",
    detail: status
      ? `The database's HTTP endpoint answered HTTP ${status}; is it a Neon SQL-over-HTTP endpoint?`
      : "The database's HTTP endpoint gave an answer this API cannot read.",
  });
}
