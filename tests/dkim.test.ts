import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { describe, expect, it } from 'vitest';
import { unsubscribeHeaders } from '../src/mail/send.ts';
import { composeMessage, createTransport } from '../src/mail/transport.ts';
import { startSmtp } from './helpers/smtp.ts';

describe('DKIM', () => {
  it('signed mail verifies with an independent verifier, List-Unsubscribe headers included', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const smtp = await startSmtp();
    const transport = createTransport(smtp.url, {
      dkim: {
        domainName: 'shop.example',
        keySelector: 'campaign',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    try {
      await transport.sendMail(
        composeMessage(
          { subject: 'Thanks!', fromName: 'Demo Coffee', preheader: '', html: '<p>Hi</p>', text: 'Hi', links: [] },
          {
            to: 'ada@example.com',
            fromAddress: 'orders@shop.example',
            messageId: '<e1.s0@track.shop.example>',
            headers: unsubscribeHeaders('https://track.shop.example/u/abc.def'),
          },
        ),
      );
    } finally {
      transport.close();
      await smtp.close();
    }
    const raw = smtp.received[0]!.raw;
    const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
    const result = await dkimVerify(Buffer.from(raw), {
      resolver: async (name: string, type: string) => {
        if (type === 'TXT' && name === 'campaign._domainkey.shop.example') return [[record]];
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
    });
    const signature = result.results[0]!;
    expect(signature.status.result).toBe('pass');
    expect(signature.signingDomain).toBe('shop.example');
    const header = /^DKIM-Signature:.*$/im.exec(raw.replace(/\r?\n[ \t]+/g, ' '))![0];
    const signed = (/[;\s]h=([^;]+)/.exec(header)![1] ?? '').toLowerCase().replace(/\s/g, '');
    expect(signed.split(':')).toEqual(expect.arrayContaining(['from', 'subject', 'list-unsubscribe', 'list-unsubscribe-post']));
  });
});
