/**
 * What a captured inbox offers its readers (the dashboard's messages page). The demo's
 * in-process SMTP sink implements it; a deployment that sends to a real server has none.
 */

/** One email as the SMTP server received it. */
export interface CapturedEmail {
  /** The RFC 5322 Message-ID, angle brackets included. */
  messageId: string;
  to: string;
  subject: string;
  raw: string;
  receivedAt: Date;
}

/** The emails received so far, oldest first. */
export interface CapturedInbox {
  readonly emails: readonly CapturedEmail[];
}
