import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryRows } from '../src/db/client.ts';
import { importRows } from '../src/ingest/import.ts';
import { openRows } from '../src/ingest/read.ts';
import { compileTemplate } from '../src/templates/compile.ts';
import { buildStatistics } from '../src/recs/build.ts';
import { buildContext } from '../src/templates/context.ts';
import { Renderer } from '../src/templates/render.ts';
import { loadTemplateFiles } from '../src/templates/source.ts';
import { findTemplateVersion, publishTemplate } from '../src/store/templates.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { DB_KINDS, freshDatabase, type TestDatabase } from './helpers/db.ts';
import { FIXTURES } from './helpers/files.ts';
import { seedCatalog } from './helpers/seed.ts';
import { startSmtp } from './helpers/smtp.ts';

const TEMPLATES = new URL('../templates/', import.meta.url).pathname;
const SHOP = {
  name: 'Demo Coffee',
  url: 'https://shop.example/',
  currency: 'EUR',
  address: '1 Roastery Lane',
  supportEmail: 'help@shop.example',
  timezone: 'UTC',
};

describe.each(DB_KINDS)('published template versions on %s', (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase(kind);
  });
  afterAll(() => database.drop());

  it('are identified by content hash, never change, and an edit makes a new version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-publish-'));
    cpSync(TEMPLATES, dir, { recursive: true });
    const publish = async () => {
      const result = await compileTemplate(await loadTemplateFiles(dir), 'thank-you');
      return publishTemplate(database.db, result.compiled!, result.assembled!);
    };
    const first = await publish();
    expect(first.created).toBe(true);
    const again = await publish();
    expect(again).toMatchObject({ id: first.id, created: false, contentHash: first.contentHash });
    const before = await findTemplateVersion(database.db, { id: first.id });

    const file = join(dir, 'emails/thank-you.mjml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Thank you,', 'Many thanks,'));
    const edited = await publish();
    expect(edited.created).toBe(true);
    expect(edited.id).not.toBe(first.id);
    expect(edited.contentHash).not.toBe(first.contentHash);
    expect(await findTemplateVersion(database.db, { id: first.id })).toEqual(before);
    expect((await findTemplateVersion(database.db, { name: 'thank-you' }))!.id).toBe(edited.id);

    // Even a direct UPDATE or DELETE is refused by the database.
    await expect(database.db.execute(sql`update template_versions set compiled = '{}' where id = ${first.id}`)).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/cannot be changed/) },
    });
    await expect(database.db.execute(sql`delete from template_versions where id = ${first.id}`)).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/cannot be changed/) },
    });
    expect(await findTemplateVersion(database.db, { id: first.id })).toEqual(before);
  });
});

describe('preview with real data', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    await seedCatalog(database.db);
    await importRows(database.db, 'orders', await openRows(`${FIXTURES}orders.csv`, 'csv'), { batchSize: 100 });
    await buildStatistics(database.db);
  });
  afterAll(() => database.drop());

  it("renders the customer's name, order and co-purchased products", async () => {
    const context = await buildContext(
      database.db,
      { shop: SHOP },
      { customerId: 'c-3', links: { unsubscribe: 'https://t.example/u/x', shop: SHOP.url } },
    );
    expect(context.customer.greetingName).toBe('Alan');
    expect(context.order.id).toBe('o-3');
    expect(context.order.items.map((i) => i.sku)).toEqual(['ESP-200', 'TAMP-1', 'BEAN-1']);
    // o-1 has BEAN-1 with ESP-100: ESP-100 is bought together with BEAN-1 (TAMP-1 is out of stock).
    expect(context.recommendations[0]!.sku).toBe('ESP-100');
    expect(context.recommendations[0]!.reason).toBe('Bought together with House Blend Beans, 1kg by 50% of its buyers');
    const compiled = (await compileTemplate(await loadTemplateFiles(TEMPLATES), 'thank-you')).compiled!;
    const email = new Renderer(compiled).render(context, { mode: 'preview' });
    expect(email.subject).toBe('Thanks for your order, Alan!');
    expect(email.html).toContain('Espresso Machine Classic');
    expect(email.html).toContain('€592.90');
  });

  it('campaign templates preview writes the files and sends a test through SMTP', async () => {
    const smtp = await startSmtp();
    try {
      const out = join(mkdtempSync(join(tmpdir(), 'campaign-preview-')), 'preview.html');
      const result = await campaignInProcess(
        ['templates', 'preview', 'thank-you', '--customer', 'c-1', '--out', out, '--send-test', 'marketer@shop.example'],
        { DATABASE_URL: database.url!, SMTP_URL: smtp.url, SHOP_NAME: 'Demo Coffee', MAIL_FROM: 'orders@shop.example' },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('subject: Thanks for your order, Ada!');
      expect(readFileSync(out, 'utf8')).toContain('Espresso Machine Classic');
      expect(smtp.received).toHaveLength(1);
      const mail = smtp.received[0]!;
      expect(mail.to).toEqual(['marketer@shop.example']);
      expect(mail.raw).toMatch(/^Subject: \[TEST\] Thanks for your order, Ada!/m);
      expect(mail.raw).toMatch(/^From: Demo Coffee <orders@shop\.example>/m);
      expect(mail.raw).toContain('Content-Type: text/plain');
      expect(mail.raw).toContain('Content-Type: text/html');
    } finally {
      await smtp.close();
    }
  });

  it('campaign templates check exits 1 on an error, naming file:line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-check-'));
    cpSync(TEMPLATES, dir, { recursive: true });
    writeFileSync(
      join(dir, 'emails/oops.mjml'),
      '---\nsubject: Hi\n---\n<mj-section>\n<mj-column>\n<mj-text>{{customer.shoeSize}}</mj-text>\n</mj-column>\n</mj-section>\n',
    );
    const result = await campaign(['templates', 'check', '--dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/emails\/oops\.mjml:6: error: "customer\.shoeSize" is not in the render context/);
    expect(result.stdout).toMatch(/6 emails checked: 1 errors, 0 warnings/);
    const clean = await campaignInProcess(['templates', 'check', '--dir', TEMPLATES]);
    expect(clean.code).toBe(0);
  });
});

describe('hostile data end to end', () => {
  it('a product named with markup is stored as text and rendered escaped', async () => {
    const database = await freshDatabase('pglite');
    try {
      await seedCatalog(database.db);
      await database.db.execute(sql`update products set name = '<script>alert(1)</script>' where sku = 'ESP-100'`);
      await importRows(database.db, 'orders', await openRows(`${FIXTURES}orders.csv`, 'csv'), { batchSize: 100 });
      const context = await buildContext(
        database.db,
        { shop: SHOP },
        { customerId: 'c-1', links: { unsubscribe: 'https://t.example/u/x', shop: SHOP.url } },
      );
      const compiled = (await compileTemplate(await loadTemplateFiles(TEMPLATES), 'thank-you')).compiled!;
      const html = new Renderer(compiled).render(context, { mode: 'preview' }).html;
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain('<script>alert(1)');
      const [row] = await queryRows<{ name: string }>(database.db, sql`select name from products where sku = 'ESP-100'`);
      expect(row!.name).toBe('<script>alert(1)</script>');
    } finally {
      await database.drop();
    }
  });
});
