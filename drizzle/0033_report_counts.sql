CREATE TABLE "credited_counts" (
	"model" text NOT NULL,
	"sequence_version_id" integer NOT NULL,
	"arm" text NOT NULL,
	"step" integer NOT NULL,
	"conversions" integer NOT NULL,
	"revenue" numeric(16, 4) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "funnel_counts" (
	"sequence_version_id" integer NOT NULL,
	"arm" text NOT NULL,
	"step" integer NOT NULL,
	"sent" integer NOT NULL,
	"bounced" integer NOT NULL,
	"human_opens" integer NOT NULL,
	"raw_opens" integer NOT NULL,
	"human_clicks" integer NOT NULL,
	"raw_clicks" integer NOT NULL,
	"unsubscribes" integer NOT NULL,
	"complaints" integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX "credited_counts_model_version_idx" ON "credited_counts" USING btree ("model","sequence_version_id");--> statement-breakpoint
CREATE INDEX "funnel_counts_version_idx" ON "funnel_counts" USING btree ("sequence_version_id");--> statement-breakpoint
CREATE INDEX "orders_cancelled_idx" ON "orders" USING btree ("id") WHERE "orders"."cancelled_at" is not null;--> statement-breakpoint
-- The report's funnel and credited orders per version, arm and step, kept as deltas by
-- statement triggers (src/db/schema.ts `funnel_counts`, `credited_counts`): the report sums
-- a few rows per step instead of counting a million emails and their credited orders.
-- Each statement that changes the rows adds one row per step it changed: the new rows
-- counted +1, the old ones -1, steps with no change left out. No writer updates a shared
-- counter row, so none waits on another.
CREATE FUNCTION "funnel_counts_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'INSERT INTO funnel_counts (sequence_version_id, arm, step, sent, bounced, human_opens, raw_opens,
                                      human_clicks, raw_clicks, unsubscribes, complaints)
    SELECT * FROM (
      SELECT c.sequence_version_id, c.arm, c.step, sum(c.d)::int AS sent, sum(c.d * c.bounced::int)::int AS bounced,
             sum(c.d * c.human_open::int)::int AS human_opens, sum(c.d * c.raw_open::int)::int AS raw_opens,
             sum(c.d * c.human_click::int)::int AS human_clicks, sum(c.d * c.raw_click::int)::int AS raw_clicks,
             sum(c.d * c.unsubscribed::int)::int AS unsubscribes, sum(c.d * c.complained::int)::int AS complaints
      FROM (' || CASE TG_OP
                   WHEN 'INSERT' THEN 'SELECT *, 1 AS d FROM new_rows'
                   WHEN 'DELETE' THEN 'SELECT *, -1 AS d FROM old_rows'
                   ELSE 'SELECT *, 1 AS d FROM new_rows UNION ALL SELECT *, -1 AS d FROM old_rows' END || ') c
      WHERE c.sent AND c.sequence_version_id IS NOT NULL
      GROUP BY c.sequence_version_id, c.arm, c.step) x
    WHERE (x.sent, x.bounced, x.human_opens, x.raw_opens, x.human_clicks, x.raw_clicks, x.unsubscribes, x.complaints)
          <> (0, 0, 0, 0, 0, 0, 0, 0)';
  RETURN NULL;
END
$$;--> statement-breakpoint
-- An attribution counts one order and its revenue at its email's step, whatever the email's
-- state: the attribution refresh credits sent emails only.
CREATE FUNCTION "credited_counts_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'INSERT INTO credited_counts (model, sequence_version_id, arm, step, conversions, revenue)
    SELECT * FROM (
      SELECT c.model, m.sequence_version_id, m.arm, m.step, sum(c.d)::int AS conversions, sum(c.d * c.revenue) AS revenue
      FROM (' || CASE TG_OP
                   WHEN 'INSERT' THEN 'SELECT *, 1 AS d FROM new_rows'
                   WHEN 'DELETE' THEN 'SELECT *, -1 AS d FROM old_rows'
                   ELSE 'SELECT *, 1 AS d FROM new_rows UNION ALL SELECT *, -1 AS d FROM old_rows' END || ') c
      JOIN messages m ON m.id = c.message_id
      WHERE m.sequence_version_id IS NOT NULL
      GROUP BY c.model, m.sequence_version_id, m.arm, m.step) x
    WHERE x.conversions <> 0 OR x.revenue <> 0';
  RETURN NULL;
END
$$;--> statement-breakpoint
-- An attribution's revenue is its order's total, kept so when an order's total changes.
CREATE FUNCTION "attributions_follow_orders"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE attributions a SET revenue = n.total
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE a.order_id = n.id AND n.total IS DISTINCT FROM o.total AND a.revenue IS DISTINCT FROM n.total;
  RETURN NULL;
END
$$;--> statement-breakpoint
UPDATE "attributions" a SET "revenue" = o."total" FROM "orders" o WHERE o."id" = a."order_id" AND a."revenue" <> o."total";--> statement-breakpoint
INSERT INTO "funnel_counts"
SELECT "sequence_version_id", "arm", "step", count(*), count(*) FILTER (WHERE "bounced"),
       count(*) FILTER (WHERE "human_open"), count(*) FILTER (WHERE "raw_open"),
       count(*) FILTER (WHERE "human_click"), count(*) FILTER (WHERE "raw_click"),
       count(*) FILTER (WHERE "unsubscribed"), count(*) FILTER (WHERE "complained")
FROM "message_engagement" WHERE "sent" AND "sequence_version_id" IS NOT NULL
GROUP BY "sequence_version_id", "arm", "step";--> statement-breakpoint
INSERT INTO "credited_counts"
SELECT a."model", m."sequence_version_id", m."arm", m."step", count(*), sum(a."revenue")
FROM "attributions" a JOIN "messages" m ON m."id" = a."message_id"
WHERE m."sequence_version_id" IS NOT NULL
GROUP BY a."model", m."sequence_version_id", m."arm", m."step";--> statement-breakpoint
CREATE TRIGGER "funnel_counts_insert" AFTER INSERT ON "message_engagement" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "funnel_counts_change"();--> statement-breakpoint
CREATE TRIGGER "funnel_counts_update" AFTER UPDATE ON "message_engagement" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "funnel_counts_change"();--> statement-breakpoint
CREATE TRIGGER "funnel_counts_delete" AFTER DELETE ON "message_engagement" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "funnel_counts_change"();--> statement-breakpoint
CREATE TRIGGER "credited_counts_insert" AFTER INSERT ON "attributions" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "credited_counts_change"();--> statement-breakpoint
CREATE TRIGGER "credited_counts_update" AFTER UPDATE ON "attributions" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "credited_counts_change"();--> statement-breakpoint
CREATE TRIGGER "credited_counts_delete" AFTER DELETE ON "attributions" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "credited_counts_change"();--> statement-breakpoint
CREATE TRIGGER "attributions_follow_orders" AFTER UPDATE ON "orders" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "attributions_follow_orders"();
