/**
 * Every error class of the engine, in one place. Two families:
 * - problems a person can fix (a setting, a file, a template, a request): the CLI prints the
 *   message alone and exits 2, the HTTP server answers 4xx with the message;
 * - `RetryableSendError`, thrown by the send path so BullMQ retries the job with backoff.
 *   Permanent failures are returned as values, never thrown (STYLE.md, practice 5).
 */

/** A problem the user can fix; the CLI prints its message alone, without a stack. */
export class UserError extends Error {
  override name = 'UserError';
}

/** A setting in the environment is missing or malformed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** An import file cannot be read or does not have the expected shape. */
export class FileError extends Error {
  override name = 'FileError';
}

/** The recommendation rules file is malformed. */
export class RulesError extends Error {
  override name = 'RulesError';
}

/** A YAML file people write failed its schema; each problem is `file:line: message`. */
export class YamlSourceError extends Error {
  override name = 'YamlSourceError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** The data a template needs (a customer, an order) is missing. */
export class ContextError extends Error {
  override name = 'ContextError';
}

/** Where a line of a template came from. */
export interface Origin {
  file: string;
  line: number;
}

/** A located finding of `templates check` or the compile pipeline. */
export interface Diagnostic extends Origin {
  severity: 'error' | 'warning';
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}: ${d.severity}: ${d.message}`;
}

/** Raised when an email cannot be assembled; carries located diagnostics. */
export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
  }
}

/** One failing field of a request. */
export interface Issue {
  path: string;
  message: string;
}

/** A 400 whose `issues` name each failing field. */
export class RequestValidationError extends Error {
  statusCode = 400;
  code = 'FST_ERR_VALIDATION';
  constructor(readonly issues: Issue[]) {
    super(`Invalid request: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
  }
}

/** Thrown for an SMTP answer worth retrying: the job is retried with backoff. */
export class RetryableSendError extends Error {
  override name = 'RetryableSendError';
  /** True when the server certainly did not take the message (an explicit 4xx, no connection). */
  constructor(
    message: string,
    readonly nothingSent = false,
  ) {
    super(message);
  }
}

/** A shop platform's webhook payload that cannot be mapped to the engine's records: why, in words a shop owner can act on. */
export class MappingError extends Error {}
