CREATE TABLE "customer_profiles" (
	"customer_id" integer PRIMARY KEY NOT NULL,
	"orders" integer NOT NULL,
	"spend" numeric(16, 4) NOT NULL,
	"first_order_at" timestamp with time zone,
	"last_order_at" timestamp with time zone,
	"typical_gap_days" double precision,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "customer_profiles" ADD CONSTRAINT "customer_profiles_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Backfill: the profiles of the customers already stored (src/store/profiles.ts `rebuildProfiles` as of this migration).
INSERT INTO "customer_profiles" ("customer_id", "orders", "spend", "first_order_at", "last_order_at", "typical_gap_days")
SELECT c.id, coalesce(t.orders, 0), coalesce(t.spend, 0), t.first_at, t.last_at, g.days
FROM "customers" c
LEFT JOIN (
  SELECT n.customer_id, count(*)::int AS orders, sum(n.net) AS spend, min(n.ordered_at) AS first_at, max(n.ordered_at) AS last_at
  FROM (
    SELECT o.customer_id, o.ordered_at,
           greatest(o.total - coalesce((SELECT sum(r.amount) FROM refunds r WHERE r.order_id = o.id), 0), 0) AS net
    FROM orders o WHERE o.cancelled_at IS NULL
  ) n GROUP BY n.customer_id
) t ON t.customer_id = c.id
LEFT JOIN (
  SELECT x.customer_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY x.gap) AS days
  FROM (
    SELECT o.customer_id,
           extract(epoch FROM o.ordered_at - lag(o.ordered_at) OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at)) / 86400 AS gap
    FROM orders o WHERE o.cancelled_at IS NULL
  ) x WHERE x.gap IS NOT NULL GROUP BY x.customer_id
) g ON g.customer_id = c.id;
