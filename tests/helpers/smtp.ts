/** A real SMTP server in-process (the smtp-server package) that keeps what it receives. */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  /** Real time of arrival (ms). */
  at: number;
}

export interface TestSmtp {
  url: string;
  received: ReceivedMail[];
  close(): Promise<void>;
}

/**
 * Faults to inject: `reject(rcpt, attempt)` may answer a recipient with an SMTP error code
 * (421 to defer, 550 to refuse), `drop(attempt)` closes the connection mid-message.
 */
export interface SmtpFaults {
  reject?: (recipient: string, attempt: number) => number | undefined;
  drop?: (attempt: number) => boolean;
  /** Takes the message and never answers it (a server that hangs mid-conversation); closing the server cuts it off. */
  hold?: (attempt: number) => boolean;
}

export async function startSmtp(faults: SmtpFaults = {}): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      attempts += 1;
      const code = faults.reject?.(address.address, attempts);
      if (!code) return callback();
      const error = new Error(code >= 500 ? '5.1.1 No such user here' : '4.3.2 Try again later') as Error & { responseCode: number };
      error.responseCode = code;
      callback(error);
    },
    onData(stream, session, callback) {
      if (faults.drop?.(attempts)) {
        // Drop the connection mid-message, as a crashing or overloaded server would.
        stream.resume();
        const connections = (server as unknown as { connections: Set<{ id: string; _socket?: { destroy(): void } }> }).connections;
        for (const connection of connections) if (connection.id === session.id) connection._socket?.destroy();
        return;
      }
      if (faults.hold?.(attempts)) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        callback();
      });
    },
  });
  // A client that dies mid-conversation (a killed worker) resets its socket: not an error here.
  server.on('error', () => {});
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Connections held by `hold` would keep the server open for good.
      if (faults.hold) {
        const connections = (server as unknown as { connections: Set<{ _socket?: { destroy(): void } }> }).connections;
        for (const connection of connections) connection._socket?.destroy();
      }
    });
  return { url: `smtp://127.0.0.1:${port}`, received, close };
}
