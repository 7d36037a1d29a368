/**
 * The demo's inbox: a real SMTP server in-process (the `smtp-server` package) that accepts
 * every email the workers send and keeps it, so the demo (and the dashboard) can show the
 * mail a shop's customers would have received.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { CapturedEmail, CapturedInbox } from '../mail/inbox.ts';

export interface Inbox extends CapturedInbox {
  url: string;
  emails: CapturedEmail[];
  close(): Promise<void>;
}

/** The value of one header of a raw message, unfolded; undefined when absent. */
function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const match = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
  return match?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim();
}

export async function startInbox(onEmail: (email: CapturedEmail) => void, options: { keep?: number } = {}): Promise<Inbox> {
  const keep = options.keep ?? 10_000;
  const emails: CapturedEmail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const email: CapturedEmail = {
          messageId: header(raw, 'Message-ID') ?? '',
          to: session.envelope.rcptTo.map((r) => r.address).join(', '),
          subject: header(raw, 'Subject') ?? '',
          raw,
          receivedAt: new Date(),
        };
        emails.push(email);
        if (emails.length > keep) emails.shift();
        callback();
        onEmail(email);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    emails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
