/**
 * The SMTP side: one pooled nodemailer transport per process from SMTP_URL, and the
 * composition of a rendered email into a MIME message with its plain-text part.
 */
import nodemailer from 'nodemailer';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { DkimSettings } from '../config.ts';
import type { RenderedEmail } from '../templates/render.ts';

/** The pooled SMTP transport every email goes through (nodemailer's, kept behind this name). */
export type Mailer = Transporter;

/**
 * Headers DKIM signs: nodemailer's defaults plus List-Unsubscribe-Post, which mailbox
 * providers require to be signed before they honour one-click unsubscribe.
 */
const SIGNED_HEADERS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:' +
  'List-Id:List-Unsubscribe:List-Unsubscribe-Post';

export function createTransport(
  smtpUrl: string,
  options: { maxConnections?: number; dkim?: DkimSettings | undefined } = {},
): Transporter<SMTPPool.SentMessageInfo> {
  const url = new URL(smtpUrl);
  return nodemailer.createTransport({
    pool: true,
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 587)),
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    maxConnections: options.maxConnections ?? 5,
    // A local or test server may offer STARTTLS with a self-signed certificate.
    tls: { rejectUnauthorized: url.searchParams.get('tls') !== 'insecure' },
    ...(options.dkim ? { dkim: { ...options.dkim, headerFieldNames: SIGNED_HEADERS } } : {}),
  } as SMTPPool.Options);
}

export interface Envelope {
  to: string;
  fromAddress: string;
  headers?: Record<string, string>;
  messageId?: string;
}

/** The nodemailer message for a rendered email: HTML, its text part, subject and sender. */
export function composeMessage(email: RenderedEmail, envelope: Envelope): SendMailOptions {
  return {
    from: email.fromName ? { name: email.fromName, address: envelope.fromAddress } : envelope.fromAddress,
    to: envelope.to,
    subject: email.subject,
    html: email.html,
    text: email.text,
    headers: envelope.headers,
    messageId: envelope.messageId,
    // Emails are mostly ASCII markup: quoted-printable always, rather than nodemailer
    // scanning every part to choose.
    textEncoding: 'quoted-printable',
  };
}

/**
 * Sends a preview as a test, subject marked `[TEST]`, over a connection of its own; resolves
 * with the server's answer, rejects with its refusal.
 */
export async function sendTestEmail(smtpUrl: string, email: RenderedEmail, envelope: { to: string; fromAddress: string }): Promise<string> {
  const transport = createTransport(smtpUrl);
  try {
    const info = await transport.sendMail(composeMessage({ ...email, subject: `[TEST] ${email.subject}` }, envelope));
    return info.response;
  } finally {
    transport.close();
  }
}
