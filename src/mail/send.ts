/**
 * One email to the SMTP server, and what its answer means. Permanent failures are returned
 * as values; anything worth retrying (4xx, timeouts, dropped connections) is thrown, so
 * BullMQ retries it with backoff.
 */
import type { SendMailOptions, Transporter } from 'nodemailer';
import { RetryableSendError } from '../errors.ts';

export type SendOutcome = { ok: true; response: string } | { ok: false; permanent: true; hardBounce: boolean; response: string };

const BEFORE_DATA = new Set(['CONN', 'EHLO', 'HELO', 'LHLO', 'STARTTLS', 'AUTH PLAIN', 'AUTH LOGIN', 'MAIL FROM', 'RCPT TO']);

interface SmtpError extends Error {
  responseCode?: number;
  response?: string;
  code?: string;
  command?: string;
}

export async function sendMail(transport: Transporter, message: SendMailOptions): Promise<SendOutcome> {
  try {
    const info = (await transport.sendMail(message)) as { response?: string };
    return { ok: true, response: info.response ?? '250' };
  } catch (caught) {
    const error = caught as SmtpError;
    const code = error.responseCode;
    if (code !== undefined && code >= 500) {
      // 550/551/553 and enhanced 5.1.x are "no such mailbox": the address is dead.
      const hardBounce = [550, 551, 553].includes(code) || /\b5\.1\.\d\b/.test(error.response ?? '');
      return { ok: false, permanent: true, hardBounce, response: error.response ?? error.message };
    }
    const nothingSent = code !== undefined || error.code === 'ECONNECTION' || BEFORE_DATA.has(error.command ?? '');
    throw new RetryableSendError(`SMTP ${code ?? error.code ?? 'error'}: ${error.response ?? error.message}`, nothingSent);
  }
}

/**
 * List-Unsubscribe (RFC 2369) and RFC 8058 one-click, with the https URL alone: the one the
 * mailbox providers require and that the engine answers. No mailto: nothing reads such a
 * mailbox, and an address that unsubscribes nobody is worse than none.
 */
export function unsubscribeHeaders(httpsUrl: string): Record<string, string> {
  return {
    'List-Unsubscribe': `<${httpsUrl}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}
