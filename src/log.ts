/**
 * The process logger: JSON lines on stderr (pipe through pino-pretty to read them).
 *
 * Logs travel further than the database (to log shippers, tickets, CI output), so what a
 * customer could be identified or acted for by stays out of them:
 * - request URLs lose their tracking and unsubscribe tokens (a token in a log is a way to
 *   unsubscribe someone, or to read which emails they got);
 * - errors lose the bound parameters of a failed query (names, emails, addresses): the
 *   driver's `params` field is dropped and drizzle's `\nparams: …` tail is cut from the
 *   message, in the error and in the log line's own message alike.
 */
import { pino, stdSerializers, type Logger } from 'pino';

/** Path prefixes whose next segment is a signed token: unsubscribe, open pixel, click. */
const TOKEN_PATHS = /(\/(?:u|t\/o|t\/c)\/)[^/?#]+/g;

/** `url` with every token segment replaced by `<token>` (the rest kept for debugging). */
export function redactUrl(url: string): string {
  return url.replace(TOKEN_PATHS, '$1<token>');
}

/** `text` without drizzle's `params: …` tail (a failed query's bound values). */
export function redactText(text: string): string {
  // Up to the stack's first frame, when the text is a stack.
  return text.replace(/\nparams: .*?(?=\n\s+at |$)/s, '\nparams: <redacted>');
}

type SerializedError = ReturnType<typeof stdSerializers.err> & Record<string, unknown>;

function redactError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized = stdSerializers.err(error) as SerializedError;
  delete serialized['params'];
  serialized.message = redactText(serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = redactText(serialized.stack);
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined) (serialized as Record<string, unknown>)['cause'] = redactError(cause);
  return serialized;
}

export function createLogger(
  level: string,
  name = 'campaign',
  destination: pino.DestinationStream = pino.destination({ fd: 2, sync: false }),
): Logger {
  return pino(
    {
      name,
      level,
      serializers: {
        err: redactError,
        req: (request: { method?: string; url?: string; hostname?: string; ip?: string }) => ({
          method: request.method,
          url: redactUrl(request.url ?? ''),
          host: request.hostname,
          remoteAddress: request.ip,
        }),
      },
      hooks: {
        // The message of a line logged as `log.error({ err }, err.message)` carries the same tail.
        logMethod(args, method) {
          const redacted = args.map((arg) => (typeof arg === 'string' ? redactText(redactUrl(arg)) : arg)) as Parameters<typeof method>;
          method.apply(this, redacted);
        },
      },
    },
    destination,
  );
}
