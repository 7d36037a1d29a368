/**
 * `campaign sequences promote` and `campaign sequences log` end to end on the real Postgres,
 * with enrollments and orders built so that one sequence's challenger is clearly better and
 * two others' are not: a refusal changes nothing, `--force` and the evidence both promote and
 * the log says which, the rewritten files pass `sequences check` and apply, and the API and
 * the dashboard show the same log.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { sign } from '@fastify/cookie';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ATTRIBUTION } from '../src/core/attribution.ts';
import { sequenceSchema } from '../src/core/sequence.ts';
import { sessionKey, sessionValue } from '../src/dashboard/auth.ts';
import { queryRows } from '../src/db/client.ts';
import { buildServer } from '../src/http/app.ts';
import { replaceFile } from '../src/sequences/replace.ts';
import { listDecisions, recordDecision } from '../src/store/experiment-log.ts';
import { parseYaml } from '../src/yaml-source.ts';
import { campaign, campaignInProcess } from './helpers/cli.ts';
import { freshDatabase, type TestDatabase } from './helpers/db.ts';
import { preparePromotionShop } from './helpers/promotion-shop.ts';

const DAY = 86_400_000;
const TOKEN = 'promote-token-123';
const SECRET = 'promote-secret-promote-secret-000000';

// Steps run the command (the first as a process of its own): a loaded machine needs more than the default minute.
describe('campaign sequences promote and log, on Postgres', { timeout: 180_000 }, () => {
  let database: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  let original: Record<string, string>;
  const file = (id: string) => join(dir, `${id}.yaml`);
  /** A file's path as the command names it: relative to the directory it runs in, this one. */
  const shown = (id: string) => relative(process.cwd(), file(id));
  const decisions = async () =>
    queryRows<{ sequence_id: string; variant: string; forced: boolean; decided_by: string; note: string | null; next_file: string | null }>(
      database.db,
      sql`select sequence_id, variant, forced, decided_by, note, next_file from experiment_decisions order by id`,
    );

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    // Enrolled 40 days ago, one order two days after enrolling: every window (10 days) has closed.
    ({ dir, original } = await preparePromotionShop(database.db, 'campaign-promote-', Date.now() - 40 * DAY));
    env = { DATABASE_URL: database.url!, REPORT_MIN_SAMPLE: '10' };
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
  });

  it('refuses without the evidence: exit 1, the reason and the evidence printed, the file untouched, no log row', async () => {
    const result = await campaign(['sequences', 'promote', 'flat', 'b', '--dir', dir], env);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^refused: the evidence does not support promoting b:\n/);
    expect(result.stderr).toMatch(
      /\n {2}- b vs the control \(a\) is "no clear difference yet", not "better": its always-valid interval \[-\$\d+\.\d\d, \$\d+\.\d\d\] includes no difference\.\n/,
    );
    expect(result.stderr).toMatch(/use --force to promote anyway\n$/);
    // The evidence: both comparisons, each with its verdicts, intervals, MDE and Holm p; guardrails; the split.
    for (const line of [
      'flat, version 1 (live), as of ',
      'tested: a, b (control a)',
      'Split check: enrolled a 60 (expected 60), b 60 (expected 60), holdout 13 (expected 13); SRM p = ',
      'b vs the control (a), 60 / 60 measured customers:',
      '  sequential verdict: no clear difference yet; always-valid 95% interval [',
      '  fixed horizon: no clear difference; CUPED difference ',
      '  MDE (80% power): $',
      '  guardrails: unsubscribes 0.0% vs 0.0% (Holm p = 1.000), complaints 0.0% vs 0.0% (Holm p = 1.000), bounces 0.0% vs 0.0% (Holm p = 1.000)\n',
      'b vs the holdout, 60 / 13 measured customers:',
    ])
      expect(result.stdout).toContain(line);
    expect(readFileSync(file('flat'), 'utf8')).toBe(original.flat);
    expect(await decisions()).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['clear.yaml', 'flat.yaml', 'steady.yaml']);
  });

  it('an unknown variant or sequence, or a bad --by, --note or --as-of, is one line and exit 2', async () => {
    const cases: [string[], string][] = [
      [['flat', 'nope'], 'campaign: "nope" is not a variant of version 1 (its variants: a, b).\n'],
      [['ghost', 'a'], 'campaign: no sequence file with id "ghost"\n'],
      [['flat', 'b', '--by', '  '], 'campaign: --by: must not be empty\n'],
      [['flat', 'b', '--note', 'x'.repeat(2001)], 'campaign: --note: must be at most 2000 characters (got 2001)\n'],
      [['flat', 'b', '--as-of', 'yesterday'], 'campaign: --as-of: expected an ISO 8601 time, got "yesterday"\n'],
    ];
    // Side by side: none of them writes anything.
    const results = await Promise.all(cases.map(([args]) => campaignInProcess(['sequences', 'promote', ...args, '--dir', dir], env)));
    results.forEach((result, i) => {
      expect(result.code, cases[i]![0].join(' ')).toBe(2);
      expect(result.stderr).toBe(cases[i]![1]);
    });
    expect(readFileSync(file('flat'), 'utf8')).toBe(original.flat);
    expect(await decisions()).toEqual([]);
  });

  it('promotes against the evidence with --force, and the log records it as forced', async () => {
    const result = await campaignInProcess(
      ['sequences', 'promote', 'flat', 'b', '--force', '--note', 'ran the planned 60 days', '--dir', dir],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('promoted b against the evidence (--force): the log records it as forced\n');
    expect(result.stdout).toContain(`wrote ${shown('flat')}: b is the only variant (weight 50), with room for a challenger\n`);
    expect(result.stdout).toMatch(/next: read the file, add a challenger if you want one, then `campaign sequences apply flat`\n$/);
    const written = readFileSync(file('flat'), 'utf8');
    expect(written).toBe(
      original
        .flat!.replace('  # a is the control\n  - key: a\n    weight: 50\n', '  # a is the control\n')
        .replace(
          '    recommendations: popularity\n',
          '    recommendations: popularity\n' +
            '  # To test a challenger against b (the control), add it here, e.g. (remove the "# "):\n' +
            '  # - key: challenger\n  #   weight: 50\n  #   recommendations: co-purchase # co-purchase, popularity, upsell-only, shipping-gap or new-arrivals\n',
        ),
    );
    expect(parseYaml(written, 'flat.yaml', sequenceSchema).variants).toEqual([
      { key: 'b', weight: 50, recommendations: 'popularity', templates: {} },
    ]);
    expect(await decisions()).toEqual([
      {
        sequence_id: 'flat',
        variant: 'b',
        forced: true,
        decided_by: userInfo().username,
        note: 'ran the planned 60 days',
        next_file: file('flat'),
      },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['clear.yaml', 'flat.yaml', 'steady.yaml']);
  });

  it('promotes without --force when the evidence supports it', async () => {
    const result = await campaignInProcess(['sequences', 'promote', 'clear', 'b', '--by', 'Ana Analyst', '--json', '--dir', dir], env);
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as {
      promoted: boolean;
      forced: boolean;
      decisionId: number;
      next: string;
      evidence: { supported: boolean; reasons: string[]; comparisons: { against: string; sequential: { verdict: string } }[] };
    };
    expect(answer).toMatchObject({ promoted: true, forced: false, next: 'campaign sequences apply clear' });
    expect(answer.evidence).toMatchObject({ supported: true, reasons: [] });
    expect(answer.evidence.comparisons.map((c) => [c.against, c.sequential.verdict])).toEqual([
      ['control', 'better'],
      ['holdout', 'better'],
    ]);
    expect(parseYaml(readFileSync(file('clear'), 'utf8'), 'clear.yaml', sequenceSchema).variants.map((v) => v.key)).toEqual(['b']);
    expect((await decisions()).at(-1)).toMatchObject({ sequence_id: 'clear', variant: 'b', forced: false, decided_by: 'Ana Analyst' });
  });

  it('keeps the control when no challenger is better', async () => {
    const result = await campaignInProcess(['sequences', 'promote', 'steady', 'a', '--dir', dir], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('kept the control a: the evidence supports it\n');
    expect(result.stdout).toMatch(
      /\nnote: b showed no clear difference from the control, but the test could only detect a difference of \$\d+\.\d\d per customer \(the MDE at 80% power\): a smaller one may be there\.\n/,
    );
    expect(parseYaml(readFileSync(file('steady'), 'utf8'), 'steady.yaml', sequenceSchema).variants.map((v) => v.key)).toEqual(['a']);
    expect((await decisions()).at(-1)).toMatchObject({ sequence_id: 'steady', variant: 'a', forced: false });
  });

  it('will not promote from a file that changed since the version was applied', async () => {
    const result = await campaignInProcess(['sequences', 'promote', 'clear', 'b', '--force', '--dir', dir], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not what version 1 (the live one) says: it changed after it was applied');
    expect(await decisions()).toHaveLength(3);
  });

  it('the rewritten files pass `sequences check`, and `sequences apply` makes the next version live', async () => {
    const check = await campaignInProcess(['sequences', 'check', '--dir', dir], env);
    // The refusal above left no temporary file behind, and neither did the promotions.
    expect(readdirSync(dir).sort()).toEqual(['clear.yaml', 'flat.yaml', 'steady.yaml']);
    expect(check.stderr).toBe('');
    expect(check.stdout).toBe('3 sequence files checked: 0 errors\n');
    expect(check.code).toBe(0);
    const apply = await campaignInProcess(['sequences', 'apply', 'clear', '--dir', dir], env);
    expect(apply.stdout).toBe('clear: applied version 2, live\n');
  });

  it('`sequences log` prints each decision with its evidence; --json is the same rows', async () => {
    const [flat, clear, json, none] = await Promise.all([
      campaignInProcess(['sequences', 'log', 'flat'], env),
      campaignInProcess(['sequences', 'log', 'clear'], env),
      campaignInProcess(['sequences', 'log', 'steady', '--json'], env),
      campaignInProcess(['sequences', 'log', 'ghost'], env),
    ]);
    expect(flat.code, flat.stderr).toBe(0);
    const lines = flat.stdout.split('\n');
    expect(lines[0]).toBe('flat: 1 decision, newest first');
    expect(lines[1]).toMatch(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  version 1  tested a, b  promote b \\(forced\\)  by ${userInfo().username}$`),
    );
    expect(lines[2]).toBe('  note: ran the planned 60 days');
    expect(lines[3]).toMatch(
      /^ {2}evidence: promote b; b vs control \(a\): no clear difference yet \[-\$[\d.]+, \$[\d.]+\] \(MDE \$[\d.]+\); b vs the holdout: .*; split as planned \(SRM p = [\d.]+\)$/,
    );
    expect(lines[4]).toBe(`  next version written to ${file('flat')}`);
    expect(clear.stdout).toMatch(/ {2}version 1 {2}tested a, b {2}promote b {2}by Ana Analyst\n/);
    expect(clear.stdout).toMatch(/evidence: promote b; b vs control \(a\): better \[\$[\d.]+, \$[\d.]+\]; b vs the holdout: better/);
    expect(JSON.parse(json.stdout)).toMatchObject([{ sequenceId: 'steady', variant: 'a', tested: ['a', 'b'], version: 1, forced: false }]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('campaign: no sequence "ghost" (see `campaign sequences list`)\n');
  });

  it('lists a sequence’s decisions newest first, and a failing file write leaves no row', async () => {
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'steady'`,
    );
    const older = {
      sequenceId: 'steady',
      versionId: version,
      variant: 'b',
      tested: ['a', 'b'],
      evidence: {},
      forced: true,
      decidedBy: 'x',
    };
    await recordDecision(database.db, { ...older, note: null, nextFile: null, decidedAt: new Date(Date.now() - DAY) });
    expect((await listDecisions(database.db, 'steady')).map((d) => d.variant)).toEqual(['a', 'b']);
    await expect(
      recordDecision(database.db, { ...older, note: 'never', nextFile: null, decidedAt: new Date() }, async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect((await listDecisions(database.db, 'steady')).map((d) => d.note)).not.toContain('never');
  });

  it('writes the file and the log row together or neither: a refused rename, a failed commit, a file edited meanwhile', async () => {
    const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from sequence_versions where sequence_id = 'steady'`,
    );
    const target = join(mkdtempSync(join(tmpdir(), 'campaign-replace-')), 'seq.yaml');
    writeFileSync(target, 'old\n');
    const row = { sequenceId: 'steady', versionId: version, variant: 'a', tested: ['a', 'b'], evidence: {}, forced: false, decidedBy: 't' };
    const rows = async () => (await listDecisions(database.db, 'steady')).length;
    const before = await rows();
    const left = () => readdirSync(dirname(target));

    // Edited by someone else between reading and replacing: their edit stays, no row.
    writeFileSync(target, 'theirs\n');
    await expect(
      replaceFile(target, 'old\n', 'new\n', (carryOut) =>
        recordDecision(database.db, { ...row, note: 'x', nextFile: null, decidedAt: new Date() }, carryOut),
      ),
    ).rejects.toThrow(`${target} changed while promoting (someone else edited it): nothing was written or logged`);
    expect(readFileSync(target, 'utf8')).toBe('theirs\n');
    expect(await rows()).toBe(before);
    expect(left()).toEqual(['seq.yaml']);

    // The commit fails after the rename: the old file is put back.
    await expect(
      replaceFile(target, 'theirs\n', 'new\n', async (carryOut) => {
        await carryOut();
        expect(readFileSync(target, 'utf8')).toBe('new\n');
        throw Object.assign(new Error('wrapped'), { cause: Object.assign(new Error('connection lost'), { code: '08006' }) });
      }),
    ).rejects.toThrow(`could not write ${target} and log the decision (SQLSTATE 08006): nothing was written or logged`);
    expect(readFileSync(target, 'utf8')).toBe('theirs\n');
    expect(left()).toEqual(['seq.yaml']);

    // The database refuses the row (an unknown version): no rename, no row.
    await expect(
      replaceFile(target, 'theirs\n', 'new\n', (carryOut) =>
        recordDecision(database.db, { ...row, versionId: 999_999, note: null, nextFile: null, decidedAt: new Date() }, carryOut),
      ),
    ).rejects.toThrow('(SQLSTATE 23503): nothing was written or logged');
    expect(readFileSync(target, 'utf8')).toBe('theirs\n');
    expect(await rows()).toBe(before);
    expect(left()).toEqual(['seq.yaml']);

    // Both succeed: the new file and the row.
    await replaceFile(target, 'theirs\n', 'new\n', (carryOut) =>
      recordDecision(database.db, { ...row, note: 'replaced', nextFile: target, decidedAt: new Date() }, carryOut),
    );
    expect(readFileSync(target, 'utf8')).toBe('new\n');
    expect(await rows()).toBe(before + 1);
    expect(left()).toEqual(['seq.yaml']);
  });

  describe('over HTTP', () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = await buildServer({
        db: database.db,
        apiToken: TOKEN,
        bodyLimitBytes: 1 << 20,
        reports: { attribution: DEFAULT_ATTRIBUTION, minSample: 10 },
        dashboard: { apiToken: TOKEN, secret: SECRET, sessionHours: 1, currency: 'USD' },
      });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('GET /api/sequences/:id/log answers the log as `sequences log --json` does; 404 for an unknown sequence; 401 without the token', async () => {
      const auth = { authorization: `Bearer ${TOKEN}` };
      const response = await app.inject({ method: 'GET', url: '/api/sequences/flat/log', headers: auth });
      expect(response.statusCode).toBe(200);
      const cli = await campaignInProcess(['sequences', 'log', 'flat', '--json'], env);
      expect(response.json()).toEqual({ sequence: 'flat', decisions: JSON.parse(cli.stdout) as unknown });
      expect(response.json<{ decisions: { forced: boolean; evidence: { supported: boolean } }[] }>().decisions[0]).toMatchObject({
        forced: true,
        evidence: { supported: false },
      });
      const ghost = await app.inject({ method: 'GET', url: '/api/sequences/ghost/log', headers: auth });
      expect(ghost.statusCode).toBe(404);
      expect(ghost.json()).toMatchObject({ message: 'no sequence "ghost"' });
      expect((await app.inject({ method: 'GET', url: '/api/sequences/flat/log' })).statusCode).toBe(401);
      const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
      expect(Object.keys(spec.paths)).toContain('/api/sequences/{id}/log');
    });

    it("the sequence page shows the experiment log beside the comparisons' guardrails", async () => {
      const session = sign(sessionValue(Date.now() + 60_000, 'P'.repeat(22)), sessionKey({ secret: SECRET, apiToken: TOKEN }));
      const page = await app.inject({
        method: 'GET',
        url: '/sequences/flat',
        headers: { cookie: `campaign_session=${encodeURIComponent(session)}` },
      });
      expect(page.statusCode).toBe(200);
      const html = page.body;
      const log = html.slice(html.indexOf('<table id="experiment-log">'), html.indexOf('</table>', html.indexOf('id="experiment-log"')));
      expect(log).toContain('<td data-field="version">1</td>');
      expect(log).toContain('<td data-field="tested">a, b</td>');
      expect(log).toContain('<td data-field="decision">promote b</td>');
      expect(log).toContain('<strong>forced, against the evidence</strong>');
      expect(log).toContain('<td data-field="note">ran the planned 60 days</td>');
      expect(log).toMatch(/<td data-field="evidence" class="muted">promote b; b vs control \(a\): no clear difference yet/);
      expect(html).toContain('<table id="guardrails">');
      expect(html).toMatch(/<tr data-arm="b" data-metric="unsubscribes">/);
      // A sequence with no decision says how to take one.
      await database.db.execute(sql`insert into sequences (id, name) values ('untested', 'Untested')`);
      const [{ id: version } = { id: 0 }] = await queryRows<{ id: number }>(
        database.db,
        sql`insert into sequence_versions (sequence_id, version, content_hash, yaml, definition)
            select 'untested', 1, 'h', yaml, definition from sequence_versions where sequence_id = 'steady' returning id`,
      );
      await database.db.execute(sql`update sequences set live_version_id = ${version} where id = 'untested'`);
      const empty = await app.inject({
        method: 'GET',
        url: '/sequences/untested',
        headers: { cookie: `campaign_session=${encodeURIComponent(session)}` },
      });
      expect(empty.body).toContain('No decisions yet: <code>campaign sequences promote untested VARIANT</code>');
    });
  });
});
