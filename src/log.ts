/** The process logger: JSON lines on stderr (pipe through pino-pretty to read them). */
import { pino, type Logger } from 'pino';

export function createLogger(level: string, name = 'campaign'): Logger {
  return pino({ name, level }, pino.destination({ fd: 2, sync: false }));
}
